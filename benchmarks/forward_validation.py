#!/usr/bin/env python
"""Forward validation: does a change help on movies *after* the years a model was fitted on?

    python benchmarks/forward_validation.py [--data-dir ../shared/data/case] [--fast]
        [--variant NAME KEY=VALUE ...] ...

Random CV folds mix all years, so they cannot measure extrapolation (a trend, a drift in the
ratings' spread, cast whose later films are not yet rated). The temporal holdout can, but it
must never choose anything. This benchmark removes the holdout from the data folder (the
same rule as the pipeline: the latest `split.holdout_fraction` of movies by year) and runs
the whole pipeline on what is left; that run's own temporal holdout, the latest years of the
*training* rows, is then a validation set that may choose. Each `--variant` is a name and
dotted params.yaml overrides (values in YAML), e.g.

    --variant raw learners.target=raw --variant level_spread learners.target=level_spread

Without variants, params.yaml as it is. `--origins N` (default 3) repeats the whole comparison
further back (the holdout removed N times, so each origin validates the 15% of movies before the
previous one's), since a choice about extrapolation that holds at one origin only is thin evidence.
Prints the CV and validation RMSE of every learner per variant and origin, then the stack's mean
over the origins and per origin: the shipped recipe (each stacked learner refitted once) and the
mean of the fold models, with the paired difference. Poster images (posters/) are not carried
over; poster vectors are.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Iterator

import numpy as np
from common import CASE_DIR, ROOT, run_main, write_subset  # first: puts the project on the import path

from pipeline.config import Config, load_config, parse_overrides
from pipeline.data.load import load_folder
from pipeline.data.splits import make_splits
from pipeline.workflow import run


def without_holdout(data_dir: Path, cfg: Config, out: Path) -> tuple[int, int]:
    """Writes `data_dir` minus its temporal holdout to `out`, movie ids renumbered (they index the
    embedding rows). Returns the holdout's first year and the number of movies kept."""
    movies = load_folder(data_dir, cfg.data, require_rating=True).movies
    cutoff = make_splits(movies.loc[movies["rating"].notna(), "date"], cfg.split, cfg.seed).cutoff_year
    kept = write_subset(data_dir, movies.index[movies["date"] < cutoff], out)
    return cutoff, len(kept)


def forward_folders(data_dir: Path, cfg: Config, folder: Path, origins: int) -> Iterator[tuple[int, Path]]:
    """(origin, data folder) for origins 1..N: each folder is the previous one without its holdout."""
    for origin in range(1, origins + 1):
        cutoff, n = without_holdout(data_dir, cfg, folder / f"data{origin}")
        data_dir = folder / f"data{origin}"
        print(f"origin {origin}: {n} movies before {cutoff}", flush=True)
        yield origin, data_dir


def forward_parser(doc: str, origins: int) -> argparse.ArgumentParser:
    """The options every forward-validation benchmark takes."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=CASE_DIR)
    parser.add_argument("--fast", action="store_true", help="the fast profile of params.yaml")
    parser.add_argument("--origins", type=int, default=origins, help="how many forward origins, latest first")
    parser.add_argument("--variant", nargs="+", action="append", metavar=("NAME", "KEY=VALUE"), default=[])
    return parser


def main() -> None:
    args = forward_parser(__doc__, origins=3).parse_args()
    variants = {v[0]: parse_overrides(v[1:]) for v in args.variant} or {"params.yaml": {}}
    profile = "fast" if args.fast else None
    base = load_config(ROOT / "params.yaml", profile=profile)
    stack: dict[str, list[float]] = {name: [] for name in variants}
    bag: dict[str, list[dict]] = {name: [] for name in variants}
    with tempfile.TemporaryDirectory() as tmp:
        for origin, data_dir in forward_folders(args.data_dir, base, Path(tmp), args.origins):
            results = {}
            for name, over in variants.items():
                cfg = load_config(ROOT / "params.yaml", profile=profile, overrides=over)
                start = time.perf_counter()
                results[name] = metrics = run(cfg, data_dir, Path(tmp) / f"{name}{origin}",
                                              params_source=f"params.yaml + {over}")
                stack[name].append(metrics["holdout"]["stack"]["rmse"])
                bag[name].append(metrics["shipped"]["bag_holdout"] | metrics["shipped"]["refit_minus_bag"])
                seconds = time.perf_counter() - start
                newest = metrics["bands"]["stack"][-1]
                print(f"{name}: stack validation RMSE {stack[name][-1]:.4f} (newest years {newest['band']}: "
                      f"{newest['rmse']:.4f}, mean error {newest['mean_error']:+.3f}), "
                      f"CV {metrics['cv']['stack']['rmse_mean']:.4f} in {seconds:.0f} s", flush=True)
            print_table(results, origin)
    print(f"\nstack validation RMSE, mean over {args.origins} origin(s):")
    for name, values in stack.items():
        print(f"{name:22s}{np.mean(values):.4f}  ({', '.join(f'{v:.4f}' for v in values)})")
    print("\nthe fold models' mean instead of the shipped refit: validation RMSE; refit minus it [paired 95%]")
    for name, rows in bag.items():
        print(f"{name:22s}{np.mean([r['rmse'] for r in rows]):.4f}  (" + ", ".join(
            f"{r['rmse']:.4f}: {r['difference']:+.4f} [{r['ci_low']:+.4f}, {r['ci_high']:+.4f}]" for r in rows) + ")")


def print_table(results: dict[str, dict], origin: int) -> None:
    first = next(iter(results.values()))
    print(f"\norigin {origin}: validation = the latest years of its training rows "
          f"({first['split']['cutoff_year']} on); CV RMSE / validation RMSE")
    print(f"{'learner':40s}" + "".join(f"{name[:21]:>22s}" for name in results))
    for learner in sorted(first["holdout"], key=lambda k: first["holdout"][k]["rmse"]):
        cells = [f"{m['cv'][learner]['rmse_mean']:.4f} / {m['holdout'][learner]['rmse']:.4f}"
                 if learner in m["holdout"] else "-" for m in results.values()]
        print(f"{learner:40s}" + "".join(f"{c:>22s}" for c in cells))
    labels = [row["ablation"] for row in first.get("ablation", [])]
    for label in labels:     # the stack refitted without a feature group, when the run had ablation on
        cells = [next((f"{r['cv']['rmse_mean']:.4f} / {r['holdout']['rmse']:.4f}" for r in m.get("ablation", [])
                       if r["ablation"] == label and "cv" in r), "-") for m in results.values()]
        print(f"{'stack ' + label:40s}" + "".join(f"{c:>22s}" for c in cells))
    print(flush=True)


if __name__ == "__main__":
    run_main(main)
