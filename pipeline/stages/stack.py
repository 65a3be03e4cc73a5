"""stack: the stacker blended over the stacked learners' out-of-fold columns (its penalty tuned first when
tuning is on), the holdout scored through the shipped recipe, and the prediction intervals calibrated."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pipeline.artifacts import STACK, STACK_BAG
from pipeline.config import Config
from pipeline.data.load import MovieData
from pipeline.errors import InputError
from pipeline.features.prepare import Labelled
from pipeline.io import write_json, write_table
from pipeline.runner import Folders
from pipeline.training.intervals import fit_intervals
from pipeline.training.oof import OOFResult
from pipeline.training.refit import shipped_holdout
from pipeline.training.stacking import fit_stack, stack_inputs
from pipeline.training.tuning import TuningResult, tune_stacker, tuned_config


def stack(cfg: Config, raw: MovieData, data: Labelled, results: dict[str, OOFResult],
          tuning: dict[str, TuningResult], storage: Any, folders: Folders) -> dict[str, Any]:
    stacked = [n for n in cfg.learners.stacked if n in results]
    if not stacked:
        raise InputError("params.yaml", "parameter 'learners.stacked': none of its learners could run on this data")
    train_table, holdout_table = stack_inputs(data, results, stacked, cfg.stacking.raw_features)
    if cfg.tuning.enabled and cfg.tuning.stacker_trials > 0 and cfg.stacking.method == "ridge":
        tuning = tuning | {"stacker": tune_stacker(cfg, stacked, train_table, data.y, storage)}
        write_json(folders.art / "tuning" / "stacker.json", tuning["stacker"].to_dict())
        cfg = tuned_config(cfg, tuning)
    stacker, stack_cv, bag_holdout = fit_stack(cfg.stacking, stacked, train_table, holdout_table, data.y,
                                               data.splits, cfg.seed)
    stack_cv, bag_holdout = (np.clip(p, *cfg.data.rating_range) for p in (stack_cv, bag_holdout))
    shipped = stacker.pruned()
    # the holdout as `predict` meets it: the shipped recipe (each stacked learner refitted once, the
    # stacker's weights) fitted on the training rows; the fold models' mean is kept for comparison
    stack_holdout = shipped_holdout(raw, cfg, data.splits, shipped, folders.cache)
    for name, holdout_pred in ((STACK, stack_holdout), (STACK_BAG, bag_holdout)):
        write_table(folders.art / "oof" / f"{name}.parquet", OOFResult(
            name, pd.Series(stack_cv, index=data.train.ids), pd.Series(holdout_pred, index=data.holdout.ids),
            np.array([]), pd.DataFrame(), 0.0, 0.0).to_frame())
    intervals, interval_metrics = fit_intervals(cfg, data, results, shipped.learners, stack_cv, stack_holdout)
    return {"cfg": cfg, "tuning": tuning, "stacked": stacked, "stacker": stacker, "shipped": shipped,
            "stack_cv": stack_cv, "stack_holdout": stack_holdout, "bag_holdout": bag_holdout,
            "intervals": intervals, "interval_metrics": interval_metrics}
