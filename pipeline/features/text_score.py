"""The story as one column for a tree learner: a cross-fitted ridge score of the text vectors.

Trees split poorly on hundreds of embedding dimensions (or their PCA components); a linear score of all
of them, fitted on the ratings, carries the story in one column that the trees can combine with the
cast, the year and the runtime. On the rows the learner is fitted on, each row's score comes from a
ridge fitted on the other inner folds (its own rating never reaches its own feature); new rows get the
ridge fitted on all of them. The penalty is chosen by the ridge's efficient leave-one-out error, on the
same rows only.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.linear_model import RidgeCV

from pipeline.data.splits import shuffled_folds
from pipeline.io import load_arrays


class TextScore:
    def __init__(self, alphas: tuple[float, ...], inner_folds: int, random_state: int):
        self.alphas, self.inner_folds, self.random_state = tuple(alphas), inner_folds, random_state

    def _ridge(self, X: np.ndarray, y: np.ndarray) -> RidgeCV:
        return RidgeCV(alphas=self.alphas).fit(X, y)

    def fit_transform(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
        out = np.empty(len(y))
        for fit, score in shuffled_folds(len(y), self.inner_folds, self.random_state):
            out[score] = self._ridge(X[fit], y[fit]).predict(X[score])
        full = self._ridge(X, y)
        self.coef_, self.intercept_ = full.coef_.astype(np.float64), float(full.intercept_)
        return out

    def transform(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X, dtype=np.float64) @ self.coef_ + self.intercept_

    def save(self, path: Path) -> None:
        np.savez(path, coef=self.coef_, intercept=np.array([self.intercept_]))

    @classmethod
    def load(cls, path: Path, **params: object) -> "TextScore":
        z = load_arrays(path)
        out = cls(**params)
        out.coef_, out.intercept_ = z["coef"], float(z["intercept"][0])
        return out
