"""Ratings relative to their era: what the base learners fit instead of the raw rating.

On the case data the mean rating is flat until about 1970, then falls, and its spread grows
with release year (1900-1950: 3.35 ± 0.25; 2010s: 2.92 ± 0.58), while the movies to predict
come *after* the training years. Trees cannot extrapolate a trend: fitted on raw ratings they
carry the last years' level and spread into the future. `EraTarget` fits a hinge (flat, then
a straight line; knot by least squares) for the level over release year, and one for the
spread (mean absolute deviation from the level), on the rows a learner is fitted on; the
learner then models z = (rating - level(year)) / spread(year), and its predictions are
mapped back with the same lines, so both trends continue past the last training year while
the learners model what is particular to a movie. Entity, history and neighbour encodings
see z too: an actor is rated against the movies of their era.

Chosen on the forward validation (benchmarks/forward_validation.py: the pipeline on the rows
before the holdout, validated on their latest 15% of years), because random CV cannot
measure extrapolation. Over three origins (--fast), stack validation RMSE 0.4124 (raw), 0.4086
(level), 0.4080 (level_spread), while random CV cannot tell them apart (0.3002 raw, 0.3001
level_spread at the latest origin).
"""
from __future__ import annotations

from typing import Any, Literal

import numpy as np

Mode = Literal["raw", "level", "level_spread"]
MIN_SPREAD_SHARE = 0.25      # the spread line is floored at this share of the mean absolute deviation
KNOT_QUANTILES = np.linspace(0.0, 0.9, 19)   # candidate breakpoints of a trend (0: a plain line)


def fit_hinge(t: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Least-squares v ~ a + b * max(t - knot, 0) over candidate knots: flat, then a straight line.

    Returns (knot, a, b). Ratings are flat until the 1970s and fall after: a line through all
    years would understate the recent slope that the future continues."""
    best, best_sse = np.array([t.min(), v.mean(), 0.0]), np.inf
    for knot in np.unique(np.quantile(t, KNOT_QUANTILES)):
        X = np.c_[np.ones_like(t), np.maximum(t - knot, 0.0)]
        coef, *_ = np.linalg.lstsq(X, v, rcond=None)
        sse = float(np.sum((v - X @ coef) ** 2))
        if sse < best_sse - 1e-12:
            best, best_sse = np.array([knot, *coef]), sse
    return best


def hinge(params: np.ndarray, t: np.ndarray) -> np.ndarray:
    knot, a, b = params
    return a + b * np.maximum(t - knot, 0.0)


class EraTarget:
    """`after`: the share of both lines' slope continued past the last fitted year (1: the lines go
    on; 0: they hold their last value, as trees on raw ratings do)."""

    def __init__(self, mode: Mode = "level_spread", after: float = 1.0):
        self.mode, self.after = mode, float(after)

    def fit(self, years: np.ndarray, y: np.ndarray) -> "EraTarget":
        t, y = np.asarray(years, dtype=np.float64), np.asarray(y, dtype=np.float64)
        self.level_, self.spread_, self.floor_ = np.zeros(3), np.array([0.0, 1.0, 0.0]), 0.0
        self.last_ = float(t.max()) if len(t) else 0.0
        if self.mode == "raw" or np.ptp(t) == 0:
            return self
        self.level_ = fit_hinge(t, y)
        if self.mode == "level_spread":
            deviation = np.abs(y - hinge(self.level_, t))
            self.spread_ = fit_hinge(t, deviation)
            self.floor_ = MIN_SPREAD_SHARE * float(deviation.mean()) + 1e-9
        return self

    def _time(self, years: np.ndarray) -> np.ndarray:
        """Release years on the lines' clock: past the last fitted year, time runs at `after`."""
        t = np.asarray(years, dtype=np.float64)
        return np.where(t > self.last_, self.last_ + self.after * (t - self.last_), t)

    def level(self, years: np.ndarray) -> np.ndarray:
        return hinge(self.level_, self._time(years))

    def spread(self, years: np.ndarray) -> np.ndarray:
        """Rating points per unit of the learner's target (1 unless `level_spread`)."""
        return np.maximum(hinge(self.spread_, self._time(years)), self.floor_)

    def transform(self, years: np.ndarray, y: np.ndarray) -> np.ndarray:
        return (np.asarray(y, dtype=np.float64) - self.level(years)) / self.spread(years)

    def inverse(self, years: np.ndarray, z: np.ndarray) -> np.ndarray:
        return self.level(years) + self.spread(years) * np.asarray(z, dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "level": self.level_.tolist(), "spread": self.spread_.tolist(),
                "floor": self.floor_, "after": self.after, "last": self.last_}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "EraTarget":
        out = cls(d["mode"], d["after"])
        out.level_, out.spread_, out.floor_ = np.array(d["level"]), np.array(d["spread"]), float(d["floor"])
        out.last_ = float(d["last"])
        return out
