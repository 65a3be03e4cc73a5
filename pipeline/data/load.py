"""Load and validate an input folder (the README's data contract) into one MovieData.

Validation happens here, once: every problem is an InputError naming the file,
the column and the first offending line (the header is line 1). Link rows for
unknown movies and exact duplicate credits are dropped and counted, not fatal.
"""
from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.config import DataConfig
from pipeline.errors import InputError

log = logging.getLogger(__name__)

MAX_ID = 2 ** 53          # movie_ids are exact integers up to here (they pass through float64 when checked)
MOVIE_COLUMNS = ("movie_id", "name", "date", "tagline", "description", "minute", "theatrical_release_age_rating")
TEXT_COLUMNS = ("tagline", "description")
# kind -> (file, name column); row order within a movie is billing order.
LINK_FILES = {"actor": ("actors.csv", "actor_name"),
              "director": ("directors.csv", "director_name"),
              "studio": ("studios.csv", "studio")}
EMBEDDING_FILES = {"tagline": "tagline_embeddings.npy",
                   "description": "description_embeddings.npy",
                   "poster": "poster_embeddings.npy"}


@dataclass(frozen=True)
class MovieData:
    """Everything known about a set of movies, indexed by movie_id."""
    movies: pd.DataFrame                          # index movie_id (sorted), MOVIE_COLUMNS + rating
    credits: dict[str, pd.DataFrame]              # kind -> movie_id, name, billing (1 = lead)
    embeddings: dict[str, np.ndarray]             # tagline/description/poster, rows aligned to movies
    source: Path
    counts: dict[str, int] = field(default_factory=dict)   # what loading dropped, for the cleaning log

    @property
    def has_rating(self) -> pd.Series:
        return self.movies["rating"].notna()

    def subset(self, movie_ids: np.ndarray) -> "MovieData":
        """Rows of these movies only; embeddings and credits follow."""
        pos = self.movies.index.get_indexer(movie_ids)
        credits = {k: df[df["movie_id"].isin(movie_ids)] for k, df in self.credits.items()}
        return MovieData(self.movies.iloc[pos], credits,
                         {k: v[pos] for k, v in self.embeddings.items()}, self.source, dict(self.counts))


def _read_csv(path: Path) -> pd.DataFrame:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(path.name, f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); re-save the file as UTF-8",
                         line=line) from None
    return _parse_csv(text, path.name)


def _parse_csv(text: str, file: str) -> pd.DataFrame:
    """CSV text as a table of strings (empty cells NaN): the one reader of files and of the API's frames."""
    if not text or text.isspace():
        raise InputError(file, "file is empty")
    header = text[: text.find("\n")] if "\n" in text else text
    if "," not in header and any(sep in header for sep in ";\t|"):
        raise InputError(file, "wrong delimiter: the file must be comma-separated", line=1)
    names = next(csv.reader([header]))
    repeated = next((name for k, name in enumerate(names) if name.strip() in (n.strip() for n in names[:k])), None)
    if repeated is not None:   # pandas would silently rename the second one (rating -> rating.1)
        raise InputError(file, "the header names this column twice", column=repeated.strip(), line=1)
    try:
        return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""])
    except pd.errors.ParserError as exc:
        raise InputError(file, f"not a readable CSV ({str(exc).splitlines()[0]})") from None


