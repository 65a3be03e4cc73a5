"""Cross-fitting engine: every training row gets exactly one out-of-fold prediction.

All learners share the folds of `Splits`. Holdout predictions are the mean of the K fold
models (each saw only training rows), so the holdout costs no extra fit; the shipped model
is refitted on all labelled rows later (model.py).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.config import Config
from pipeline.data.splits import Splits
from pipeline.features.frame import MovieFrame
from pipeline.io import read_json, write_json, write_table
from pipeline.model.registry import BlockMemo, make_learner
from pipeline.progress import track

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OOFResult:
    """The contract between cross-validation and stacking, for one learner."""
    name: str
    oof: pd.Series               # index train movie_id; NaN only if a row was never predicted
    holdout: pd.Series           # index holdout movie_id
    fold_rmse: np.ndarray
    importance: pd.DataFrame     # feature x fold
    seconds: float               # the K fits and predictions
    predict_seconds: float       # one fold model predicting the holdout (mean over folds)

    def save(self, art: Path) -> list[Path]:
        """In the artifacts folder `art`: `oof/<name>.parquet` (predictions, read by the report), `oof/<name>.json`
        (fold scores, time) and `importance/<name>_folds.parquet` (per-fold importances, beside the averaged
        `importance/<name>.csv`): enough to load this result back instead of recomputing it."""
        paths = [art / "oof" / f"{self.name}.parquet", art / "oof" / f"{self.name}.json",
                 art / "importance" / f"{self.name}_folds.parquet"]
        write_table(paths[0], self.to_frame())
        write_json(paths[1], {"fold_rmse": self.fold_rmse.tolist(), "seconds": self.seconds,
                              "predict_seconds": self.predict_seconds})
        write_table(paths[2], self.importance.rename_axis("feature").reset_index())
        return paths

    @classmethod
    def load(cls, art: Path, name: str) -> "OOFResult":
        table = pd.read_parquet(art / "oof" / f"{name}.parquet")
        meta = read_json(art / "oof" / f"{name}.json")
        series = {part: rows.set_index("movie_id")["prediction"].rename(name).rename_axis(None)
                  for part, rows in table.groupby("part")}
        importance = pd.read_parquet(art / "importance" / f"{name}_folds.parquet").set_index("feature")
        importance = importance.rename_axis(None)
        return cls(name, series["oof"], series["holdout"], np.array(meta["fold_rmse"]), importance, meta["seconds"],
                   meta["predict_seconds"])

    def to_frame(self) -> pd.DataFrame:
        return pd.concat([
            pd.DataFrame({"movie_id": self.oof.index, "prediction": self.oof.to_numpy(), "part": "oof"}),
            pd.DataFrame({"movie_id": self.holdout.index, "prediction": self.holdout.to_numpy(), "part": "holdout"}),
        ], ignore_index=True)


def run_oof(name: str, cfg: Config, train: MovieFrame, y: np.ndarray, holdout: MovieFrame,
            splits: Splits, drop: frozenset[str] = frozenset(), memos: list[BlockMemo] | None = None) -> OOFResult:
    """`memos`: one per fold, shared by the learners cross-fitted in turn on these folds (a block two of them
    read is fitted, and transforms the fold's predicted rows, once). The holdout is predicted without it, so
    the time a learner takes to predict it is its own."""
    start = time.perf_counter()
    oof = np.full(len(train), np.nan)
    holdout_preds, rmses, importances, predict_seconds = [], [], {}, []
    for k, (fit_pos, pred_pos) in enumerate(track(splits.fold_positions(), f"{name} folds", announce=False)):
        memo = memos[k] if memos is not None else BlockMemo([], set())
        learner = make_learner(name, cfg, drop).fit(train.take(fit_pos), y[fit_pos], memo.fits)
        rows = train.take(pred_pos)
        oof[pred_pos] = learner.predict(rows, learner.features(rows, memo.rows("predicted")))
        tic = time.perf_counter()
        holdout_preds.append(learner.predict(holdout))
        predict_seconds.append(time.perf_counter() - tic)
        memo.done(learner)
        rmses.append(float(np.sqrt(np.mean((oof[pred_pos] - y[pred_pos]) ** 2))))
        importances[f"fold{k}"] = learner.head_.importance()
        log.info("%s fold %d/%d: rmse %.4f", name, k + 1, splits.n_folds, rmses[-1])
    return OOFResult(name, pd.Series(oof, index=train.ids, name=name),
                     pd.Series(np.mean(holdout_preds, axis=0), index=holdout.ids, name=name),
                     np.array(rmses), pd.DataFrame(importances), time.perf_counter() - start,
                     float(np.mean(predict_seconds)))
