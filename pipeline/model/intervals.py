"""Prediction intervals: normalised split-conformal regression on out-of-fold residuals (crepes).

A movie's interval is prediction ± q_level × σ(movie), where the nonconformity score |y − ŷ| / σ of
the training rows' out-of-fold predictions calibrates q_level (crepes' `ConformalRegressor`). σ says
how hard a movie is:

    σ = spread(year) × exp(g(difficulty features))

- `spread(year)`: the era's spread line (pipeline/model/target.py) fitted on the calibration rows. Ratings
  spread more every decade since the 1970s and the movies to predict come after the training years;
  the hinge line continues that growth past them, which residuals alone cannot (plain residuals cover
  63% of the 2014+ holdout at the 80% level).
- `g`: a linear model of log(|residual| / spread + `intervals.log_floor`) on `intervals.difficulty`:
  `disagreement` (sd of the shipped learners' predictions, in spreads), `extremity` (distance of the
  prediction from the era's level, in spreads) and label-free facts of the tabular frame (e.g.
  `n_director`: no known director is harder). Linear, so it stays tame on movies unlike any seen.

No row's σ is fitted on its own residual: g is cross-fitted on the CV folds for the calibration
scores, then refitted on all calibration rows for new movies. Holdout rows are never seen.

Why not MAPIE: its regressors wrap one scikit-learn estimator they fit or refit themselves; the stack
is several learners blended on shared out-of-fold columns, so what fits is crepes' residual-level API.
crepes' own `DifficultyEstimator` (k nearest neighbours) cannot extrapolate the growing spread to
years past the training data, hence the era line and a linear g.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pipeline.config import IntervalConfig
from pipeline.errors import InputError
from pipeline.model.target import MIN_SPREAD_SHARE, EraTarget, fit_hinge, hinge

DERIVED = ("disagreement", "extremity", "position")


def level_name(level: float) -> str:
    """0.8 -> "80", 0.975 -> "97.5": the suffix of the interval's columns."""
    return f"{100 * level:g}"


def interval_columns(levels: tuple[float, ...]) -> list[str]:
    return [f"{side}_{level_name(lv)}" for lv in levels for side in ("lower", "upper")]


def difficulty_table(tabular: pd.DataFrame, learner_predictions: dict[str, np.ndarray]) -> pd.DataFrame:
    """What sigma reads: the tabular facts (release year included) and each learner's prediction."""
    return tabular.reset_index(drop=True).assign(**learner_predictions)


def check_difficulty(names: tuple[str, ...], tabular: pd.DataFrame) -> None:
    """Each difficulty feature is derived here or a numeric column of the tabular frame."""
    known = list(DERIVED) + [c for c in tabular.columns if pd.api.types.is_numeric_dtype(tabular[c])]
    for name in names:
        if name not in known:
            raise InputError("params.yaml", f"parameter 'intervals.difficulty': unknown feature '{name}'; "
                             f"known: {', '.join(known)}")


