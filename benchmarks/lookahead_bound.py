#!/usr/bin/env python
"""How much of the holdout error is the future's? The same movies scored with and without look-ahead.

    python benchmarks/lookahead_bound.py [--data-dir ../shared/data/case] [--fast] [--fraction 0.01]

The temporal holdout asks for movies after every year the model has seen (2014 on for the case
data): their contemporaries' ratings, their cast's later films and any drift of the ratings are
unknown. This benchmark runs the pipeline twice: as configured (forward), and with the holdout
moved to the latest `--fraction` of movies, so the forward holdout's movies fall into the random CV
folds and each is predicted out of fold by models that did see their contemporaries (look-ahead).
It prints, per learner, the RMSE on the same movies both ways. The look-ahead figure is a diagnostic,
not a result and not a bound: it uses ratings the forward protocol forbids, nothing is chosen from it,
and it measures these learners only (a better model family can beat it). The newest movies (the
look-ahead run's own holdout, 2023-24 on the case data) stay held out in both runs, so they are not
scored here at all.
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from common import CASE_DIR, ROOT, run_main  # first: puts the project on the import path

from pipeline.config import load_config
from pipeline.workflow import run


def predictions(out: Path, part: str) -> dict[str, pd.Series]:
    """Per learner (and the stack), its `part` ("oof" or "holdout") predictions by movie_id."""
    tables = {path.stem: pd.read_parquet(path) for path in sorted((out / "artifacts" / "oof").glob("*.parquet"))
              if not path.stem.endswith("_importance")}
    return {name: t.loc[t["part"] == part].set_index("movie_id")["prediction"] for name, t in tables.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=CASE_DIR)
    parser.add_argument("--fast", action="store_true")
    parser.add_argument("--fraction", type=float, default=0.01, help="the look-ahead run's holdout fraction")
    args = parser.parse_args()
    profile = "fast" if args.fast else None
    quiet = {"ablation": {"enabled": False}}
    forward_cfg = load_config(ROOT / "params.yaml", profile=profile, overrides=quiet)
    ahead_cfg = load_config(ROOT / "params.yaml", profile=profile,
                            overrides=quiet | {"split": {"holdout_fraction": args.fraction}})
    with tempfile.TemporaryDirectory() as tmp:
        forward = run(forward_cfg, args.data_dir, Path(tmp) / "forward", params_source="params.yaml")
        ahead = run(ahead_cfg, args.data_dir, Path(tmp) / "ahead",
                    params_source=f"params.yaml + split.holdout_fraction={args.fraction}")
        held, seen = predictions(Path(tmp) / "forward", "holdout"), predictions(Path(tmp) / "ahead", "oof")
    ratings = pd.read_csv(args.data_dir / "movies.csv", usecols=["movie_id", "rating"]).set_index("movie_id")["rating"]
    movies = held["stack"].index.intersection(seen["stack"].index)      # forward holdout, inside the CV folds
    y = ratings.loc[movies].to_numpy()
    print(f"profile {profile or 'default'}; forward holdout from {forward['split']['cutoff_year']}; "
          f"look-ahead run's holdout from {ahead['split']['cutoff_year']}; scored: the {len(movies)} movies "
          f"in both (rating sd {y.std():.3f})")
    print(f"{'learner':22s}{'forward RMSE':>14s}{'look-ahead RMSE':>17s}")
    rows = [(name, np.sqrt(np.mean((held[name].loc[movies].to_numpy() - y) ** 2)),
             np.sqrt(np.mean((seen[name].loc[movies].to_numpy() - y) ** 2))) for name in held if name in seen]
    for name, fwd, look in sorted(rows, key=lambda r: r[1]):
        print(f"{name:22s}{fwd:14.4f}{look:17.4f}")


if __name__ == "__main__":
    run_main(main)
