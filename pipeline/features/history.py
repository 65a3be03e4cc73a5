"""Time-aware entity features: what was known about a movie's cast, director and studio *before* its year.

For every credited entity, only fitted movies released in strictly earlier years count: their
number (prior films), the years since the entity's first such film, and their shrunken mean
rating deviation, summarised per movie as the entity encoder does (mean, billing-weighted mean, best,
worst, top-billed). A movie's own rating, and those of its own year and later, never reach its
features, so the encoder needs no cross-fitting, and training rows see the same kind of
history a future movie will: its past. Lookups are one binary search per credit over a key
sorted once at fit (entity code, year): no loops, and no pass over the fitted table per call,
so one movie costs microseconds however large the catalogue.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.features.entities import Credits, EntityStats, row_reduce
from pipeline.io import load_tables, save_tables


def _long(credits: Credits, years: np.ndarray) -> pd.DataFrame:
    """One row per credit: the movie's position, entity name, billing and release year."""
    m = credits.matrix
    rows = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
    return pd.DataFrame({"row": rows, "name": credits.names[m.indices].astype(str), "billing": m.data,
                         "year": years[rows].astype(np.int64)})


YEAR_SPAN = 1 << 16    # (name code, year) as one sortable integer: code * YEAR_SPAN + year (years < 65536)


class HistoryEncoder:
    """Per kind, cumulative (by year) film counts and rating sums of entities in the fitted movies."""

    def __init__(self, kinds: tuple[str, ...] = ("actor", "director", "studio"), smoothing: float = 10.0,
                 billing_decay: float = 0.85):
        self.kinds = kinds
        self.smoothing = smoothing
        self.billing_decay = billing_decay

    def fit(self, credits: dict[str, Credits], years: np.ndarray, y: np.ndarray) -> "HistoryEncoder":
        y = np.asarray(y, dtype=np.float64)
        self.prior_ = float(y.mean())
        self.tables_ = {}
        for kind in self.kinds:
            long = _long(credits[kind], np.asarray(years))
            long["dev"] = y[long["row"].to_numpy()] - self.prior_
            per_year = (long.groupby(["name", "year"], sort=True)
                        .agg(n=("dev", "size"), dev=("dev", "sum")).reset_index())
            grouped = per_year.groupby("name", sort=False)
            per_year["cum_n"] = grouped["n"].cumsum().astype(np.float64)
            per_year["cum_dev"] = grouped["dev"].cumsum()
            per_year["first_year"] = grouped["year"].transform("min")
            self.tables_[kind] = per_year[["name", "year", "cum_n", "cum_dev", "first_year"]]
        return self._index()

    def _index(self) -> "HistoryEncoder":
        """Per kind, the fitted names and the sorted (name code, year) key the lookups search."""
        self.keys_ = {}
        for kind, table in self.tables_.items():
            names, codes = np.unique(table["name"].to_numpy(str), return_inverse=True)
            keys = codes.astype(np.int64) * YEAR_SPAN + table["year"].to_numpy(np.int64)
            order = np.argsort(keys, kind="stable")          # already sorted unless pandas orders names otherwise
            self.tables_[kind] = table.iloc[order].reset_index(drop=True)
            self.keys_[kind] = (pd.Index(names), keys[order])
        return self

    def transform(self, credits: dict[str, Credits], years: np.ndarray) -> pd.DataFrame:
        return pd.concat([self._aggregate(kind, credits[kind], np.asarray(years)) for kind in self.kinds], axis=1)

    def _aggregate(self, kind: str, credits: Credits, years: np.ndarray) -> pd.DataFrame:
        n_rows, m = credits.matrix.shape[0], credits.matrix
        rows = np.repeat(np.arange(n_rows), np.diff(m.indptr))
        names, keys = self.keys_[kind]
        codes = names.get_indexer(credits.names.astype(str))[m.indices]          # -1: never in a fitted movie
        # the last fitted (name, year) strictly before the movie's year: searchsorted finds the first key >= ours
        wanted = codes * YEAR_SPAN + years[rows].astype(np.int64)
        pos = np.searchsorted(keys, wanted, side="left") - 1
        hit = (codes >= 0) & (pos >= 0) & (keys[np.maximum(pos, 0)] // YEAR_SPAN == codes)
        table = self.tables_[kind]
        at = np.where(hit, pos, 0)

        def fitted(column: str) -> np.ndarray:
            return np.where(hit, table[column].to_numpy(np.float64)[at], 0.0)

        prior_n = fitted("cum_n")
        dev = fitted("cum_dev") / (prior_n + self.smoothing)
        career = np.where(prior_n > 0, years[rows] - fitted("first_year"), 0.0)
        weight = self.billing_decay ** (m.data - 1.0)
        count = np.bincount(rows, minlength=n_rows).astype(np.float64)
        wsum = np.bincount(rows, weights=weight, minlength=n_rows)
        has = count > 0

        def per_row(values: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
            total = np.bincount(rows, weights=values * (1.0 if w is None else w), minlength=n_rows)
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.where(has, total / (count if w is None else wsum), np.nan)

        lead = np.full(n_rows, np.nan)
        is_lead = m.data == 1
        lead[rows[is_lead]] = dev[is_lead]
        return pd.DataFrame({
            f"{kind}_hist_mean": per_row(dev) + self.prior_,
            f"{kind}_hist_wmean": per_row(dev, weight) + self.prior_,
            f"{kind}_hist_max": row_reduce(np.maximum, dev, m.indptr) + self.prior_,
            f"{kind}_hist_min": row_reduce(np.minimum, dev, m.indptr) + self.prior_,
            f"{kind}_hist_lead": lead + self.prior_,
            f"{kind}_hist_films_mean": per_row(prior_n),
            f"{kind}_hist_films_max": row_reduce(np.maximum, prior_n, m.indptr),
            f"{kind}_hist_career_mean": per_row(career),
        })

    def support(self) -> dict[str, EntityStats]:
        """Per kind, each fitted entity's film count and shrunken deviation over all its fitted films:
        what a movie released after the last fitted year is told."""
        out = {}
        for kind, table in self.tables_.items():
            last = table.groupby("name", sort=False).tail(1)          # rows are sorted by (name, year)
            films = last["cum_n"].to_numpy(np.float64)
            out[kind] = EntityStats(last["name"].to_numpy(object), films,
                                    last["cum_dev"].to_numpy(np.float64) / (films + self.smoothing))
        return out

    def save(self, path: Path) -> None:
        save_tables(path, {"prior": self.prior_}, self.tables_)

    @classmethod
    def load(cls, path: Path, **params: object) -> "HistoryEncoder":
        enc = cls(**params)
        scalars, tables = load_tables(path)
        enc.prior_, enc.tables_ = scalars["prior"], {k: tables[k] for k in enc.kinds}
        return enc._index()
