#!/usr/bin/env python
"""Our stack against AutoGluon Tabular on exactly the same training rows and temporal holdout.

    python3 -m venv .venv-autogluon && .venv-autogluon/bin/pip install -r requirements-autogluon.txt
    python benchmarks/vs_autogluon.py --autogluon-python .venv-autogluon/bin/python \
        [--data-dir ../shared/data/case] [--presets medium_quality best_quality] [--run-dir OUT] [--keep DIR]

AutoGluon gets the raw movie columns (year, runtime, age rating, title, tagline, description)
plus each movie's actors (in billing order), directors and studios joined as text, with the
time limits below and without its random-forest models (see EXCLUDED). Both sides see only the
training rows; both are scored once on the holdout. `--run-dir` reuses an existing run's out-dir
(made with the project's params.yaml on the same data folder) instead of a fresh run; `--keep` keeps
AutoGluon's holdout predictions, so that another run of ours is compared on the same movies in seconds.
Prints RMSE, wall time, the ratios ours / theirs, the paired bootstrap 95% interval of the RMSE
difference, and RMSE / mean error per release-year band. AutoGluon runs as a subprocess in its own
environment (it needs pandas < 2.4; the pipeline pins pandas 3), timed from its process start.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from pipeline.data.load import MovieData

from common import CASE_DIR, ROOT, run_main  # first: puts the project on the import path

TIME_LIMITS = {"medium_quality": 600, "best_quality": 1500}
# Random forests and extra trees are left out of every preset: on the n-gram features AutoGluon derives from
# the text columns, a single RandomForest fit ran past 20 minutes of a 2-minute budget on this 2-core
# machine (twice, in medium_quality and in best_quality's DyStack sub-fit) and cannot be interrupted.
EXCLUDED = ["RF", "XT"]
OVERRUN = 2.0           # a preset still running at this multiple of its time limit is reported as unfinished


def autogluon_table(data: "MovieData") -> pd.DataFrame:
    m = data.movies
    table = pd.DataFrame({"year": m["date"], "minute": m["minute"], "age_rating": m["theatrical_release_age_rating"],
                          "title": m["name"], "tagline": m["tagline"], "description": m["description"],
                          "rating": m["rating"]})
    for kind, links in data.credits.items():
        joined = links.sort_values(["movie_id", "billing"]).groupby("movie_id")["name"].agg("; ".join)
        table[f"{kind}s"] = joined.reindex(m.index).fillna("")
    return table


def rmse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


def fit_autogluon(train_path: Path, holdout_path: Path, preset: str, out_path: Path) -> None:
    """Worker mode, run inside the AutoGluon environment: fit on train, predict holdout."""
    from autogluon.tabular import TabularPredictor
    train, holdout = pd.read_parquet(train_path), pd.read_parquet(holdout_path)
    with tempfile.TemporaryDirectory() as path:
        predictor = TabularPredictor(label="rating", eval_metric="root_mean_squared_error", path=path,
                                     verbosity=2).fit(train, presets=preset, time_limit=TIME_LIMITS[preset],
                                                      excluded_model_types=EXCLUDED)
        pd.DataFrame({"prediction": predictor.predict(holdout.drop(columns="rating"))}).to_parquet(out_path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=CASE_DIR)
    parser.add_argument("--presets", nargs="+", default=list(TIME_LIMITS))
    parser.add_argument("--autogluon-python", default=sys.executable, help="python of the AutoGluon environment")
    parser.add_argument("--run-dir", type=Path, default=None, help="an existing run's out-dir (its stack)")
    parser.add_argument("--keep", type=Path, default=None,
                        help="a folder for AutoGluon's holdout predictions (autogluon_<preset>.parquet): written "
                             "after a fit, and read instead of fitting when they cover exactly this holdout")
    parser.add_argument("--worker", nargs=4, metavar=("TRAIN", "HOLDOUT", "PRESET", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        train_path, holdout_path, preset, out_path = args.worker
        fit_autogluon(Path(train_path), Path(holdout_path), preset, Path(out_path))
        return

    # the pipeline is imported here only: the --worker runs in AutoGluon's environment without it
    from pipeline.config import load_config
    from pipeline.data.clean import drop_duplicate_movies
    from pipeline.data.load import load_folder
    from pipeline.data.splits import make_splits
    from pipeline.io import read_json
    from pipeline.training.intervals import year_bands
    from pipeline.workflow import run

    cfg = load_config(ROOT / "params.yaml")
    raw, _ = drop_duplicate_movies(load_folder(args.data_dir, cfg.data, require_rating=True))
    splits = make_splits(raw.movies["date"], cfg.split, cfg.seed)
    table = autogluon_table(raw)
    train, holdout = table.loc[splits.train_ids], table.loc[splits.holdout_ids]

    with tempfile.TemporaryDirectory() as tmp_out:
        out, start = args.run_dir or Path(tmp_out), time.perf_counter()
        if args.run_dir is None:
            run(cfg, args.data_dir, out, params_source="params.yaml")
        ours_seconds = (time.perf_counter() - start if args.run_dir is None     # else the run's own stage times
                        else sum(read_json(out / "artifacts" / "run.json").get("timings", {}).values()) or float("nan"))
        stack = pd.read_parquet(out / "artifacts" / "oof" / "stack.parquet")
    ours_pred = stack[stack["part"] == "holdout"].set_index("movie_id")["prediction"].reindex(holdout.index)
    if ours_pred.isna().any():
        raise SystemExit(f"{out}: its stack does not cover this split's holdout (another data folder or params?)")
    ours = rmse(ours_pred, holdout["rating"])
    bands = year_bands(holdout["year"].to_numpy(), cfg.evaluation.year_bands)
    print(f"same split: {len(train):,} training movies, {len(holdout):,} holdout movies "
          f"(from {splits.cutoff_year}); ours: RMSE {ours:.4f} "
          + f"in {ours_seconds:.0f} s" + ("" if args.run_dir is None else f" (the run in {args.run_dir})"), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        train.reset_index(drop=True).to_parquet(tmp / "train.parquet")
        holdout.reset_index(drop=True).to_parquet(tmp / "holdout.parquet")
        for preset in args.presets:
            kept = args.keep / f"autogluon_{preset}.parquet" if args.keep else None
            if kept and kept.is_file():
                saved = pd.read_parquet(kept)
                if np.array_equal(saved["movie_id"].to_numpy(), holdout.index.to_numpy()):
                    compare(preset, holdout, ours_pred, ours_seconds, bands, saved["prediction"].to_numpy(),
                            float(saved["seconds"].iloc[0]), f"(kept in {kept})")
                    continue
                print(f"{kept}: other movies than this holdout; fitting again", flush=True)
            start = time.perf_counter()
            try:    # AutoGluon may overrun its time_limit (a single model fit is not interrupted)
                subprocess.run([args.autogluon_python, __file__, "--worker", str(tmp / "train.parquet"),
                                str(tmp / "holdout.parquet"), preset, str(tmp / "pred.parquet")], check=True,
                               timeout=OVERRUN * TIME_LIMITS[preset])
            except subprocess.TimeoutExpired:
                print(f"AutoGluon {preset:15s} did not finish within {OVERRUN:g} x its {TIME_LIMITS[preset]} s "
                      f"time limit", flush=True)
                continue
            seconds = time.perf_counter() - start
            their_pred = pd.read_parquet(tmp / "pred.parquet")["prediction"].to_numpy()
            if kept:
                kept.parent.mkdir(parents=True, exist_ok=True)
                pd.DataFrame({"movie_id": holdout.index, "prediction": their_pred, "seconds": seconds}).to_parquet(kept)
            compare(preset, holdout, ours_pred, ours_seconds, bands, their_pred, seconds, "")


def compare(preset: str, holdout: pd.DataFrame, ours_pred: pd.Series, ours_seconds: float, bands: list,
            their_pred: np.ndarray, seconds: float, source: str) -> None:
    """Prints one preset's RMSE beside ours, the paired bootstrap interval of the difference, and each band's."""
    from pipeline.training.evaluate import band_scores, paired_difference
    y = holdout["rating"].to_numpy()
    ours, theirs = rmse(ours_pred, y), rmse(their_pred, y)
    diff = paired_difference(y, ours_pred.to_numpy(), their_pred, n_boot=2000, ci=0.95, seed=0)
    print(f"AutoGluon {preset:15s} RMSE {theirs:.4f} in {seconds:5.0f} s | ours/theirs: "
          f"RMSE {ours / theirs:.3f}, wall time {ours_seconds / seconds:.3f} | ours minus theirs "
          f"{diff['difference']:+.4f}, paired bootstrap 95% [{diff['ci_low']:+.4f}, {diff['ci_high']:+.4f}] {source}",
          flush=True)
    for a, b in zip(band_scores(y, ours_pred.to_numpy(), bands), band_scores(y, their_pred, bands)):
        print(f"  {a['band']:8s} {a['n']:5d} movies  ours {a['rmse']:.4f} / {a['mean_error']:+.3f}   "
              f"AutoGluon {b['rmse']:.4f} / {b['mean_error']:+.3f}   (RMSE / mean error)", flush=True)


if __name__ == "__main__":
    run_main(main)
