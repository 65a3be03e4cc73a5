"""Calibrating the interval model (pipeline/model/intervals.py) on the training rows' out-of-fold predictions,
and scoring intervals: coverage, width and the interval score per band of release years."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pipeline.config import Config
from pipeline.features.prepare import Labelled
from pipeline.model.intervals import IntervalModel, difficulty_table, level_name
from pipeline.training.oof import OOFResult


def coverage_table(y: np.ndarray, prediction: np.ndarray, b: pd.DataFrame, years: np.ndarray,
                   bands: list[tuple[str, np.ndarray]], levels: tuple[float, ...]) -> list[dict[str, Any]]:
    """Per band (label, row mask): movies, RMSE, mean error and, per level, coverage and median width."""
    rows = []
    for label, mask in bands:
        if not mask.any():
            continue
        err = prediction[mask] - y[mask]
        row: dict[str, Any] = {"band": label, "movies": int(mask.sum()), "rmse": float(np.sqrt(np.mean(err ** 2))),
                               "mean_error": float(err.mean())}
        for level in levels:
            name = level_name(level)
            lo, hi = b[f"lower_{name}"].to_numpy()[mask], b[f"upper_{name}"].to_numpy()[mask]
            row[f"coverage_{name}"] = float(np.mean((y[mask] >= lo) & (y[mask] <= hi)))
            row[f"median_width_{name}"] = float(np.median(hi - lo))
            row[f"interval_score_{name}"] = interval_score(y[mask], lo, hi, level)
        rows.append(row)
    return rows


def interval_score(y: np.ndarray, lower: np.ndarray, upper: np.ndarray, level: float) -> float:
    """The mean interval (Winkler) score: width plus 2/alpha times how far a rating falls outside. A proper
    scoring rule for central intervals (Gneiting and Raftery 2007): lower is better, and narrowing an
    interval below what the data support costs more than it saves."""
    alpha = 1.0 - level
    miss = np.maximum(lower - y, 0.0) + np.maximum(y - upper, 0.0)
    return float(np.mean(upper - lower + 2.0 / alpha * miss))


def year_bands(years: np.ndarray, edges: tuple[int, ...]) -> list[tuple[str, np.ndarray]]:
    """The holdout overall, then its years cut at `edges` (e.g. 2019, 2023 -> 2014-18, 2019-22, 2023+)."""
    first, last = int(years.min()), int(years.max())
    cuts = [first] + [e for e in edges if first < e <= last] + [last + 1]
    out = [("all", np.ones(len(years), dtype=bool))]
    for lo, hi in zip(cuts[:-1], cuts[1:]):
        label = f"{lo}+" if hi == last + 1 else f"{lo}" if hi - lo == 1 else f"{lo}-{(hi - 1) % 100:02d}"
        out.append((label, (years >= lo) & (years < hi)))
    return out if len(out) > 2 else out[:1]


def fit_intervals(cfg: Config, data: Labelled, results: dict[str, OOFResult], learners: list[str],
                  stack_cv: np.ndarray, stack_holdout: np.ndarray) -> tuple[IntervalModel, dict]:
    """The interval model, calibrated on the training rows' out-of-fold predictions of the shipped learners
    and the stack; its coverage cross-validated on those rows and observed on the holdout, per year band."""
    table = difficulty_table(data.train.tabular, {n: results[n].oof.to_numpy() for n in learners})
    model = IntervalModel(cfg.intervals, learners).fit(table, stack_cv, data.y, data.splits.fold)
    holdout_table = difficulty_table(data.holdout.tabular, {n: results[n].holdout.to_numpy() for n in learners})
    bounds = model.predict(holdout_table, stack_holdout, cfg.data.rating_range)
    years = data.holdout.tabular["year"].to_numpy()
    return model, {"levels": list(cfg.intervals.levels), "scale": cfg.intervals.scale,
                   "difficulty": list(cfg.intervals.difficulty),
                   "cv": model.cross_coverage(data.y, stack_cv),
                   "holdout": coverage_table(data.y_holdout, stack_holdout, bounds, years,
                                             year_bands(years, cfg.evaluation.year_bands), cfg.intervals.levels)}
