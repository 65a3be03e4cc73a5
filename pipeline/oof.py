"""Cross-fitting engine: every training row gets exactly one out-of-fold prediction.

All learners share the folds of `Splits`. Holdout predictions are the mean of the K fold
models (each saw only training rows), so the holdout costs no extra fit; the shipped model
is refitted on all labelled rows later (model.py).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.config import Config
from pipeline.features.frame import MovieFrame
from pipeline.learners import make_learner
from pipeline.splits import Splits

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OOFResult:
    """The contract between cross-validation and stacking, for one learner."""
    name: str
    oof: pd.Series               # index train movie_id; NaN only if a row was never predicted
    holdout: pd.Series           # index holdout movie_id
    fold_rmse: np.ndarray
    importance: pd.DataFrame     # feature x fold
    seconds: float

    def to_frame(self) -> pd.DataFrame:
        return pd.concat([
            pd.DataFrame({"movie_id": self.oof.index, "prediction": self.oof.to_numpy(), "part": "oof"}),
            pd.DataFrame({"movie_id": self.holdout.index, "prediction": self.holdout.to_numpy(), "part": "holdout"}),
        ], ignore_index=True)


def run_oof(name: str, cfg: Config, train: MovieFrame, y: np.ndarray, holdout: MovieFrame,
            splits: Splits, drop: frozenset[str] = frozenset()) -> OOFResult:
    start = time.perf_counter()
    oof = np.full(len(train), np.nan)
    holdout_preds, rmses, importances = [], [], {}
    for k, (fit_pos, pred_pos) in enumerate(splits.fold_positions()):
        learner = make_learner(name, cfg, drop).fit(train.take(fit_pos), y[fit_pos])
        oof[pred_pos] = learner.predict(train.take(pred_pos))
        holdout_preds.append(learner.predict(holdout))
        rmses.append(float(np.sqrt(np.mean((oof[pred_pos] - y[pred_pos]) ** 2))))
        importances[f"fold{k}"] = learner.head_.importance()
        log.info("%s fold %d/%d: rmse %.4f", name, k + 1, splits.n_folds, rmses[-1])
    return OOFResult(name, pd.Series(oof, index=train.ids, name=name),
                     pd.Series(np.mean(holdout_preds, axis=0), index=holdout.ids, name=name),
                     np.array(rmses), pd.DataFrame(importances), time.perf_counter() - start)
