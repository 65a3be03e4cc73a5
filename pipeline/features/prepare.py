"""From the loaded folder to what every model stage reads: the temporal split of the rated movies,
cleaning statistics and text vectorisers fitted on its training rows only, and the movie frames.

`prepare` is also the first step of the shipped model's fit (pipeline/model/bundle.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.config import Config
from pipeline.data.clean import CleaningLog, CleaningStats, apply_cleaning, fit_cleaning
from pipeline.data.load import MovieData
from pipeline.data.splits import Splits, make_splits
from pipeline.features.frame import FrameSpec, MovieFrame, build_frame, fit_sources


@dataclass(frozen=True)
class Prepared:
    """Cleaned data and its vectors, with what was fitted to produce them. Its movie frame is built where it is
    read (`frame`) and not kept: a run then holds the frames of the rows it models, not one of every row beside
    them (a frame's vectors are a copy: each modality's sources side by side)."""
    data: MovieData
    stats: CleaningStats
    spec: FrameSpec
    log: CleaningLog
    vectors: dict[str, np.ndarray]     # every vector source, rows as data

    def frame(self, cfg: Config, movie_ids: np.ndarray | None = None) -> MovieFrame:
        """The movie frame of these movies, in their order (every movie when None), built on each call."""
        frame = build_frame(self.data, self.vectors, cfg)
        return frame if movie_ids is None else frame.take(self.data.movies.index.get_indexer(movie_ids))


def prepare(data: MovieData, cfg: Config, fit_ids: np.ndarray, cache_dir: Path) -> Prepared:
    """Fit cleaning statistics and text vectorisers on `fit_ids` only, then apply them to all rows."""
    stats = fit_cleaning(data.movies.loc[fit_ids], cfg.clean)
    cleaned, log = apply_cleaning(data, stats, cfg.clean)
    vectors, spec = fit_sources(cleaned, cfg, fit_ids, cache_dir)
    return Prepared(cleaned, stats, spec, log, vectors)


@dataclass(frozen=True)
class Labelled:
    """The training and holdout movies, their features and ratings: what every model stage reads."""
    train: MovieFrame
    holdout: MovieFrame
    y: np.ndarray
    y_holdout: np.ndarray
    splits: Splits


def split_and_prepare(raw: MovieData, cfg: Config, cache: Path) -> tuple[Splits, Prepared, Labelled]:
    """The temporal split of the rated movies, preprocessing fitted on its training rows, and the
    training and holdout frames."""
    labelled = raw.movies.index[raw.has_rating].to_numpy()
    splits = make_splits(raw.movies.loc[labelled, "date"], cfg.split, cfg.seed)
    prep = prepare(raw, cfg, splits.train_ids, cache)
    return splits, prep, split_frames(prep.frame(cfg), prep.data, splits)


def split_frames(frame: MovieFrame, data: MovieData, splits: Splits) -> Labelled:
    """The split's training and holdout rows of `frame` (one row per movie of `data`) with their ratings."""
    position = data.movies.index.get_indexer
    ratings = data.movies["rating"]
    return Labelled(frame.take(position(splits.train_ids)), frame.take(position(splits.holdout_ids)),
                    ratings.loc[splits.train_ids].to_numpy(), ratings.loc[splits.holdout_ids].to_numpy(), splits)


def data_overview(raw: MovieData, splits: Splits) -> pd.DataFrame:
    """One row per movie with what the report's overview and exploration draw (raw, before cleaning)."""
    m = raw.movies
    folds = splits.to_frame().set_index("movie_id")["fold"]
    has = {kind: m.index.isin(links["movie_id"]) for kind, links in raw.credits.items()}
    credits = {kind: links.sort_values(["movie_id", "billing"]).groupby("movie_id")["name"]
               for kind, links in raw.credits.items()}
    title = m["name"].str.strip().str.casefold()
    first_year = m.groupby(title)["date"].transform("min")
    return pd.DataFrame({
        "movie_id": m.index, "year": m["date"], "rating": m["rating"], "minute": m["minute"],
        "fold": folds.reindex(m.index).fillna(-2).astype(int).to_numpy(),
        "age_rating": m["theatrical_release_age_rating"].fillna("").str.strip().to_numpy(),
        "tagline_chars": m["tagline"].str.strip().str.len().to_numpy(),
        "description_chars": m["description"].str.strip().str.len().to_numpy(),
        "remake": (m["date"] > first_year).to_numpy(),   # a title first released in an earlier year
        "missing_age_rating": m["theatrical_release_age_rating"].isna().to_numpy(),
        "missing_tagline": (m["tagline"].str.strip() == "").to_numpy(),
        "missing_description": (m["description"].str.strip() == "").to_numpy(),
        "missing_runtime": m["minute"].isna().to_numpy(),
    } | {f"no_{kind}": ~flag for kind, flag in has.items()}
      | {f"n_{kind}s": g.size().reindex(m.index).fillna(0).astype(int).to_numpy() for kind, g in credits.items()}
      | {f"first_{kind}": g.first().reindex(m.index).to_numpy() for kind, g in credits.items()})
