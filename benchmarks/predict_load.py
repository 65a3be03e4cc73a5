#!/usr/bin/env python
"""`predict` on many new movies: wall time and peak memory of the command, model load included.

    python benchmarks/predict_load.py --model artifacts/model [--n-movies 100000] [--data-dir ../shared/data/case]

Builds a folder of N new movies by resampling the case movies (with their credits and text vectors,
ratings removed, ids 0..N-1), then runs `python -m pipeline predict` on it as a child process and prints
its wall time and peak resident memory, with the movies-per-chunk setting the model was saved with.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from common import CASE_DIR, ROOT, run_main  # first: puts the project on the import path

LINKS = {"actors.csv": "actor_name", "directors.csv": "director_name", "studios.csv": "studio"}


def resampled_folder(source: Path, n: int, out: Path, seed: int = 0) -> None:
    movies = pd.read_csv(source / "movies.csv")
    pick = np.random.default_rng(seed).integers(0, len(movies), n)
    new = movies.iloc[pick].drop(columns="rating").reset_index(drop=True)
    old_ids = new["movie_id"].to_numpy()
    new["movie_id"] = np.arange(n)
    out.mkdir(parents=True)
    new.to_csv(out / "movies.csv", index=False)
    for file, column in LINKS.items():
        links = pd.read_csv(source / file)
        by_movie = links.groupby("movie_id", sort=False).indices
        rows = [(new_id, i) for new_id, old in enumerate(old_ids) for i in by_movie.get(old, ())]
        new_ids, idx = (np.array(v) for v in zip(*rows)) if rows else (np.array([], int), np.array([], int))
        pd.DataFrame({"movie_id": new_ids, column: links[column].to_numpy()[idx]}).to_csv(out / file, index=False)
    for npy in source.glob("*_embeddings.npy"):
        np.save(out / npy.name, np.load(npy)[pd.Index(movies["movie_id"]).get_indexer(old_ids)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--data-dir", type=Path, default=CASE_DIR)
    parser.add_argument("--n-movies", type=int, default=100_000)
    args = parser.parse_args()
    batch = json.loads((args.model / "config.json").read_text())["predict"]["batch"]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "new"
        start = time.perf_counter()
        resampled_folder(args.data_dir, args.n_movies, folder)
        print(f"built {args.n_movies:,} new movies in {time.perf_counter() - start:.0f} s", flush=True)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "pipeline", "predict", "--model", str(args.model), "--data-dir",
                        str(folder), "--out", str(Path(tmp) / "predictions.csv")], check=True, cwd=ROOT)
        seconds = time.perf_counter() - start
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        n_out = len(pd.read_csv(Path(tmp) / "predictions.csv"))
    print(f"predict: {n_out:,} movies in {seconds:.1f} s including model load "
          f"({n_out / seconds:,.0f} movies/s), peak memory {peak_mb:,.0f} MB, predict.batch {batch:,}")


if __name__ == "__main__":
    run_main(main)
