#!/usr/bin/env python
"""How long a producer waits for a what-if, once the model is loaded (the Python API or a notebook).

    python benchmarks/whatif.py --model artifacts/model --data-dir ../shared/data/case \
        [--name Barbie --name "Fight Club" --name Oppenheimer] [--repeats 3] [--new-movie]

Loads the model and the data folder once, then times `Model.whatif` for each movie `--repeats` times, each
in a fresh model object (so no career table or text vector cached by an earlier answer is reused) and
prints each time and the median per movie. `--new-movie` also times the brand-new movie of
benchmarks/new_movie.py (its text vectors computed on the first call).
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from common import CASE_DIR, ROOT, run_main  # first: puts the project on the import path
from new_movie import write_movie

from pipeline.api import Model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "artifacts" / "model")
    parser.add_argument("--data-dir", type=Path, default=CASE_DIR)
    parser.add_argument("--name", action="append", default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--new-movie", action="store_true")
    args = parser.parse_args()
    names = args.name or ["Barbie", "Fight Club", "Oppenheimer"]
    data = Model.load(args.model).folder_movies(args.data_dir)
    cases = [(name, data) for name in names]
    tmp = tempfile.TemporaryDirectory()
    if args.new_movie:
        folder = Path(tmp.name) / "new"
        write_movie(folder, "Some lights are meant to guide you home.")
        cases.append(("The Lighthouse Keeper's Daughter", Model.load(args.model).folder_movies(folder)))
    for name, movies in cases:
        seconds = []
        for _ in range(args.repeats):
            model = Model.load(args.model)                     # not timed: a fresh model, nothing cached
            start = time.perf_counter()
            answer = model.whatif(movies, name=name)
            seconds.append(time.perf_counter() - start)
        print(f"{name}: {answer['candidates']} single edits, {answer['trials']} combinations; "
              f"{', '.join(f'{s:.2f}' for s in seconds)} s; median {statistics.median(seconds):.2f} s")
    tmp.cleanup()


if __name__ == "__main__":
    run_main(main)
