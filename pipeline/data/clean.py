"""Documented cleaning decisions, each counted in the cleaning log.

Decisions (all configurable under `clean:` in params.yaml):
- runtime: missing or zero -> the training median (flag `runtime_missing`); shorter than
  `min_runtime` -> kept, flagged `is_short` (shorts are real films, not errors); outside the
  training quantiles `runtime_clip_quantiles` -> clipped (1,014-minute serials stop dominating).
- age rating: empty or unrecognised -> its own category `missing_age_rating`.
- text: stripped; empty, placeholder or shorter than `min_text_chars` -> "" (flag `has_<col>`).
- duplicates: repeated (name, year, description) rows -> later copies dropped; repeated titles
  with other years are remakes and are kept (counted only). Duplicate credits were dropped at load.
Statistics (median, quantiles) are fitted on training rows only and shipped with the model.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from pipeline.config import CleanConfig
from pipeline.data.load import TEXT_COLUMNS, MovieData

CleaningLog = list[dict[str, object]]


@dataclass(frozen=True)
class CleaningStats:
    """What cleaning learned from the training rows; applied unchanged to any other rows."""
    runtime_median: float
    runtime_low: float
    runtime_high: float
    year_min: int           # the training years: what-if answers say when they leave them
    year_max: int

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def fit_cleaning(movies: pd.DataFrame, cfg: CleanConfig) -> CleaningStats:
    minutes = movies["minute"].where(movies["minute"] > 0).dropna()
    if minutes.empty:
        minutes = pd.Series([float(cfg.min_runtime)])
    lo, hi = np.quantile(minutes, cfg.runtime_clip_quantiles)
    return CleaningStats(float(minutes.median()), float(lo), float(hi), int(movies["date"].min()),
                         int(movies["date"].max()))


def drop_duplicate_movies(data: MovieData) -> tuple[MovieData, CleaningLog]:
    """Exact repeats of (name, year, description) are one movie listed twice: keep the first."""
    movies = data.movies
    dup = movies.duplicated(["name", "date", "description"])
    remakes = movies.duplicated("name", keep=False) & ~dup
    entries: CleaningLog = [
        {"step": "duplicates", "decision": "repeated (name, year, description): later copies dropped",
         "count": int(dup.sum())},
        {"step": "duplicates", "decision": "titles shared by several movies (remakes): kept",
         "count": int(remakes.sum())},
    ]
    return (data.subset(movies.index[~dup].to_numpy()) if dup.any() else data), entries


def apply_cleaning(data: MovieData, stats: CleaningStats, cfg: CleanConfig) -> tuple[MovieData, CleaningLog]:
    movies = data.movies.copy()
    entries: CleaningLog = []

    def note(step: str, decision: str, mask: pd.Series | np.ndarray) -> None:
        entries.append({"step": step, "decision": decision, "count": int(np.sum(mask))})

    minute = movies["minute"]
    missing = minute.isna() | (minute <= 0)
    note("runtime", f"missing or zero: set to the training median ({stats.runtime_median:g} min)", missing)
    movies["runtime_missing"] = missing.astype(np.int8)
    minute = minute.where(~missing, stats.runtime_median)
    short = minute < cfg.min_runtime
    note("runtime", f"shorter than {cfg.min_runtime} min: kept, flagged is_short", short & ~missing)
    movies["is_short"] = short.astype(np.int8)
    note("runtime", f"below the training {cfg.runtime_clip_quantiles[0]:.1%} quantile: clipped to "
         f"{stats.runtime_low:g} min", minute < stats.runtime_low)
    note("runtime", f"above the training {cfg.runtime_clip_quantiles[1]:.1%} quantile: clipped to "
         f"{stats.runtime_high:g} min", minute > stats.runtime_high)
    movies["minute"] = minute.clip(stats.runtime_low, stats.runtime_high)

    age = movies["theatrical_release_age_rating"].fillna("").str.strip().str.upper()
    note("age rating", f"empty: own category '{cfg.missing_age_rating}'", age == "")
    unknown = (age != "") & ~age.isin(cfg.age_ratings)
    note("age rating", f"unrecognised label: category '{cfg.missing_age_rating}'", unknown)
    movies["theatrical_release_age_rating"] = age_categories(age, cfg)

    placeholders = {p.lower() for p in cfg.placeholder_texts}
    for col in TEXT_COLUMNS:
        text = movies[col].fillna("").str.strip()
        empty = (text.str.len() < cfg.min_text_chars) | text.str.lower().str.rstrip(".").isin(placeholders)
        note("text", f"{col} empty, placeholder or under {cfg.min_text_chars} characters: treated as absent",
             empty)
        movies[col] = text.where(~empty, "")
        movies[f"has_{col}"] = (~empty).astype(np.int8)
    return MovieData(movies, data.credits, data.embeddings, data.source, data.counts), entries


def age_categories(labels: pd.Series, cfg: CleanConfig) -> pd.Series:
    """Age-rating labels as categories: a known label (any case, spaces ignored), else `missing_age_rating`."""
    age = labels.fillna("").astype(str).str.strip().str.upper()
    return age.where(age.isin(cfg.age_ratings), cfg.missing_age_rating)


def loading_log(data: MovieData) -> CleaningLog:
    """What loading dropped (unknown movies, duplicate credits), in the cleaning log's shape."""
    return [{"step": "credits", "decision": decision, "count": count}
            for decision, count in data.counts.items()]
