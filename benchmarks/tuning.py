#!/usr/bin/env python
"""How long tuning takes: each tuned learner's study, run afresh, with its seconds and best inner-CV RMSE.

    python benchmarks/tuning.py [--data-dir ../shared/data/case] [--learners all_ridge all_lgbm ...]

Every study starts in a fresh, throwaway journal (params.yaml's `tuning.storage` is ignored), with
params.yaml's trial budget, on the training rows of the temporal split (the holdout never reaches tuning).
Run it at two commits to compare the tuning code's speed: the best values must match when only the speed
changed (unless a study hits `tuning.timeout_seconds`, which makes its trials depend on the machine).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from common import CASE_DIR, ROOT, run_main  # first: puts the project on the import path

from pipeline.config import load_config
from pipeline.data.clean import drop_duplicate_movies
from pipeline.data.load import load_folder
from pipeline.features.prepare import split_and_prepare
from pipeline.training.scheduler import storage_for
from pipeline.training.tuning import tune_learner, tuned_learners


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=CASE_DIR)
    parser.add_argument("--learners", nargs="+", help="default: every learner params.yaml tunes")
    args = parser.parse_args()
    cfg = load_config(ROOT / "params.yaml")
    raw, _ = drop_duplicate_movies(load_folder(args.data_dir, cfg.data, require_rating=True))
    with tempfile.TemporaryDirectory() as tmp:
        _, _, data = split_and_prepare(raw, cfg, Path(tmp) / "cache")
        names = args.learners or tuned_learners(cfg, data)
        untuned = [n for n in names if n not in tuned_learners(cfg, data)]
        if untuned:
            sys.exit(f"not tuned on this data (no trial budget in params.yaml, or not runnable): {', '.join(untuned)}")
        journal = cfg.tuning.model_copy(update={"storage": None})
        total = 0.0
        for name in names:
            tic = time.perf_counter()
            result = tune_learner(name, cfg, data.train, data.y, storage_for(journal, Path(tmp) / name),
                                  cfg.tuning.trials[name])
            seconds = time.perf_counter() - tic
            total += seconds
            print(f"{name:18s} {seconds:6.1f} s   {result.n_complete} complete, {result.n_pruned} pruned   "
                  f"best inner-CV RMSE {result.best_value:.5f}", flush=True)
        print(f"{'total':18s} {total:6.1f} s")


if __name__ == "__main__":
    run_main(main)
