"""The meta-learner over base learners' out-of-fold columns (named after the learners).

`ridge` (default): a ridge blend with non-negative learner weights (a learner can only be
added, never subtracted, which keeps the blend interpretable and stable); raw features
such as `year` enter with free sign, which lets the blend extrapolate the rating drift that
trees cannot. `lgbm`: LightGBM on the OOF columns plus the raw features.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import lsq_linear

from pipeline.config import StackingConfig
from pipeline.features.frame import MovieFrame
from pipeline.io import read_json

SUM_WEIGHT = 1e3      # the sum-to-one row's weight per sqrt(row): the sum holds to ~1e-6
PRUNE_BELOW = 1e-9     # a learner weight this small changes no prediction by more than ~5e-9 rating points


class Stacker:
    def __init__(self, cfg: StackingConfig, learners: list[str], seed: int = 0):
        self.cfg, self.learners, self.seed = cfg, list(learners), seed

    @property
    def columns(self) -> list[str]:
        return self.learners + list(self.cfg.raw_features)

    def _matrix(self, table: pd.DataFrame) -> np.ndarray:
        return table[self.columns].to_numpy(np.float64)

    def recency_weights(self, table: pd.DataFrame) -> np.ndarray:
        """1 for the latest year's movies, halving every `recency_half_life` years before it (else all 1)."""
        if self.cfg.recency_half_life is None:
            return np.ones(len(table))
        years = table["year"].to_numpy(np.float64)
        return 0.5 ** ((years.max() - years) / self.cfg.recency_half_life)

    def fit(self, table: pd.DataFrame, y: np.ndarray) -> "Stacker":
        X, y, w = self._matrix(table), np.asarray(y, dtype=np.float64), self.recency_weights(table)
        if self.cfg.method == "lgbm":
            import lightgbm as lgb
            params = {"n_estimators": 300, "learning_rate": 0.03, "num_leaves": 7} | self.cfg.lgbm_params
            self.booster_ = lgb.LGBMRegressor(**params, random_state=self.seed, verbose=-1,
                                              deterministic=True).fit(pd.DataFrame(X, columns=self.columns), y,
                                                                      sample_weight=w).booster_
            return self
        mean_x, mean_y = np.average(X, axis=0, weights=w), np.average(y, weights=w)
        scale = np.sqrt(np.average((X - mean_x) ** 2, axis=0, weights=w)) + 1e-12
        root_w = np.sqrt(w / w.mean())[:, None]          # weighted least squares; the penalty keeps its scale
        Xs = root_w * (X - mean_x) / scale
        n_learners = len(self.learners)
        lower = np.r_[np.zeros(n_learners), np.full(X.shape[1] - n_learners, -np.inf)]
        rows, target = ([Xs, np.sqrt(self.cfg.alpha * len(y)) * np.eye(X.shape[1])],
                        [root_w[:, 0] * (y - mean_y), np.zeros(X.shape[1])])
        if self.cfg.sum_to_one:        # sum(coef_j / scale_j) over learners = 1, as a row weighted far above the data
            weight = SUM_WEIGHT * np.sqrt(len(y))
            rows.append(weight * np.r_[1.0 / scale[:n_learners], np.zeros(X.shape[1] - n_learners)][None, :])
            target.append(np.array([weight]))
        fit = lsq_linear(np.vstack(rows), np.concatenate(target), bounds=(lower, np.full(X.shape[1], np.inf)))
        self.coef_ = fit.x / scale
        self.intercept_ = float(mean_y - mean_x @ self.coef_)
        return self

    def predict(self, table: pd.DataFrame) -> np.ndarray:
        X = self._matrix(table)
        if self.cfg.method == "lgbm":
            return self.booster_.predict(pd.DataFrame(X, columns=self.columns))
        return X @ self.coef_ + self.intercept_

    def weights(self) -> pd.Series:
        """Blend weights (ridge) or gain importances (lgbm), named after the columns."""
        if self.cfg.method == "lgbm":
            return pd.Series(self.booster_.feature_importance("gain"), index=self.columns)
        return pd.Series(self.coef_, index=self.columns)

    def pruned(self) -> "Stacker":
        """The same blend without zero-weight learners: those need no shipped model (and no refit)."""
        if self.cfg.method == "lgbm":
            return self
        n = len(self.learners)
        keep = [i for i in range(n) if self.coef_[i] > PRUNE_BELOW] + list(range(n, len(self.coef_)))
        out = Stacker(self.cfg, [self.learners[i] for i in keep if i < n], self.seed)
        out.coef_, out.intercept_ = self.coef_[keep], self.intercept_
        return out

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        meta = {"method": self.cfg.method, "learners": self.learners, "raw_features": list(self.cfg.raw_features)}
        if self.cfg.method == "lgbm":
            self.booster_.save_model(str(folder / "stacker.txt"))
        else:
            meta |= {"coef": self.coef_.tolist(), "intercept": self.intercept_}
        (folder / "stacker.json").write_text(json.dumps(meta, indent=2))

    @classmethod
    def load(cls, folder: Path, cfg: StackingConfig) -> "Stacker":
        meta = read_json(folder / "stacker.json")
        cfg = cfg.model_copy(update={"method": meta["method"], "raw_features": tuple(meta["raw_features"])})
        stacker = cls(cfg, meta["learners"])
        if meta["method"] == "lgbm":
            import lightgbm as lgb
            stacker.booster_ = lgb.Booster(model_file=str(folder / "stacker.txt"))
        else:
            stacker.coef_, stacker.intercept_ = np.array(meta["coef"]), float(meta["intercept"])
        return stacker


def stack_table(frame: MovieFrame, predictions: dict[str, np.ndarray], raw_features: tuple[str, ...]) -> pd.DataFrame:
    """The stacker's input: one column of predictions per learner, then the raw features it reads."""
    table = pd.DataFrame(predictions)
    for col in raw_features:
        table[col] = frame.tabular[col].to_numpy(np.float64)
    return table
