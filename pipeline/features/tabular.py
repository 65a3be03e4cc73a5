"""Cheap, label-free movie facts: year, runtime, age rating, credit counts, text lengths."""
from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.data.load import TEXT_COLUMNS

AGE_RATING = "age_rating"
CATEGORICAL = (AGE_RATING,)


def _words(text: pd.Series) -> np.ndarray:
    return text.str.split().str.len().fillna(0).to_numpy(np.float64)


def tabular_features(movies: pd.DataFrame, credits: dict[str, pd.DataFrame],
                     age_ratings: tuple[str, ...]) -> pd.DataFrame:
    """One row per movie (same order as `movies`), named columns, no ratings used."""
    out = pd.DataFrame(index=movies.index)
    out["year"] = movies["date"].astype(np.float64)
    out["minute"] = movies["minute"].astype(np.float64)
    out["is_short"] = movies["is_short"]
    out["runtime_missing"] = movies["runtime_missing"]
    out[AGE_RATING] = pd.Categorical(movies["theatrical_release_age_rating"], categories=age_ratings)
    for kind, links in credits.items():
        out[f"n_{kind}"] = links.groupby("movie_id").size().reindex(movies.index, fill_value=0).astype(np.float64)
    for col in TEXT_COLUMNS:
        out[f"has_{col}"] = movies[f"has_{col}"]
        out[f"{col}_words"] = _words(movies[col])
    title = movies["name"].fillna("")
    out["title_words"] = _words(title)
    out["title_has_number"] = title.str.contains(r"\b(?:\d+|II|III|IV)\b", regex=True).astype(np.int8)
    out["title_has_colon"] = title.str.contains(":", regex=False).astype(np.int8)
    return out
