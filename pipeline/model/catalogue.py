"""The movies a model was fitted on, shipped with it: what it knows about the world besides its weights.

A model folder answers questions about people and films without the training data at hand:
"was this movie in the training data, and what was its rating?" (`known`), "who is still
working, and since when?" (`careers`), "what kind of film is this?" (`neighbours`, the
training movies with the most similar story, and `rating_shares`, how often each person or
studio worked on films of each age rating), and "what would a film built from this story
look like?" (`movie_data`, real training movies rebuilt as input rows).

Stored as plain arrays (`catalogue.npz`, no pickle): the data contract's movie columns, the
cleaned age rating, the credits, and the text vectors the model saw (float16: ample for
cosine similarity and for rebuilding a story, and half the size).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.data.load import LINK_FILES, MOVIE_COLUMNS, MovieData
from pipeline.features.embeddings import MODALITY_SOURCES
from pipeline.io import load_arrays, load_tables, save_tables

NEWCOMERS = "new to the model (read as newcomers)"   # how predict, explain and whatif introduce unknown_names
NEAR_NAME = 85      # a name the model does not know is offered the training name at least this similar (rapidfuzz's
                    # ratio, 0-100, of the lower-cased letters and digits): Toni Colette 96, Chris Evens 91
STORED = ("name", "date", "tagline", "description", "minute", "theatrical_release_age_rating", "rating")


def title_key(names: pd.Series, years: pd.Series) -> pd.Series:
    """A movie's identity across folders: its title (case and spaces ignored) and release year."""
    return names.astype(str).str.strip().str.casefold() + "|" + years.astype(np.int64).astype(str)


