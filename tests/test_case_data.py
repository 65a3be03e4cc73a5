"""Integration on the real case data (../shared/data/case), `--fast` profile."""
from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import pandas as pd
import pytest

from benchmarks.new_movie import write_movie
from pipeline.cli import main
from tests.conftest import CASE_DIR

pytestmark = pytest.mark.skipif(not (CASE_DIR / "movies.csv").is_file(),
                                reason=f"the case data is not at {CASE_DIR}")


@pytest.fixture(scope="module")
def case_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("case")
    # the ablation on (with its greenlight stack), which --fast leaves out: the first page reads both
    assert main(["run", "--fast", "-S", "ablation.enabled=true", "--data-dir", str(CASE_DIR), "--out-dir", str(out)]) == 0
    return out


def test_stack_beats_baselines_and_single_modalities_on_holdout(case_run: Path) -> None:
    metrics = json.loads((case_run / "artifacts" / "metrics.json").read_text())
    hold = {name: m["rmse"] for name, m in metrics["holdout"].items()}
    assert hold["stack"] < hold["baseline_mean"] and hold["stack"] < hold["baseline_year_trend"]
    singles = [n for n, info in metrics["learners"].items() if info["modality"] in ("tabular", "text", "image")]
    assert singles and all(hold["stack"] < hold[n] for n in singles), hold
    assert metrics["split"]["cutoff_year"] == 2014 and metrics["split"]["n_holdout"] == 1665
    assert metrics["modalities"]["image"].startswith("skipped: no poster vectors (poster_embeddings.npy)")
    assert metrics["cv"]["stack"]["r2_mean"] > 0.35


def test_report_says_image_was_skipped(case_run: Path) -> None:
    report = (case_run / "reports" / "report.md").read_text()
    assert "**image**: skipped: no poster vectors (poster_embeddings.npy)" in report


def test_predict_thousands_of_case_movies(case_run: Path, tmp_path: Path) -> None:
    new = Path(shutil.copytree(CASE_DIR, tmp_path / "new", ignore=shutil.ignore_patterns("sample_posters")))
    pd.read_csv(new / "movies.csv").drop(columns="rating").to_csv(new / "movies.csv", index=False)
    start = time.perf_counter()
    assert main(["predict", "--model", str(case_run / "artifacts" / "model"), "--data-dir", str(new),
                 "--out", str(tmp_path / "p.csv")]) == 0
    seconds = time.perf_counter() - start
    pred = pd.read_csv(tmp_path / "p.csv")
    assert len(pred) == 10_599 and pred["predicted_rating"].between(0.5, 5.0).all()
    print(f"predict: {len(pred):,} movies in {seconds:.1f} s")


def test_a_movie_not_yet_made_from_four_csvs(case_run: Path, tmp_path: Path, capsys) -> None:
    """The done-when of a new movie: only the four CSVs (no vectors, a cast partly unseen), a clipped
    prediction, its 80% and 95% intervals and five reasons; the vectors come from the recorded encoder."""
    new = tmp_path / "new"
    write_movie(new, "Some lights are meant to guide you home.")     # the movie benchmarks/new_movie.py times
    capsys.readouterr()
    assert main(["predict", "--model", str(case_run), "--data-dir", str(new), "--out", str(tmp_path / "p.csv"),
                 "--explain", "5"]) == 0
    printed = capsys.readouterr().out
    row = pd.read_csv(tmp_path / "p.csv").iloc[0]
    assert 0.0 <= row["lower_95"] <= row["lower_80"] <= row["predicted_rating"] <= row["upper_80"] <= row["upper_95"]
    assert not row["in_training_data"] and all(isinstance(row[f"reason_{k}"], str) for k in range(1, 6))
    assert "80%:" in printed and "95%:" in printed
    assert len(re.findall(r"^    \S.* [+-]\d\.\d{3}$", printed, flags=re.M)) == 5
    # the case data has neither the invented actor nor A24: the model reads both as newcomers, and says so
    assert "Mara Quellwood (actor)" in row["unknown_names"] and "A24 (studio)" in row["unknown_names"]
    assert "Florence Pugh" not in row["unknown_names"] and f"(read as newcomers): {row['unknown_names']}\n" in printed
    print(printed)


def test_interval_coverage_is_reported(case_run: Path) -> None:
    metrics = json.loads((case_run / "artifacts" / "metrics.json").read_text())
    bands = {row["band"]: row for row in metrics["intervals"]["holdout"]}
    assert list(bands) == ["all", "2014-18", "2019-22", "2023+"]
    assert 0.7 < bands["all"]["coverage_80"] < 0.9 and 0.9 < bands["all"]["coverage_95"] <= 1.0
    assert abs(metrics["intervals"]["cv"]["80"] - 0.8) < 0.01
    report = (case_run / "reports" / "report.md").read_text()
    assert "### How sure: prediction intervals" in report and "holdout 2023+" in report
    assert "reproduced offline by the sentence encoder all-MiniLM-L6-v2" in report


