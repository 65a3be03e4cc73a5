"""The temporal holdout and the CV folds: the only source of splits in the project.

The holdout is the most recent movies (a rating *before* the movie is made);
everything fitted on ratings, cleaning statistics included, sees only the rest.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold

from pipeline.config import SplitConfig
from pipeline.errors import InputError

HOLDOUT_FOLD = -1


@dataclass(frozen=True)
class Splits:
    train_ids: np.ndarray        # labelled movies before the cutoff year
    holdout_ids: np.ndarray      # labelled movies from the cutoff year on
    fold: np.ndarray             # CV fold of each train id, aligned with train_ids
    cutoff_year: int

    @property
    def n_folds(self) -> int:
        return int(self.fold.max()) + 1

    def fold_positions(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """(fit, predict) positions into train_ids for each fold."""
        return [(np.flatnonzero(self.fold != k), np.flatnonzero(self.fold == k)) for k in range(self.n_folds)]

    def to_frame(self) -> pd.DataFrame:
        ids = np.concatenate([self.train_ids, self.holdout_ids])
        fold = np.concatenate([self.fold, np.full(len(self.holdout_ids), HOLDOUT_FOLD)])
        return pd.DataFrame({"movie_id": ids, "fold": fold}).sort_values("movie_id", ignore_index=True)


def make_splits(years: pd.Series, cfg: SplitConfig, seed: int) -> Splits:
    """`years`: release year of every labelled movie, indexed by movie_id."""
    cutoff = int(np.quantile(years.to_numpy(), 1.0 - cfg.holdout_fraction, method="nearest"))
    is_holdout = (years >= cutoff).to_numpy()
    train_ids = years.index.to_numpy()[~is_holdout]
    holdout_ids = years.index.to_numpy()[is_holdout]
    if len(holdout_ids) == 0 or len(train_ids) < 2 * cfg.n_folds:
        raise InputError("movies.csv", f"cannot form a temporal holdout of {cfg.holdout_fraction:.0%} and "
                         f"{cfg.n_folds} folds from {len(years)} labelled movies spanning "
                         f"{years.min()}-{years.max()}", column="date")
    fold = np.empty(len(train_ids), dtype=np.int64)
    for k, (_, part) in enumerate(shuffled_folds(len(train_ids), cfg.n_folds, seed)):
        fold[part] = k
    return Splits(train_ids, holdout_ids, fold, cutoff)


def shuffled_folds(n: int, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(fit, held-out) positions of k shuffled folds over n rows: every split in the project, the evaluation
    folds above and each cross-fitting or tuning loop inside them (each with its own seed)."""
    return list(KFold(n_splits=k, shuffle=True, random_state=seed).split(np.arange(n)))
