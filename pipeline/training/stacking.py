"""Fitting the stacker (pipeline/model/stacker.py) on the learners' out-of-fold columns, and its own
out-of-fold predictions from an outer cross-validation over them."""
from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.config import StackingConfig
from pipeline.data.splits import Splits
from pipeline.features.prepare import Labelled
from pipeline.model.stacker import Stacker, stack_table
from pipeline.training.oof import OOFResult


def stack_oof(cfg: StackingConfig, learners: list[str], table: pd.DataFrame, y: np.ndarray,
              splits: Splits, seed: int) -> np.ndarray:
    """The stacker's own out-of-fold predictions: an outer CV over the OOF table, same folds."""
    out = np.full(len(y), np.nan)
    for fit_pos, pred_pos in splits.fold_positions():
        stacker = Stacker(cfg, learners, seed).fit(table.iloc[fit_pos], y[fit_pos])
        out[pred_pos] = stacker.predict(table.iloc[pred_pos])
    return out


def fit_stack(cfg: StackingConfig, learners: list[str], train: pd.DataFrame, holdout: pd.DataFrame, y: np.ndarray,
              splits: Splits, seed: int) -> tuple[Stacker, np.ndarray, np.ndarray]:
    """The stacker fitted on all OOF rows, its own outer-CV predictions, and its holdout predictions.

    `train`/`holdout`: the learners' OOF/holdout columns plus the raw features, one row per movie.
    """
    stacker = Stacker(cfg, learners, seed).fit(train, y)
    return stacker, stack_oof(cfg, learners, train, y, splits, seed), stacker.predict(holdout)


def stack_inputs(data: Labelled, results: dict[str, OOFResult], learners: list[str],
                 raw_features: tuple[str, ...]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The stacker's training table (the learners' out-of-fold predictions) and holdout table (their fold
    models' mean)."""
    return (stack_table(data.train, {n: results[n].oof.to_numpy() for n in learners}, raw_features),
            stack_table(data.holdout, {n: results[n].holdout.to_numpy() for n in learners}, raw_features))