def test_the_first_page_answers_in_stars_without_paths_or_code_names(case_run: Path) -> None:
    """An executive's first screen: the typical miss in stars, the ranking (top fifth), how sure, the newest
    films and what the posters' absence means, each figure equal to what the artifacts hold."""
    import numpy as np

    from pipeline.report.front import holdout_predictions, top_share_hit
    report = (case_run / "reports" / "report.md").read_text()
    first = report[report.index("## The answer, in plain words"):report.index("## 1. The data")]
    held = holdout_predictions(case_run / "artifacts", pd.read_parquet(case_run / "artifacts" / "dataset.parquet"))
    metrics = json.loads((case_run / "artifacts" / "metrics.json").read_text())
    assert len(held) == metrics["split"]["n_holdout"]
    mae = float(np.mean(np.abs(held["prediction"] - held["rating"])))
    assert mae == pytest.approx(metrics["holdout"]["stack"]["mae"], abs=1e-9)
    assert f"misses by **{mae:.2f} stars** (mean absolute error)" in first
    top, _ = top_share_hit(held["rating"].to_numpy(), held["prediction"].to_numpy())
    assert f"**{top:.0%}** really were in the top fifth" in first and 0.2 < top < 1
    assert "films of 2023 and later" in first and "too low" in first
    assert "Posters were not available" in first
    assert f"Rank correlation (Spearman): {metrics['holdout']['stack']['spearman']:.2f}" in first
    assert "![real rating by tenth of predicted rating](figures/lift.png)" in first      # the lift figure
    reference = metrics["stack_minus"]["reference_catboost"]
    assert f"(RMSE {reference['difference']:+.4f}, 95% interval [{reference['ci_low']:+.4f}" in first
    green = metrics["greenlight"]
    assert "**At greenlight,** without the runtime" in first and f"{green['holdout']['mae']:.2f} stars" in first
    for row in metrics["ablation"]:               # each kind of information's worth carries its paired interval
        if row["ablation"] in ("without tabular", "without text"):
            d = row["minus_full"]
            assert f"RMSE {d['difference']:+.3f}, 95% interval [{d['ci_low']:+.3f}, {d['ci_high']:+.3f}]" in first
    prose = re.sub(r"!\[[^]]*\]\([^)]*\)", "", first)                    # the figure's link aside
    assert "/" not in prose.replace("0.5 to 5", "") and "`" not in prose and "_" not in prose
    assert len(prose.split()) < 500                                   # about one screen


def test_whatif_answers_a_producer_could_act_on(case_run: Path) -> None:
    """The case model's what-if and ultimate card, as the report shows them: no cameo player offered as a lead
    (Martin Scorsese's 24 acting credits, median billing 8.5), no runtime past what the model reads, no edit
    within noise listed above one beyond it, and no edited film predicted above the ultimate movie."""
    import numpy as np

    from pipeline.api import Model
    bundle = Model.load(case_run).bundle
    careers = bundle.catalogue.careers(bundle.cfg.whatif.career_gap_years, bundle.cfg.whatif.archive_credits)
    billing = careers["actor"]["billing"]
    assert billing["Martin Scorsese"] > bundle.cfg.whatif.actor_billing
    answers = json.loads((case_run / "artifacts" / "whatif.json").read_text())
    card = answers["ultimate"]
    leads = card["cast"][:3]
    assert leads and all(billing[name] <= 3 for name in leads)                 # leads who have carried films
    stats = bundle.stats
    combos = [a["best_combination"] for a in answers["movies"]]
    for answer in answers["movies"]:
        edits = [e for a in [*answer["single_edits"], answer["best_combination"]] for e in a["edits"]]
        for edit in edits:
            field, value = edit.split(" → ")
            if field in ("lead actor", "new top-billed actor"):
                assert billing[value] <= bundle.cfg.whatif.actor_billing, edit
            if field == "runtime":
                assert stats.runtime_low <= int(value) <= stats.runtime_high, edit
        noise = [e["within_noise"] for e in answer["single_edits"]]
        assert noise == sorted(noise)                  # an edit within noise is never ranked above one beyond it
    assert card["predicted_rating"] >= max(c["predicted_rating"] for c in combos) - 1e-9
    report = (case_run / "reports" / "report.md").read_text()
    assert f"**Predicted rating {card['predicted_rating']:.2f}**" in report
    assert np.isfinite(card["learner_spread"])
