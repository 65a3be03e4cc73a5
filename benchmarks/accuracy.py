#!/usr/bin/env python
"""Accuracy benchmark: CV and temporal-holdout RMSE/MAE/R² per learner and for the stack.

    python benchmarks/accuracy.py [--data-dir ../shared/data/case] [--fast] [--seeds 42 43 44]

Runs the whole pipeline (the project's params.yaml) once per seed into a temporary folder and
prints one table; with several seeds, each figure is the median over seeds. Prints figures,
asserts nothing: targets are read off, not enforced by a timed test.
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from common import CASE_DIR, ROOT, run_main  # first: puts the project on the import path

from pipeline.config import load_config
from pipeline.workflow import run


def one_run(data_dir: Path, fast: bool, seed: int) -> tuple[dict, float]:
    cfg = load_config(ROOT / "params.yaml", profile="fast" if fast else None).model_copy(update={"seed": seed})
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        metrics = run(cfg, data_dir, Path(out), params_source="params.yaml")
        return metrics, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=CASE_DIR)
    parser.add_argument("--fast", action="store_true")
    parser.add_argument("--seeds", type=int, nargs="+", default=[42])
    args = parser.parse_args()
    runs = [one_run(args.data_dir, args.fast, seed) for seed in args.seeds]
    med = lambda values: statistics.median(values)  # noqa: E731
    names = list(runs[0][0]["holdout"])
    print(f"data: {args.data_dir}  profile: {'fast' if args.fast else 'default'}  seeds: {args.seeds}")
    print(f"{'learner':22s} {'CV RMSE':>8s} {'CV R2':>7s} {'hold RMSE':>9s} {'hold MAE':>8s} {'hold R2':>7s}")
    for name in sorted(names, key=lambda n: med([m["holdout"][n]["rmse"] for m, _ in runs])):
        cv = [m["cv"][name] for m, _ in runs]
        ho = [m["holdout"][name] for m, _ in runs]
        print(f"{name:22s} {med([c['rmse_mean'] for c in cv]):8.4f} {med([c['r2_mean'] for c in cv]):7.3f} "
              f"{med([h['rmse'] for h in ho]):9.4f} {med([h['mae'] for h in ho]):8.4f} "
              f"{med([h['r2'] for h in ho]):7.3f}")
    shipped = [m["shipped"] for m, _ in runs]
    print(f"stack: the shipped recipe (refit once per learner) scored on the holdout; the fold models' mean "
          f"{med([s['bag_holdout']['rmse'] for s in shipped]):.4f}, shipped minus it "
          f"{med([s['refit_minus_bag']['difference'] for s in shipped]):+.4f} (paired 95% interval, first seed: "
          f"{shipped[0]['refit_minus_bag']['ci_low']:+.4f} to {shipped[0]['refit_minus_bag']['ci_high']:+.4f})")
    print("\nholdout by release year (RMSE / mean error = prediction - rating; median over seeds)")
    bands = [m["bands"] for m, _ in runs]
    shown = ["stack", "stack_fold_mean", *sorted((n for n in names if n not in ("stack",)),
                                                 key=lambda n: med([m["holdout"][n]["rmse"] for m, _ in runs]))[:3]]
    print(f"{'band':8s} {'movies':>6s} " + " ".join(f"{n[:22]:>22s}" for n in shown))
    for k, band in enumerate(bands[0]["stack"]):
        cells = [f"{med([b[n][k]['rmse'] for b in bands]):.4f} / {med([b[n][k]['mean_error'] for b in bands]):+.3f}"
                 for n in shown]
        print(f"{band['band']:8s} {band['n']:6d} " + " ".join(f"{c:>22s}" for c in cells))
    print(f"wall time per run (median): {med([t for _, t in runs]):.0f} s")
    if len(runs) == 1:
        print(json.dumps({k: v for k, v in runs[0][0].get("stacker", {}).items() if k != "intercept"}, indent=1))


if __name__ == "__main__":
    run_main(main)
