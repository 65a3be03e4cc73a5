"""Cross-fitted, smoothed target encoding of many-to-many credits (actors, directors, studios).

Each entity's encoding is its shrunken mean rating deviation, sum(y - prior) / (n + m),
learned from the rows `fit` sees. Per movie, the encodings of its credited entities are
aggregated (mean, max, min, billing-weighted mean, lead) with sparse matrix operations:
no per-movie Python loops. `fit_transform` on training rows is cross-fitted (like
scikit-learn's TargetEncoder): a row's features never come from its own rating.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from pipeline.data.splits import shuffled_folds
from pipeline.io import load_tables, save_tables


@dataclass(frozen=True)
class Credits:
    """Incidence of movies (rows) and entity names (columns); values are billing positions (1 = lead)."""
    matrix: sp.csr_matrix
    names: np.ndarray

    @classmethod
    def from_links(cls, links: pd.DataFrame, movie_ids: np.ndarray) -> "Credits":
        links = links[links["movie_id"].isin(movie_ids)]
        rows = pd.Index(movie_ids).get_indexer(links["movie_id"])
        codes, names = pd.factorize(links["name"], sort=True)
        matrix = sp.csr_matrix((links["billing"].to_numpy(np.float64), (rows, codes)),
                               shape=(len(movie_ids), len(names)))
        matrix.sort_indices()
        return cls(matrix, np.asarray(names, dtype=object))

    def take(self, positions: np.ndarray) -> "Credits":
        return Credits(self.matrix[positions], self.names)

    def lead_names(self, k: int) -> pd.DataFrame:
        """The k top-billed names per movie as columns (None where fewer credits)."""
        coo = self.matrix.tocoo()
        out = {}
        for rank in range(1, k + 1):
            col = np.full(self.matrix.shape[0], None, dtype=object)
            hit = coo.data == rank
            col[coo.row[hit]] = self.names[coo.col[hit]]
            out[rank] = col
        return pd.DataFrame(out)


@dataclass(frozen=True)
class EntityStats:
    """What the encoder learned for one kind: per name, the count and the shrunken deviation."""
    names: np.ndarray
    count: np.ndarray
    deviation: np.ndarray

    @cached_property
    def index(self) -> pd.Index:
        """The names' hash index, built once: per call it cost more than encoding one movie."""
        return pd.Index(self.names)


def row_reduce(ufunc: np.ufunc, values: np.ndarray, indptr: np.ndarray) -> np.ndarray:
    """ufunc.reduce over each CSR row's values; NaN for empty rows."""
    out = np.full(len(indptr) - 1, np.nan)
    nonempty = np.flatnonzero(np.diff(indptr) > 0)
    if len(nonempty):
        out[nonempty] = ufunc.reduceat(values, indptr[:-1][nonempty])
    return out


