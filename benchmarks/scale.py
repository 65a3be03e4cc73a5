#!/usr/bin/env python
"""Seconds and peak memory of every stage on a synthetic, case-shaped catalogue of N movies.

    python benchmarks/scale.py --n-movies 10000 100000 200000         # features, full --fast run, predict
    python benchmarks/scale.py --n-movies 1000000 --features-only     # feature stages only
    python benchmarks/scale.py --n-movies 20000 --naive               # also the per-movie loop, for the ratio

Catalogues come from the demo generator: Zipf-popular actors, directors and studios, about 15
credits per movie, 384-d tagline and description vectors. For each N:

- features, in this process, each stage timed with the kernel's peak-RSS count reset before it:
  load, clean (split and preprocessing), cross-fitted encodings of actors, directors and studios on
  the training rows (entities), the time-aware history, the cross-fitted neighbour ratings.
- full (unless --features-only): `python -m pipeline run --fast` as a child process, with the
  per-stage seconds and peak memory it writes to run.json and each learner's out-of-fold seconds;
  then `predict` of every movie of the folder (model load included) as another child process, and
  one movie predicted in a warm process (median of 20 calls).
- naive (with --naive): the same cross-fitted entity encodings computed by a per-movie Python loop
  over the credit table (tests/reference.py), and the ratio of the two times.
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
from common import ROOT, run_main  # first: puts the project on the import path

from pipeline.config import load_config
from pipeline.data.clean import drop_duplicate_movies
from pipeline.data.load import load_folder
from pipeline.features.entities import EntityEncoder
from pipeline.features.history import HistoryEncoder
from pipeline.features.neighbours import NeighbourEncoder
from pipeline.features.prepare import split_and_prepare
from pipeline.model.blocks import neighbour_settings
from pipeline.progress import peak_memory_mb, reset_peak_memory
from pipeline.report.common import markdown_table
from pipeline.synthetic.demo import generate_demo
from tests.reference import naive_entity_encoding  # noqa: E402

TEXT_DIM = 384
CAST_EXTRA = 29         # 2 + Binomial(29, 0.4) actors: 13.6 on average, about 15 credits with crew and studios


def resident_mb() -> float:
    """This process's resident memory now (the peak of a stage includes what was resident before it)."""
    return int(re.search(r"VmRSS:\s+(\d+) kB", Path("/proc/self/status").read_text()).group(1)) / 1024


class Stages:
    """Seconds and peak memory of named stages, printed as a table."""

    def __init__(self) -> None:
        self.rows: list[dict] = []

    @contextmanager
    def __call__(self, n: int, stage: str) -> Iterator[None]:
        before = resident_mb()
        reset_peak_memory()
        start = time.perf_counter()
        yield
        self.add(n, stage, time.perf_counter() - start, peak_memory_mb(), f"{before:,.0f} MB resident before")

    def add(self, n: int, stage: str, seconds: float, peak_mb: float | None, note: str = "") -> None:
        self.rows.append({"movies": f"{n:,}", "stage": stage, "seconds": f"{seconds:.2f}",
                          "peak MB": "" if peak_mb is None else f"{peak_mb:,.0f}", "note": note})
        print(f"{n:>9,} {stage:<28} {seconds:9.2f} s  {'' if peak_mb is None else f'{peak_mb:8,.0f} MB'}  {note}",
              flush=True)


def features(folder: Path, n: int, cfg, cache: Path, stages: Stages) -> dict:
    with stages(n, "load"):
        raw = load_folder(folder, cfg.data, require_rating=True)
    credits = sum(len(links) for links in raw.credits.values())
    with stages(n, "clean (split, preprocess)"):
        raw, _ = drop_duplicate_movies(raw)
        _, _, data = split_and_prepare(raw, cfg, cache)
    train, y, e = data.train, data.y, cfg.entities
    with stages(n, "entities (cross-fitted)"):
        EntityEncoder(e.kinds, e.smoothing, e.inner_folds, e.billing_decay, cfg.seed).fit_transform(train.credits, y)
    with stages(n, "history"):
        years = train.tabular["year"].to_numpy()
        HistoryEncoder(e.kinds, e.smoothing, e.billing_decay).fit(train.credits, years, y).transform(
            train.credits, years)
    with stages(n, "neighbours (cross-fitted)"):
        NeighbourEncoder(cfg.embeddings.neighbours, **neighbour_settings(cfg)).fit_transform(
            {"text": train.blocks["text"]}, y)
    return {"raw": raw, "train": train, "y": y, "credits": credits}


def naive(n: int, cfg, train, y: np.ndarray, stages: Stages) -> None:
    """The cross-fitted encodings of all three kinds by the per-movie loop, against the encoder."""
    from sklearn.model_selection import KFold
    e = cfg.entities
    start = time.perf_counter()
    fast = EntityEncoder(e.kinds, e.smoothing, e.inner_folds, e.billing_decay, cfg.seed).fit_transform(train.credits, y)
    vectorised = time.perf_counter() - start
    start = time.perf_counter()
    for kind in e.kinds:
        m = train.credits[kind].matrix.tocoo()
        links = pd.DataFrame({"movie_id": m.row, "name": train.credits[kind].names[m.col], "billing": m.data})
        parts = [naive_entity_encoding(links, y, fit, enc, e.smoothing, e.billing_decay).set_index(enc)
                 for fit, enc in KFold(e.inner_folds, shuffle=True, random_state=cfg.seed).split(y)]
        slow = pd.concat(parts).sort_index()
        np.testing.assert_allclose(fast[f"{kind}_te_mean"], slow["mean"], atol=1e-9)   # the same numbers
    looped = time.perf_counter() - start
    stages.add(n, "entities, per-movie loop", looped, None,
               f"{looped / vectorised:,.0f}x the vectorised encoder ({vectorised:.2f} s)")