class IntervalModel:
    """σ's model and the calibration scores; `predict` gives the bounds at `cfg.levels`."""

    def __init__(self, cfg: IntervalConfig, learners: list[str]):
        self.cfg, self.learners = cfg, list(learners)

    def _design(self, table: pd.DataFrame, prediction: np.ndarray, era: EraTarget) -> np.ndarray:
        """The difficulty features: `table` holds the learners' predictions and the tabular columns; `era`
        (fitted on the same rows as the scale) puts the derived ones in units of the era's spread."""
        years = table["year"].to_numpy(np.float64)
        spread = era.spread(years)
        columns = []
        for name in self.cfg.difficulty:
            if name == "disagreement":
                preds = table[self.learners].to_numpy(np.float64)
                columns.append(preds.std(axis=1) / spread if preds.shape[1] > 1 else np.zeros(len(table)))
            elif name in ("extremity", "position"):
                position = (prediction - era.level(years)) / spread
                columns.append(np.abs(position) if name == "extremity" else position)
            else:
                columns.append(table[name].to_numpy(np.float64))
        return np.column_stack(columns) if columns else np.zeros((len(table), 0))

    def _fit_scale(self, table: pd.DataFrame, prediction: np.ndarray, y: np.ndarray) -> dict[str, Any]:
        """The year line of the scale (residuals' or ratings' spread) and g on top of it, fitted on these rows."""
        years, abs_residual = table["year"].to_numpy(np.float64), np.abs(y - prediction)
        era = EraTarget("level_spread").fit(years, y)
        if self.cfg.scale == "residual_line":
            line, floor = fit_hinge(years, abs_residual), MIN_SPREAD_SHARE * float(abs_residual.mean()) + 1e-9
        else:
            line, floor = era.spread_, era.floor_
        X = self._design(table, prediction, era)
        target = np.log(abs_residual / np.maximum(hinge(line, years), floor) + self.cfg.log_floor)
        coef, intercept = np.zeros(X.shape[1]), 0.0
        if X.shape[1]:
            from sklearn.linear_model import LinearRegression
            g = LinearRegression().fit(X, target)
            coef, intercept = np.asarray(g.coef_, dtype=np.float64), float(g.intercept_)
        return {"line": np.asarray(line).tolist(), "floor": floor, "coef": coef.tolist(), "intercept": intercept,
                "era": era.to_dict()}

    def _sigma(self, scale: dict[str, Any], table: pd.DataFrame, prediction: np.ndarray) -> np.ndarray:
        years = table["year"].to_numpy(np.float64)
        X = self._design(table, prediction, EraTarget.from_dict(scale["era"]))
        base = np.maximum(hinge(np.asarray(scale["line"]), years), scale["floor"])
        return base * np.exp(scale["intercept"] + X @ np.asarray(scale["coef"], dtype=np.float64))

    def fit(self, table: pd.DataFrame, prediction: np.ndarray, y: np.ndarray, folds: np.ndarray) -> "IntervalModel":
        """`table`: per calibration row, `year`, the learners' out-of-fold predictions and the tabular facts;
        `prediction`: the stack's out-of-fold prediction; `folds`: the CV fold of each row. A row's sigma
        comes from a scale fitted on the other folds only."""
        table = table.reset_index(drop=True)
        y, prediction = np.asarray(y, dtype=np.float64), np.asarray(prediction, dtype=np.float64)
        self.oof_sigma_ = np.empty(len(y))
        for k in np.unique(folds):
            fit = folds != k
            scale = self._fit_scale(table[fit], prediction[fit], y[fit])
            self.oof_sigma_[~fit] = self._sigma(scale, table[~fit], prediction[~fit])
        self.scale_ = self._fit_scale(table, prediction, y)
        self.scores_ = np.abs(y - prediction) / self.oof_sigma_
        self.folds_ = np.asarray(folds)
        return self

    def sigma(self, table: pd.DataFrame, prediction: np.ndarray) -> np.ndarray:
        return self._sigma(self.scale_, table, np.asarray(prediction, dtype=np.float64))

    def predict(self, table: pd.DataFrame, prediction: np.ndarray, rating_range: tuple[float, float]) -> pd.DataFrame:
        """`lower_<level>`, `upper_<level>` per movie, clipped to the rating scale."""
        return bounds(self.scores_, np.asarray(prediction, dtype=np.float64), self.sigma(table, prediction),
                      self.cfg.levels, rating_range)

    def cross_coverage(self, y: np.ndarray, prediction: np.ndarray) -> dict[str, float]:
        """Coverage on the calibration rows, each fold's bounds calibrated on the other folds' scores only
        (cross-conformal): what the CV column of the coverage table shows."""
        inside = {level_name(lv): 0 for lv in self.cfg.levels}
        for k in np.unique(self.folds_):
            rows = self.folds_ == k
            b = bounds(self.scores_[~rows], prediction[rows], self.oof_sigma_[rows], self.cfg.levels,
                       (-np.inf, np.inf))
            for lv in self.cfg.levels:
                name = level_name(lv)
                inside[name] += int(np.sum((y[rows] >= b[f"lower_{name}"]) & (y[rows] <= b[f"upper_{name}"])))
        return {name: count / len(y) for name, count in inside.items()}

    def to_dict(self) -> dict[str, Any]:
        return {"learners": self.learners, "scale": self.cfg.scale, "difficulty": list(self.cfg.difficulty),
                "fitted": self.scale_}

    def arrays(self) -> dict[str, np.ndarray]:
        return {"scores": self.scores_, "folds": self.folds_, "oof_sigma": self.oof_sigma_}

    @classmethod
    def from_parts(cls, cfg: IntervalConfig, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> "IntervalModel":
        cfg = cfg.model_copy(update={"scale": meta["scale"], "difficulty": tuple(meta["difficulty"])})
        model = cls(cfg, meta["learners"])
        model.scale_ = meta["fitted"]
        model.scores_, model.folds_, model.oof_sigma_ = arrays["scores"], arrays["folds"], arrays["oof_sigma"]
        return model


def bounds(scores: np.ndarray, prediction: np.ndarray, sigma: np.ndarray, levels: tuple[float, ...],
           rating_range: tuple[float, float]) -> pd.DataFrame:
    from crepes import ConformalRegressor
    conformal = ConformalRegressor().fit(residuals=scores, sigmas=np.ones(len(scores)))
    out = {}
    for level in levels:
        lo_hi = conformal.predict_int(prediction, sigmas=sigma, confidence=level,
                                      y_min=rating_range[0], y_max=rating_range[1])
        out[f"lower_{level_name(level)}"], out[f"upper_{level_name(level)}"] = lo_hi[:, 0], lo_hi[:, 1]
    return pd.DataFrame(out)