class EntityEncoder:
    """Smoothed target encoder for several credit kinds at once."""

    def __init__(self, kinds: tuple[str, ...] = ("actor", "director", "studio"), smoothing: float = 10.0,
                 inner_folds: int = 5, billing_decay: float = 0.85, random_state: int = 0):
        self.kinds = kinds
        self.smoothing = smoothing
        self.inner_folds = inner_folds
        self.billing_decay = billing_decay
        self.random_state = random_state

    def fit(self, credits: dict[str, Credits], y: np.ndarray) -> "EntityEncoder":
        y = np.asarray(y, dtype=np.float64)
        self.prior_ = float(y.mean())
        self.stats_ = {}
        for kind in self.kinds:
            binary = (credits[kind].matrix > 0).astype(np.float64)
            count = np.asarray(binary.sum(axis=0)).ravel()
            total = binary.T @ (y - self.prior_)
            seen = count > 0
            self.stats_[kind] = EntityStats(credits[kind].names[seen], count[seen],
                                            total[seen] / (count[seen] + self.smoothing))
        return self

    def transform(self, credits: dict[str, Credits]) -> pd.DataFrame:
        return pd.concat([self._aggregate(kind, credits[kind]) for kind in self.kinds], axis=1)

    def support(self) -> dict[str, EntityStats]:
        """Per kind, each fitted entity's film count and shrunken deviation."""
        return self.stats_

    def fit_transform(self, credits: dict[str, Credits], y: np.ndarray) -> pd.DataFrame:
        """Cross-fitted encodings for the rows being fitted; then fits on all of them for `transform`.

        The label-free counts (`n_known`, `popularity`) are not cross-fitted: each row sees every other fitted
        row, exactly as a new movie sees all of them in `transform`. (From an inner fold's 80% of the rows they
        ran a fifth lower in training than at prediction, and tree thresholds learned on one scale met the
        other.)"""
        y = np.asarray(y, dtype=np.float64)
        n = len(y)
        parts: list[pd.DataFrame] = []
        order: list[np.ndarray] = []
        for fit_pos, enc_pos in shuffled_folds(n, self.inner_folds, self.random_state):
            inner = EntityEncoder(self.kinds, self.smoothing, self.inner_folds, self.billing_decay)
            inner.fit({k: c.take(fit_pos) for k, c in credits.items()}, y[fit_pos])
            parts.append(inner.transform({k: c.take(enc_pos) for k, c in credits.items()}))
            order.append(enc_pos)
        out = pd.concat(parts, ignore_index=True)
        out.index = np.concatenate(order)
        out = out.sort_index().reset_index(drop=True)
        self.fit(credits, y)
        for kind in self.kinds:
            for name, values in self._counts(kind, credits[kind], exclude_self=True).items():
                out[f"{kind}_te_{name}"] = values
        return out

    def _counts(self, kind: str, credits: Credits, exclude_self: bool) -> dict[str, np.ndarray]:
        """Per row: how many of its names the fitted rows credit, and their mean log film count; with
        `exclude_self`, rows that were fitted do not count themselves."""
        stats = self.stats_[kind]
        m = credits.matrix
        count = np.r_[stats.count, 0.0][stats.index.get_indexer(credits.names)][m.indices] - float(exclude_self)
        n_credits = np.diff(m.indptr).astype(np.float64)
        n_known = np.add.reduceat(np.r_[(count > 0).astype(np.float64), 0.0], m.indptr[:-1]) * (n_credits > 0)
        popularity = row_reduce(np.add, np.log1p(count), m.indptr) / np.maximum(n_credits, 1)
        return {"n_known": n_known, "popularity": popularity}

    def _aggregate(self, kind: str, credits: Credits) -> pd.DataFrame:
        stats = self.stats_[kind]
        lookup = stats.index.get_indexer(credits.names)                 # -1 = unseen in fit rows
        # unseen names index the appended zero (this also holds when the fit rows credited no one)
        dev_by_col = np.r_[stats.deviation, 0.0][lookup]
        m = credits.matrix
        dev, billing = dev_by_col[m.indices], m.data
        weight = self.billing_decay ** (billing - 1.0)
        n_credits = np.diff(m.indptr).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            sums = np.add.reduceat(np.r_[dev, 0.0], m.indptr[:-1]) * (n_credits > 0)
            wsum = np.add.reduceat(np.r_[dev * weight, 0.0], m.indptr[:-1]) * (n_credits > 0)
            wtot = np.add.reduceat(np.r_[weight, 0.0], m.indptr[:-1]) * (n_credits > 0)
            mean = np.where(n_credits > 0, sums / n_credits, np.nan)
            wmean = np.where(n_credits > 0, wsum / wtot, np.nan)
        lead = np.full(m.shape[0], np.nan)
        is_lead = billing == 1
        lead[np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))[is_lead]] = dev[is_lead]
        features = {
            "mean": mean + self.prior_,
            "max": row_reduce(np.maximum, dev, m.indptr) + self.prior_,
            "min": row_reduce(np.minimum, dev, m.indptr) + self.prior_,
            "wmean": wmean + self.prior_,
            "lead": lead + self.prior_,
            **self._counts(kind, credits, exclude_self=False),
        }
        return pd.DataFrame({f"{kind}_te_{k}": v for k, v in features.items()})

    def save(self, path: Path) -> None:
        save_tables(path, {"prior": self.prior_}, {kind: pd.DataFrame(
            {"name": s.names, "count": s.count, "deviation": s.deviation}) for kind, s in self.stats_.items()})

    @classmethod
    def load(cls, path: Path, **params: object) -> "EntityEncoder":
        enc = cls(**params)
        scalars, tables = load_tables(path)
        enc.prior_ = scalars["prior"]
        enc.stats_ = {k: EntityStats(tables[k]["name"].to_numpy(object), tables[k]["count"].to_numpy(),
                                     tables[k]["deviation"].to_numpy()) for k in enc.kinds}
        return enc
