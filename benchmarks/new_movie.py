#!/usr/bin/env python
"""How long a producer waits: one brand-new movie from its four CSVs, `predict --explain 5`, model load
included, as a fresh process each time.

    python benchmarks/new_movie.py --model artifacts/model [--repeats 5]

Writes a folder with one 2026 movie (movies.csv, actors.csv, directors.csv, studios.csv; no vectors, a cast
partly unseen), runs `python -m pipeline predict ... --explain 5` `--repeats` times (each with a tagline
never seen before, so no cached text vector is reused) and prints the wall times and their median.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from common import ROOT, run_main  # first: puts the project on the import path


def write_movie(folder: Path, tagline: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"movie_id": [0], "name": ["The Lighthouse Keeper's Daughter"], "date": [2026], "minute": [118],
                  "tagline": [tagline], "theatrical_release_age_rating": ["PG-13"],
                  "description": ["After her father vanishes in a winter storm, a young woman returns to the island "
                                  "lighthouse where she grew up and uncovers the secret he kept for thirty years."]}
                 ).to_csv(folder / "movies.csv", index=False)
    pd.DataFrame({"movie_id": 0, "actor_name": ["Florence Pugh", "Paul Mescal", "Mara Quellwood"]}).to_csv(
        folder / "actors.csv", index=False)
    pd.DataFrame({"movie_id": [0], "director_name": ["Greta Gerwig"]}).to_csv(folder / "directors.csv", index=False)
    pd.DataFrame({"movie_id": [0], "studio": ["A24"]}).to_csv(folder / "studios.csv", index=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "artifacts" / "model")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    seconds = []
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.repeats):
            folder = Path(tmp) / f"movie{k}"
            write_movie(folder, f"Some lights are meant to guide you home (take {k}).")
            cmd = [sys.executable, "-m", "pipeline", "predict", "--model", str(args.model), "--data-dir",
                   str(folder), "--out", str(folder / "predictions.csv"), "--explain", "5"]
            start = time.perf_counter()
            done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=os.environ | {"CI": "true"})
            seconds.append(time.perf_counter() - start)
            if done.returncode != 0:
                sys.exit(f"predict failed ({done.returncode}): {done.stderr.strip().splitlines()[-1]}")
            if k == 0:
                print(done.stdout.strip())
    print(f"predict --explain 5, one new movie, model load included: {', '.join(f'{s:.1f}' for s in seconds)} s; "
          f"median {statistics.median(seconds):.1f} s")


if __name__ == "__main__":
    run_main(main)
