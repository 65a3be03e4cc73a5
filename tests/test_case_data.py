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
    assert main(["run", "--fast", "--data-dir", str(CASE_DIR), "--out-dir", str(out)]) == 0
    return out


def test_stack_beats_baselines_and_single_modalities_on_holdout(case_run: Path) -> None:
    metrics = json.loads((case_run / "artifacts" / "metrics.json").read_text())
    hold = {name: m["rmse"] for name, m in metrics["holdout"].items()}
    assert hold["stack"] < hold["baseline_mean"] and hold["stack"] < hold["baseline_year_trend"]
    singles = [n for n, info in metrics["learners"].items() if info["modality"] in ("tabular", "text", "image")]
    assert singles and all(hold["stack"] < hold[n] for n in singles), hold
    assert metrics["split"]["cutoff_year"] == 2014 and metrics["split"]["n_holdout"] == 1665
    assert metrics["modalities"]["image"].startswith("skipped: no poster_embeddings.npy")
    assert metrics["cv"]["stack"]["r2_mean"] > 0.35


def test_report_says_image_was_skipped(case_run: Path) -> None:
    report = (case_run / "reports" / "report.md").read_text()
    assert "**image**: skipped: no poster_embeddings.npy" in report


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
    assert "## How sure: prediction intervals" in report and "holdout 2023+" in report
    assert "reproduced offline by `all-MiniLM-L6-v2`" in report


def test_the_first_page_answers_in_stars_without_paths_or_code_names(case_run: Path) -> None:
    """An executive's first screen: the typical miss in stars, the ranking (top fifth), how sure, the newest
    films and what the posters' absence means, each figure equal to what the artifacts hold."""
    import numpy as np

    from pipeline.report.front import holdout_predictions, top_share_hit
    report = (case_run / "reports" / "report.md").read_text()
    first = report[report.index("## The answer, in plain words"):report.index("## In numbers")]
    held = holdout_predictions(case_run / "artifacts", pd.read_parquet(case_run / "artifacts" / "dataset.parquet"))
    metrics = json.loads((case_run / "artifacts" / "metrics.json").read_text())
    assert len(held) == metrics["split"]["n_holdout"]
    mae = float(np.mean(np.abs(held["prediction"] - held["rating"])))
    assert mae == pytest.approx(metrics["holdout"]["stack"]["mae"], abs=1e-9)
    assert f"misses the real rating by **{mae:.2f} stars**" in first
    top, _ = top_share_hit(held["rating"].to_numpy(), held["prediction"].to_numpy())
    assert f"**{top:.0%}** really were among the top fifth" in first and 0.2 < top < 1
    assert "films of 2023 and later" in first and "too low" in first
    assert "Posters were not available" in first
    assert "/" not in first.replace("0.5 to 5", "") and "`" not in first and "_" not in first
    assert len(first.split()) < 450                                   # about one screen

