#!/usr/bin/env python
"""A simple reference the stack must beat: one untuned CatBoost, on the same temporal holdout.

    python benchmarks/reference_catboost.py [--data-dir ../shared/data/case] [--run-dir OUT]

The reference (pipeline/training/reference.py, which every run also fits and reports) is fitted on
every movie before the holdout's first year. The stack's holdout
predictions come from a pipeline run with the project's params.yaml (`--run-dir`: an existing
run's out-dir, else a fresh run in a temporary folder), so both score the same movies; prints both
RMSEs, the paired bootstrap 95% interval of their difference, and RMSE / mean error per band.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from common import CASE_DIR, ROOT, run_main  # first: puts the project on the import path

from pipeline.config import load_config
from pipeline.data.clean import drop_duplicate_movies
from pipeline.data.load import load_folder
from pipeline.data.splits import make_splits
from pipeline.training.evaluate import band_scores, paired_difference
from pipeline.training.intervals import year_bands
from pipeline.training.reference import reference_predictions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=CASE_DIR)
    parser.add_argument("--run-dir", type=Path, default=None, help="an existing run's out-dir (its stack)")
    args = parser.parse_args()
    cfg = load_config(ROOT / "params.yaml")
    raw, _ = drop_duplicate_movies(load_folder(args.data_dir, cfg.data, require_rating=True))
    raw = raw.subset(raw.movies.index[raw.has_rating].to_numpy())
    splits = make_splits(raw.movies["date"], cfg.split, cfg.seed)
    start = time.perf_counter()
    ref = np.clip(reference_predictions(raw, splits.train_ids, splits.holdout_ids, cfg.evaluation,
                                        cfg.seed), *cfg.data.rating_range)
    print(f"reference CatBoost fitted on {len(splits.train_ids):,} movies before {splits.cutoff_year} in "
          f"{time.perf_counter() - start:.0f} s", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        out = args.run_dir
        if out is None:
            from pipeline.workflow import run
            out = Path(tmp)
            run(cfg, args.data_dir, out, params_source="params.yaml")
        stack = pd.read_parquet(out / "artifacts" / "oof" / "stack.parquet")
    ours = stack[stack["part"] == "holdout"].set_index("movie_id")["prediction"].reindex(splits.holdout_ids)
    y = raw.movies.loc[splits.holdout_ids, "rating"].to_numpy(np.float64)
    diff = paired_difference(y, ours.to_numpy(), ref, n_boot=2000, ci=0.95, seed=0)
    rmse = lambda p: float(np.sqrt(np.mean((p - y) ** 2)))  # noqa: E731
    print(f"holdout, {len(y):,} movies: stack (shipped) RMSE {rmse(ours.to_numpy()):.4f}, reference {rmse(ref):.4f}; "
          f"stack minus reference {diff['difference']:+.4f}, paired bootstrap 95% "
          f"[{diff['ci_low']:+.4f}, {diff['ci_high']:+.4f}]")
    bands = year_bands(raw.movies.loc[splits.holdout_ids, "date"].to_numpy(), cfg.evaluation.year_bands)
    for a, b in zip(band_scores(y, ours.to_numpy(), bands), band_scores(y, ref, bands)):
        print(f"{a['band']:8s} {a['n']:5d} movies  stack {a['rmse']:.4f} / {a['mean_error']:+.3f}   "
              f"reference {b['rmse']:.4f} / {b['mean_error']:+.3f}   (RMSE / mean error)")


if __name__ == "__main__":
    run_main(main)
