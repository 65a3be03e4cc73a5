#!/usr/bin/env python
"""Seconds to compute the text vectors of a catalogue that comes without *_embeddings.npy: from scratch, then
again from the text store, then with one new film.

    python benchmarks/text_vectors.py --n-films 100000
    python benchmarks/text_vectors.py --n-films 10000 --store /tmp/store     # keep the store for a later run

The texts are the case's taglines and descriptions, resampled to N films, each made unique by a word of its own
(" Take<i>.", a few tokens more than the case's text) so that no text repeats and de-duplication cannot help;
blank texts stay blank, as in the case. The encoder is the one the pipeline runs (all-MiniLM-L6-v2, offline,
through sentence-transformers), shortest texts first in chunks of equal characters, each chunk stored as it ends.
The vectors read back from the store are checked equal to those computed.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from common import CASE_DIR, run_main  # first: puts the project on the import path

from pipeline.features.embeddings import TEXT_SOURCES, sentence_vectors
from pipeline.report.common import markdown_table


def catalogue_texts(n: int, seed: int) -> pd.DataFrame:
    """N films' texts resampled from the case, each made unique."""
    movies = pd.read_csv(CASE_DIR / "movies.csv", dtype=str, keep_default_na=False)
    rows = np.random.default_rng(seed).integers(0, len(movies), n)
    texts = {}
    for source in TEXT_SOURCES:
        original = movies[source].to_numpy()[rows]
        texts[source] = np.where(original == "", "", [f"{t} Take{i}." for i, t in enumerate(original)])
    return pd.DataFrame(texts)


def timed(texts: pd.DataFrame, store: Path) -> tuple[float, dict[str, np.ndarray]]:
    start = time.perf_counter()
    vectors = {source: sentence_vectors(texts[source], None, store) for source in TEXT_SOURCES}
    return time.perf_counter() - start, vectors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-films", type=int, default=100_000)
    parser.add_argument("--store", type=Path, default=None, help="the cache folder (default: a new temporary one)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    texts = catalogue_texts(args.n_films, args.seed)
    n_texts = int((texts != "").to_numpy().sum())
    tokens = {s: texts[s].str.split().str.len().mean() for s in TEXT_SOURCES}
    print(f"{args.n_films:,} films, {n_texts:,} non-blank texts, all distinct; mean words: "
          + ", ".join(f"{s} {w:.1f}" for s, w in tokens.items()), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        store = args.store or Path(tmp)
        rows = []
        scratch, vectors = timed(texts, store)
        rows.append(("from scratch", scratch))
        again, cached = timed(texts, store)
        rows.append(("again, from the store", again))
        for source in TEXT_SOURCES:
            np.testing.assert_array_equal(cached[source], vectors[source])
        one_more = pd.concat([texts, pd.DataFrame({s: ["A film nobody has described before."] for s in TEXT_SOURCES})],
                             ignore_index=True)
        rows.append(("again, with one new film", timed(one_more, store)[0]))
    table = pd.DataFrame([{"films": f"{args.n_films:,}", "run": run, "seconds": f"{s:.1f}",
                           "texts/s": f"{n_texts / s:,.0f}"} for run, s in rows])
    print(markdown_table(table))


if __name__ == "__main__":
    run_main(main)