def frame_table(df: object, file: str) -> pd.DataFrame:
    """A DataFrame from the Python API read exactly as the file it stands for: written as CSV text
    (`df.to_csv`, the values a spreadsheet or pandas would write) and parsed by the files' own reader, so
    every value gets the verdict it would get in `file`."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{file}: expected a pandas DataFrame in the data contract's columns, got "
                        f"{type(df).__name__} (pd.DataFrame(rows) makes one from a list of dicts)")
    if isinstance(df.columns, pd.MultiIndex):
        raise TypeError(f"{file}: expected one header row, got {df.columns.nlevels} column levels")
    return _parse_csv(df.to_csv(index=False), file)


def _require_columns(df: pd.DataFrame, file: str, columns: tuple[str, ...]) -> None:
    for col in columns:
        if col not in df.columns:
            found = ", ".join(map(str, df.columns[:6]))
            hint = " (wrong delimiter? the file must be comma-separated)" if len(df.columns) == 1 else ""
            raise InputError(file, f"required column is missing; found: {found}{hint}", column=col)


def _numeric(df: pd.DataFrame, file: str, col: str, *, integer: bool, required: bool,
             lo: float | None = None, hi: float | None = None) -> pd.Series:
    """Parse a column as numbers; the first unparsable or out-of-range value is an InputError."""
    values = pd.to_numeric(df[col], errors="coerce")
    present = df[col].notna()
    checks = [(present & values.isna(), "is not a number")]
    if required:
        checks.append((~present, "is empty"))
    if integer:
        checks.append((values.notna() & (values % 1 != 0), "is not an integer"))
    if lo is not None:
        checks.append((values < lo, f"is below {lo:g}"))
    if hi is not None:
        checks.append((values > hi, f"is above {hi:g}"))
    for bad, what in checks:
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(file, f"value {df[col].iloc[row]!r} {what}", column=col, line=row + 2)
    return values


def movies_table(df: pd.DataFrame, file: str, cfg: DataConfig, *, require_rating: bool) -> pd.DataFrame:
    """movies.csv's rows (as text) validated and typed, indexed by movie_id."""
    _require_columns(df, file, MOVIE_COLUMNS + (("rating",) if require_rating else ()))
    if df.empty:
        raise InputError(file, "has a header but no movies")
    ids = _numeric(df, file, "movie_id", integer=True, required=True, lo=0, hi=MAX_ID)
    dup = ids.duplicated()
    if dup.any():
        row = int(np.flatnonzero(dup.to_numpy())[0])
        raise InputError(file, f"duplicate movie_id {int(ids.iloc[row])}", column="movie_id", line=row + 2)
    out = pd.DataFrame(index=pd.Index(ids.astype(np.int64), name="movie_id"))
    out["name"] = df["name"].fillna("").to_numpy()
    out["date"] = _numeric(df, file, "date", integer=True, required=True,
                           lo=cfg.year_range[0], hi=cfg.year_range[1]).to_numpy()
    out["minute"] = _numeric(df, file, "minute", integer=False, required=False, lo=0).to_numpy()
    for col in TEXT_COLUMNS:
        out[col] = df[col].fillna("").astype(str).to_numpy()
    out["theatrical_release_age_rating"] = df["theatrical_release_age_rating"].to_numpy()
    if "rating" in df.columns:
        out["rating"] = _numeric(df, file, "rating", integer=False, required=False,
                                 lo=cfg.rating_range[0], hi=cfg.rating_range[1]).to_numpy()
    else:
        out["rating"] = np.nan
    if require_rating and out["rating"].isna().all():
        raise InputError(file, "no movie has a rating; training needs labelled movies", column="rating")
    if require_rating:      # a folder of new movies may well have one movie with no tagline at all
        for col in TEXT_COLUMNS:
            if (out[col].str.strip() == "").all():
                raise InputError(file, "every value is empty; supply text or drop the column's modality",
                                 column=col)
    out["date"] = out["date"].astype(np.int64)
    return out.sort_index()


def load_movies(path: Path, cfg: DataConfig, *, require_rating: bool) -> pd.DataFrame:
    if not path.is_file():
        raise InputError(path.name, f"required file not found in {path.parent}")
    return movies_table(_read_csv(path), path.name, cfg, require_rating=require_rating)


def links_table(df: pd.DataFrame | None, kind: str, movie_ids: pd.Index, counts: dict[str, int]) -> pd.DataFrame:
    """One credit table (rows as text) with billing order; unknown movies and exact duplicates are dropped
    and counted. `None`: the kind's file is absent."""
    file, name_col = LINK_FILES[kind]
    if df is None:
        counts[f"{kind}: file absent"] = 1
        return pd.DataFrame({"movie_id": pd.Series([], dtype=np.int64), "name": pd.Series([], dtype=str),
                             "billing": pd.Series([], dtype=np.int64)})
    _require_columns(df, file, ("movie_id", name_col))
    ids = _numeric(df, file, "movie_id", integer=True, required=True, lo=0, hi=MAX_ID).astype(np.int64)
    links = pd.DataFrame({"movie_id": ids.to_numpy(), "name": df[name_col].fillna("").str.strip().to_numpy()})
    blank = links["name"] == ""
    unknown = ~links["movie_id"].isin(movie_ids)
    dup = links.duplicated(["movie_id", "name"]) & ~blank & ~unknown
    counts[f"{kind} links with an empty name (dropped)"] = int(blank.sum())
    counts[f"{kind} links to unknown movies (dropped)"] = int((unknown & ~blank).sum())
    counts[f"{kind} duplicate links (dropped)"] = int(dup.sum())
    if (unknown & ~blank).any():
        log.warning("%s: %d rows name movies not in movies.csv; dropped", file, int((unknown & ~blank).sum()))
    links = links[~(blank | unknown | dup)].reset_index(drop=True)
    links["billing"] = links.groupby("movie_id").cumcount().astype(np.int64) + 1
    return links