@dataclass
class Catalogue:
    movies: pd.DataFrame            # positional rows: the data contract's columns, `rating`, `age_rating` (cleaned)
    credits: pd.DataFrame           # row (into movies), kind, name, billing
    vectors: dict[str, np.ndarray]  # "text" (the model's text sources side by side), "poster"; rows as movies
    text_dims: dict[str, int]       # the text sources in `vectors["text"]`, in order, and their widths
    _careers: dict = field(default_factory=dict, repr=False)
    _spelled: dict = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, raw: MovieData, cleaned: MovieData, rows: np.ndarray, vectors: dict[str, np.ndarray]) -> "Catalogue":
        """The fitted movies (`rows` into `raw`/`cleaned`, which share their order) and their vectors."""
        ids = raw.movies.index.to_numpy()[rows]
        movies = raw.movies.iloc[rows][list(STORED)].rename(columns={"date": "year"}).reset_index(drop=True)
        movies["age_rating"] = cleaned.movies["theatrical_release_age_rating"].to_numpy()[rows]
        position = pd.Series(np.arange(len(ids)), index=ids)
        credits = pd.concat([pd.DataFrame({"row": position.reindex(df["movie_id"]).to_numpy(), "kind": kind,
                                           "name": df["name"].astype(str).to_numpy(),
                                           "billing": df["billing"].to_numpy()})
                             for kind, df in raw.credits.items()], ignore_index=True).dropna(subset=["row"])
        credits["row"] = credits["row"].astype(np.int64)
        text = [s for s in MODALITY_SOURCES["text"] if s in vectors]
        stored = {"text": np.hstack([vectors[s][rows] for s in text])} if text else {}
        if "poster" in vectors:
            stored["poster"] = vectors["poster"][rows]
        return cls(movies, credits.reset_index(drop=True), {k: v.astype(np.float16) for k, v in stored.items()},
                   {s: int(vectors[s].shape[1]) for s in text})

    def save(self, folder: Path) -> None:
        save_tables(folder / "catalogue.npz", {f"dim_{s}": d for s, d in self.text_dims.items()},
                    {"movies": self.movies.fillna({"theatrical_release_age_rating": ""}), "credits": self.credits})
        np.savez(folder / "catalogue_vectors.npz", **self.vectors)

    @classmethod
    def load(cls, folder: Path) -> "Catalogue":
        scalars, tables = load_tables(folder / "catalogue.npz")
        vectors = load_arrays(folder / "catalogue_vectors.npz")
        movies = tables["movies"]
        age = movies["theatrical_release_age_rating"]
        movies["theatrical_release_age_rating"] = age.where(age != "")
        dims = {key[4:]: int(value) for key, value in scalars.items() if key.startswith("dim_")}
        return cls(movies, tables["credits"], vectors, dims)

    # --- "was it in the training data?" ---------------------------------------------------------------
    @cached_property
    def _title_ratings(self) -> dict[str, float]:
        keys = title_key(self.movies["name"], self.movies["year"]).to_numpy(object)
        ratings = self.movies["rating"].to_numpy(np.float64)
        return {key: rating for key, rating in zip(keys[::-1], ratings[::-1])}   # the first movie of a key wins

    def known(self, names: pd.Series, years: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        """Per movie: whether a training movie has its title and year, and that movie's rating (NaN if not)."""
        keys = title_key(names, years).to_numpy(object)
        return (np.array([key in self._title_ratings for key in keys], dtype=bool),
                np.array([self._title_ratings.get(key, np.nan) for key in keys], dtype=np.float64))

    # --- "does it know these people?" -----------------------------------------------------------------
    def unknown_names(self, data: MovieData) -> pd.Series:
        """Per movie of `data` (index movie_id): its credited names that no training movie credits, which the
        model reads as newcomers, in billing order, each with its kind and, when a training name of that kind
        is close (a typo, other casing), that name: "Toni Colette (actor; did you mean Toni Collette?)".
        "" where every name is known."""
        from rapidfuzz import fuzz, process, utils
        notes: dict[int, list[str]] = {}
        for kind, links in data.credits.items():
            known, spelled = self._names(kind)
            unknown = known.get_indexer(links["name"].to_numpy(object)) < 0      # the index's hash table, kept
            new = links[unknown].sort_values(["movie_id", "billing"], kind="stable")
            if new.empty:
                continue
            near = {}
            for name in new["name"].unique():
                match = process.extractOne(utils.default_process(name), spelled, scorer=fuzz.ratio,
                                           processor=None, score_cutoff=NEAR_NAME)
                near[name] = f"{kind}; did you mean {known[match[2]]}?" if match else kind
            for movie_id, name in zip(new["movie_id"], new["name"]):
                notes.setdefault(int(movie_id), []).append(f"{name} ({near[name]})")
        return pd.Series({i: "; ".join(notes.get(int(i), [])) for i in data.movies.index}, dtype=object)

    def _names(self, kind: str) -> tuple[pd.Index, list[str]]:
        """The training names of `kind` (an index: membership by hash) and each spelled as rapidfuzz compares
        them (lower case, letters and digits); built once per loaded model, as a server asks many times."""
        if kind not in self._spelled:
            from rapidfuzz import utils
            known = pd.Index(self.credits.loc[self.credits["kind"] == kind, "name"].drop_duplicates()
                             .to_numpy(object), dtype=object)
            self._spelled[kind] = (known, [utils.default_process(name) for name in known])
        return self._spelled[kind]

    # --- people and studios ---------------------------------------------------------------------------
    def careers(self, gap_years: int, archive_credits: int) -> dict[str, pd.DataFrame]:
        """Per kind, each credited name's films, first and last credited year, (lower) median billing position, and
        `active`: the last year of
        the career as it plausibly continues. A run of at most `archive_credits` credits after a silence of more
        than `gap_years` is archive footage or a tribute (David Bowie in 2017 and 2020), not a comeback."""
        key = (gap_years, archive_credits)
        if key not in self._careers:
            years = self.movies["year"].to_numpy()[self.credits["row"].to_numpy()]
            table = self.credits.assign(year=years).sort_values(["kind", "name", "year"], kind="stable")
            out = {}
            for kind, part in table.groupby("kind", sort=False):
                grouped = part.groupby("name", sort=False)["year"]
                summary = grouped.agg(films="count", first="min", last="max")
                # the lower median: at most N means at least half the films billed in the top N
                summary["billing"] = part.groupby("name", sort=False)["billing"].quantile(0.5, interpolation="lower")
                summary["active"] = grouped.agg(lambda y: active_until(y.to_numpy(), gap_years, archive_credits))
                out[kind] = summary
            self._careers[key] = out
        return self._careers[key]

    @cached_property
    def rating_shares(self) -> dict[str, pd.DataFrame]:
        """Per kind, each name's share of films per (cleaned) age rating: name x age rating."""
        ratings = self.movies["age_rating"].to_numpy()[self.credits["row"].to_numpy()]
        counts = self.credits.assign(age_rating=ratings).groupby(["kind", "name", "age_rating"]).size()
        return {kind: (lambda t: t.div(t.sum(axis=1), axis=0))(part.droplevel("kind").unstack(fill_value=0))
                for kind, part in counts.groupby(level="kind")}

    # --- stories --------------------------------------------------------------------------------------
    @cached_property
    def stories(self) -> np.ndarray | None:
        """Unit-length text vectors (None when the model has no text modality)."""
        return None if "text" not in self.vectors else unit(self.vectors["text"].astype(np.float32))

    def neighbours(self, story: np.ndarray, k: int) -> np.ndarray:
        """Rows of the `k` training movies whose story is most similar to `story` (a text vector)."""
        sims = self.stories @ unit(story.astype(np.float32))
        return np.argsort(-sims, kind="stable")[:k]

    # --- training movies as input rows ----------------------------------------------------------------
    def movie_data(self, rows: np.ndarray, source: Path, credits: bool = True) -> MovieData:
        """Training movies rebuilt as a MovieData (movie_id = row), with their stored vectors."""
        movies = self.movies.iloc[rows].rename(columns={"year": "date"})[list(MOVIE_COLUMNS[1:]) + ["rating"]]
        movies.index = pd.Index(np.asarray(rows, dtype=np.int64), name="movie_id")
        links = self.credits[self.credits["row"].isin(rows)] if credits else self.credits.iloc[:0]
        links = links.rename(columns={"row": "movie_id"})
        frames = {kind: links.loc[links["kind"] == kind, ["movie_id", "name", "billing"]].reset_index(drop=True)
                  for kind in LINK_FILES}
        embeddings, start = {}, 0
        for source_name, dim in self.text_dims.items():
            embeddings[source_name] = self.vectors["text"][rows, start:start + dim].astype(np.float32)
            start += dim
        if "poster" in self.vectors:
            embeddings["poster"] = self.vectors["poster"][rows].astype(np.float32)
        return MovieData(movies, frames, embeddings, source, {})


def unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


def active_until(years: np.ndarray, gap_years: int, archive_credits: int) -> int:
    """The last year of a career (sorted credit years) once short runs after long silences are set aside."""
    end = len(years)
    while end > 1:
        gaps = np.flatnonzero(np.diff(years[:end]) > gap_years)
        if len(gaps) == 0 or end - (gaps[-1] + 1) > archive_credits:
            break
        end = gaps[-1] + 1
    return int(years[end - 1])
