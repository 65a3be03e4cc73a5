"""reports/report.md and reports/figures/*.png, rendered from the artifacts folder only.

Nothing here fits or scores anything: every number comes from a file an earlier stage wrote, so the report can
be re-rendered (`movie-rating report`) without rerunning the models, and the report imports nothing of the
models (the import linter holds it). The first page answers in plain words; the sections after it follow the
order a data scientist expects (data, cleaning, features, models, the stack, greenlight, validation, drivers,
what-if), then the appendix (tuning, one learner's view, run time, parameters).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline.io import read_json, write_text
from pipeline.report.appendix import appendix
from pipeline.report.common import Figures
from pipeline.report.data import cleaning_section, data_section
from pipeline.report.drivers import drivers_section, features_section
from pipeline.report.front import front_page, holdout_predictions
from pipeline.report.models import greenlight_section, models_section, stack_section
from pipeline.report.validation import validation_section


def whatif_section(products: Path) -> list[str]:
    path = products / "whatif.md"
    if not path.is_file():
        return []
    answers = read_json(products / "whatif.json")
    missing = answers.get("missing")
    return ["## 9. What if?", "",
            "What the shipped model predicts if one thing about a film changed (runtime, age rating, director, "
            "studio, the lead actor or a top-billed addition), and the best combination of a few such changes; "
            "then the highest-rated film the model can imagine from a recent story. **These are the model's "
            "associations, not causal effects**: a director's record summarises the films they made, not what they "
            "would make of this one. Only changes a producer could make are offered: people and studios still "
            "working, with enough training films, who have made films of this age rating (and actors who lead "
            "films, not cameos), and age ratings that films with a similar story carry (each answer lists its "
            "rules). Taglines and descriptions are not edited: they are the film itself. The films answered here "
            "are among the training films of the shipped model, which is refitted on every rated film, so it has "
            "seen their real ratings. Each answer shows its interval; a change marked *within noise* is no larger "
            "than the learners' disagreement about it; *per learner* lists each learner's change. The support "
            "column gives each name's training films and first and last credited years.", "",
            path.read_text(encoding="utf-8"),
            *([f"(movie_ids {missing} from the what-if list are not in this data set)", ""] if missing else [])]


def render_report(art: Path, reports: Path, products: Path | None = None) -> Path:
    """The report of the run in `art`; `products`: where its metrics, run record and what-if answers are
    (default `art`; during a run, the staging folder they are published from)."""
    products = products or art
    metrics, run_info = read_json(products / "metrics.json"), read_json(products / "run.json")
    ds = pd.read_parquet(art / "dataset.parquet")
    figs = Figures(reports / "figures")
    level = float(run_info["params"]["evaluation"]["ci"])
    lines = ["# Movie rating prediction: report", ""]
    lines += front_page(holdout_predictions(art, ds), metrics, figs)
    lines += data_section(art, ds, figs, metrics)
    lines += cleaning_section(art, metrics)
    lines += features_section(art)
    lines += models_section(metrics, figs)
    lines += stack_section(art, metrics, level)
    lines += greenlight_section(metrics, level)
    lines += validation_section(art, ds, metrics, figs)
    lines += drivers_section(art, ds, figs, int(run_info["seed"]))
    lines += whatif_section(products)
    lines += appendix(art, metrics, run_info, figs)
    path = reports / "report.md"
    write_text(path, "\n".join(lines))
    return path