def load_embedding(path: Path, movie_ids: pd.Index, *, expect_dim: int | None = None) -> np.ndarray:
    try:
        arr = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:   # EOFError: an empty or truncated file
        raise InputError(path.name, f"not a readable .npy array ({str(exc) or type(exc).__name__})") from None
    return embedding_rows(arr, path.name, movie_ids, expect_dim=expect_dim)


def embedding_rows(arr: np.ndarray, file: str, movie_ids: pd.Index, *, expect_dim: int | None = None) -> np.ndarray:
    """An (n_movies, d) float array whose row i belongs to movie_id i; returned in movies' order."""
    arr = np.asarray(arr)
    if arr.ndim != 2:
        raise InputError(file, f"must be 2-D (n_movies, d), got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.floating):
        raise InputError(file, f"must hold floats, got dtype {arr.dtype}")
    if arr.shape[0] != len(movie_ids):
        raise InputError(file, f"has {arr.shape[0]} rows but movies.csv has {len(movie_ids)} movies")
    if int(movie_ids.max()) >= arr.shape[0]:
        raise InputError(file, f"movie_id {int(movie_ids.max())} is out of range of {arr.shape[0]} rows",
                         column="movie_id")
    if expect_dim is not None and arr.shape[1] != expect_dim:
        raise InputError(file, f"has dimension {arr.shape[1]}, the model was trained on {expect_dim}")
    aligned = np.asarray(arr[movie_ids.to_numpy()], dtype=np.float32)
    bad = ~np.isfinite(aligned).all(axis=1)
    if bad.any():
        row = int(movie_ids[np.flatnonzero(bad)[0]])
        raise InputError(file, f"row {row} holds NaN or infinite values")
    return aligned


def load_folder(folder: Path, cfg: DataConfig, *, require_rating: bool,
                embedding_dims: dict[str, int] | None = None) -> MovieData:
    """Read and validate a whole input folder; raises InputError on the first problem."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(str(folder), "data folder not found")
    movies = load_movies(folder / "movies.csv", cfg, require_rating=require_rating)
    counts: dict[str, int] = {}
    credits = {kind: links_table(_read_csv(folder / file) if (folder / file).is_file() else None,
                                 kind, movies.index, counts) for kind, (file, _) in LINK_FILES.items()}
    dims = embedding_dims or {}
    embeddings = {name: load_embedding(folder / file, movies.index, expect_dim=dims.get(name))
                  for name, file in EMBEDDING_FILES.items() if (folder / file).is_file()}
    return MovieData(movies, credits, embeddings, folder, counts)


def frames_data(movies: pd.DataFrame, credits: dict[str, pd.DataFrame | None], embeddings: dict[str, np.ndarray],
                cfg: DataConfig, *, require_rating: bool, embedding_dims: dict[str, int] | None = None,
                source: Path = Path("<DataFrame>")) -> MovieData:
    """`load_folder` for DataFrames and arrays already in memory (the Python API): each frame is checked as
    the file it stands for (`movies` as movies.csv, credits as actors.csv, ...), with the same errors."""
    table = movies_table(frame_table(movies, "movies.csv"), "movies.csv", cfg, require_rating=require_rating)
    counts: dict[str, int] = {}
    links = {kind: links_table(None if credits.get(kind) is None else frame_table(credits[kind], LINK_FILES[kind][0]),
                               kind, table.index, counts) for kind in LINK_FILES}
    dims = embedding_dims or {}
    vectors = {name: embedding_rows(arr, EMBEDDING_FILES[name], table.index, expect_dim=dims.get(name))
               for name, arr in embeddings.items()}
    return MovieData(table, links, vectors, source, counts)