def child(*args: str) -> tuple[float, float, str]:
    """Run `python -m pipeline ARGS` in a fresh intermediate process; its wall seconds, peak MB and last line."""
    measure = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
               "out = subprocess.run(sys.argv[1:], check=True, capture_output=True, text=True).stdout; "
               "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, "
               "out.strip().splitlines()[-1])")
    out = subprocess.run([sys.executable, "-c", measure, sys.executable, "-m", "pipeline", *args], check=True,
                         cwd=ROOT, capture_output=True, text=True).stdout.split(maxsplit=2)
    return float(out[0]), float(out[1]), out[2].strip()


def full_run(folder: Path, n: int, out: Path, stages: Stages) -> None:
    total, _, _ = child("run", "--fast", "--data-dir", str(folder), "--out-dir", str(out))
    run_info = json.loads((out / "artifacts" / "run.json").read_text())
    metrics = json.loads((out / "artifacts" / "metrics.json").read_text())
    for stage, seconds in run_info["timings"].items():
        stages.add(n, f"run: {stage}", seconds, run_info["peak_memory_mb"][stage])
    for name, info in metrics["learners"].items():
        stages.add(n, f"  out-of-fold {name}", info["fit_seconds"], None)
    # the run resets its peak-RSS count per stage, so its whole peak is the largest stage peak
    stages.add(n, "run --fast, whole command", total, max(run_info["peak_memory_mb"].values()),
               f"holdout RMSE {metrics['holdout']['stack']['rmse']:.4f}")


def predict(folder: Path, n: int, out: Path, stages: Stages) -> None:
    seconds, peak, said = child("predict", "--model", str(out / "artifacts" / "model"), "--data-dir", str(folder),
                                "--out", str(out / "predictions.csv"))
    stages.add(n, "predict all, whole command", seconds, peak, f"{n / seconds:,.0f} movies/s, imports included")
    # the command's own account: "... in T s (the model loaded in L s, then R films/s)"
    load, rate = re.search(r"loaded in ([\d.]+) s, then ([\d,]+) films/s", said).groups()
    stages.add(n, "  of which the model's load", float(load), None)
    rate = float(rate.replace(",", ""))
    stages.add(n, "  folder read to predictions written", n / rate, None, f"{rate:,.0f} movies/s")
    from pipeline.model.bundle import ModelBundle
    bundle = ModelBundle.load(out / "artifacts" / "model")
    data = load_folder(folder, bundle.cfg.data, require_rating=False, embedding_dims=bundle.spec.dims)
    one = data.subset(data.movies.index[:1].to_numpy())
    bundle.predict(one, out / "artifacts" / "cache")                  # warm up
    times = []
    for _ in range(20):
        start = time.perf_counter()
        bundle.predict(one, out / "artifacts" / "cache")
        times.append(time.perf_counter() - start)
    stages.add(n, "predict one movie, warm", statistics.median(times), None,
               f"median of 20 ({min(times) * 1000:.0f}-{max(times) * 1000:.0f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-movies", type=int, nargs="+", default=[10_000, 100_000, 200_000])
    parser.add_argument("--features-only", action="store_true", help="skip the full run and predict")
    parser.add_argument("--naive", action="store_true", help="also time the per-movie loop (slow)")
    parser.add_argument("--out", type=Path, default=None, help="also write the table here (markdown)")
    args = parser.parse_args()
    cfg = load_config(ROOT / "params.yaml", profile="fast")
    stages = Stages()
    for n in args.n_movies:
        with tempfile.TemporaryDirectory() as tmp:
            folder, out = Path(tmp) / "data", Path(tmp) / "run"
            with stages(n, "generate the catalogue"):
                generate_demo(folder, n_movies=n, seed=0, text_dim=TEXT_DIM, cast_extra=CAST_EXTRA)
            generated = stages.rows[-1]
            built = features(folder, n, cfg, out / "cache", stages)
            generated["note"] = (f"{built['credits']:,} credits ({built['credits'] / n:.1f} per movie), "
                                 f"{len(built['y']):,} training movies, 2 x {TEXT_DIM}-d text vectors")
            print(f"{n:>9,} movies: {generated['note']}", flush=True)
            if args.naive:
                naive(n, cfg, built["train"], built["y"], stages)
            del built
            if not args.features_only:
                full_run(folder, n, out, stages)
                predict(folder, n, out, stages)
    table = markdown_table(pd.DataFrame(stages.rows))
    print(table)
    if args.out:
        args.out.write_text(table + "\n")


if __name__ == "__main__":
    run_main(main)
