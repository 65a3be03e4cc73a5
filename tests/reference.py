"""Slow, obviously right reference implementations: what the vectorised code is tested against
(tests/) and timed against (benchmarks/scale.py)."""
from __future__ import annotations

import numpy as np
import pandas as pd


def naive_entity_encoding(links: pd.DataFrame, y: np.ndarray, fit_movies: np.ndarray, enc_movies: np.ndarray,
                          smoothing: float, decay: float) -> pd.DataFrame:
    """Target encoding of one credit kind with per-movie loops over the whole credit table.

    `links` has movie_id (a position into y), name and billing; encodes `enc_movies` from
    the ratings of `fit_movies` only."""
    prior = y[fit_movies].mean()
    sums, counts = {}, {}
    for movie in fit_movies:
        for name in links.loc[links["movie_id"] == movie, "name"]:
            sums[name] = sums.get(name, 0.0) + y[movie] - prior
            counts[name] = counts.get(name, 0) + 1
    out = []
    for movie in enc_movies:
        credits = links[links["movie_id"] == movie].sort_values("billing")
        devs = [sums[n] / (counts[n] + smoothing) if n in sums else 0.0 for n in credits["name"]]
        w = [decay ** (b - 1) for b in credits["billing"]]
        if not devs:
            out.append({"mean": np.nan, "max": np.nan, "min": np.nan, "wmean": np.nan, "lead": np.nan, "n_known": 0})
            continue
        out.append({"mean": prior + np.mean(devs), "max": prior + max(devs), "min": prior + min(devs),
                    "wmean": prior + np.dot(w, devs) / sum(w), "lead": prior + devs[0],
                    "n_known": sum(n in sums for n in credits["name"])})
    return pd.DataFrame(out)
