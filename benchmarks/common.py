"""What every benchmark shares: the project on the import path, where the case data is, and how bad
input ends a run (one line and exit code 2, as on the command line, not a traceback)."""
from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# the case data, for the benchmarks and the tests (tests/conftest.py): MOVIE_CASE_DIR, else ../shared/data/case
CASE_DIR = Path(os.environ.get("MOVIE_CASE_DIR", ROOT.parent / "shared" / "data" / "case"))


def run_main(main: Callable[[], None]) -> None:
    """Call a benchmark's `main`; an InputError (a data folder that is not there, a bad parameter) ends it."""
    from pipeline.errors import InputError
    try:
        main()
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)


def write_subset(data_dir: Path, movie_ids: Iterable[int], out: Path, *, ratings: bool = True) -> pd.Series:
    """Writes the movies `movie_ids` of `data_dir` (with their credits and vectors) to the folder `out`,
    renumbered 0..n-1 in their order in movies.csv (ids index the embedding rows); `ratings=False` drops
    the rating column, as a folder of films not yet rated has none. Returns new id by old id."""
    from pipeline.data.load import EMBEDDING_FILES, LINK_FILES
    raw = pd.read_csv(data_dir / "movies.csv", dtype=str, keep_default_na=False)
    keep = raw[raw["movie_id"].astype(int).isin(set(movie_ids))]
    new_id = pd.Series(np.arange(len(keep)), index=keep["movie_id"].astype(int).to_numpy())
    out.mkdir(parents=True, exist_ok=True)
    for file, _ in LINK_FILES.values():
        if (data_dir / file).is_file():
            links = pd.read_csv(data_dir / file, dtype=str, keep_default_na=False)
            links = links[links["movie_id"].astype(int).isin(new_id.index)]
            links.assign(movie_id=new_id[links["movie_id"].astype(int)].to_numpy()).to_csv(out / file, index=False)
    for file in EMBEDDING_FILES.values():
        if (data_dir / file).is_file():
            np.save(out / file, np.load(data_dir / file)[new_id.index.to_numpy()])
    keep = keep.assign(movie_id=np.arange(len(keep)))
    (keep if ratings else keep.drop(columns=["rating"], errors="ignore")).to_csv(out / "movies.csv", index=False)
    return new_id
