"""Metrics, baselines' and learners' scores, bootstrap intervals and the cold-start slice."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import spearmanr


def scores(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    y, pred = np.asarray(y, dtype=np.float64), np.asarray(pred, dtype=np.float64)
    resid = pred - y
    total = np.sum((y - y.mean()) ** 2)
    rho = spearmanr(y, pred).statistic if np.ptp(pred) > 0 else 0.0
    return {"rmse": float(np.sqrt(np.mean(resid ** 2))), "mae": float(np.mean(np.abs(resid))),
            "r2": float(1 - np.sum(resid ** 2) / total) if total > 0 else 0.0, "spearman": float(rho), "n": int(len(y))}


def bootstrap_rmse(y: np.ndarray, pred: np.ndarray, n_boot: int, ci: float, seed: int) -> tuple[float, float]:
    """Percentile interval of RMSE over resampled rows (vectorised, seeded)."""
    idx = _resampled_rows(len(y), n_boot, seed)
    return _percentiles(_rmse_per_resample(y, pred, idx), ci)


def _resampled_rows(n: int, n_boot: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n))


def _rmse_per_resample(y: np.ndarray, pred: np.ndarray, idx: np.ndarray) -> np.ndarray:
    sq = (np.asarray(pred, dtype=np.float64) - np.asarray(y, dtype=np.float64)) ** 2
    return np.sqrt(sq[idx].mean(axis=1))


def _percentiles(values: np.ndarray, ci: float) -> tuple[float, float]:
    tail = (1 - ci) / 2
    return float(np.quantile(values, tail)), float(np.quantile(values, 1 - tail))


def cv_scores(y: np.ndarray, oof: np.ndarray, fold: np.ndarray) -> dict[str, float]:
    per_fold = [scores(y[fold == k], oof[fold == k]) for k in np.unique(fold)]
    rmse = np.array([s["rmse"] for s in per_fold])
    return {"rmse_mean": float(rmse.mean()), "rmse_sd": float(rmse.std(ddof=1)),
            "mae_mean": float(np.mean([s["mae"] for s in per_fold])),
            "r2_mean": float(np.mean([s["r2"] for s in per_fold])),
            "spearman_mean": float(np.mean([s["spearman"] for s in per_fold]))}


def cold_start_mask(holdout_ids: np.ndarray, train_ids: np.ndarray, credits: dict[str, pd.DataFrame]) -> np.ndarray:
    """Holdout movies whose director(s) and lead actor never appear in a training movie (none counts as unseen)."""
    def unseen(kind: str, lead_only: bool) -> np.ndarray:
        links = credits[kind]
        if lead_only:
            links = links[links["billing"] == 1]
        known = set(links.loc[links["movie_id"].isin(train_ids), "name"])
        hits = links[links["movie_id"].isin(holdout_ids) & links["name"].isin(known)]["movie_id"]
        return ~np.isin(holdout_ids, hits.to_numpy())
    return unseen("director", lead_only=False) & unseen("actor", lead_only=True)


def evaluate(predictions: dict[str, tuple[np.ndarray, np.ndarray]], y_train: np.ndarray, y_holdout: np.ndarray,
             fold: np.ndarray, cold: np.ndarray, n_boot: int, ci: float, seed: int) -> dict[str, dict]:
    """`predictions`: name -> (oof on train rows, holdout). Returns metrics.json's holdout/cv/slices parts."""
    holdout, cv, cold_start = {}, {}, {}
    for name, (oof, pred) in predictions.items():
        lo, hi = bootstrap_rmse(y_holdout, pred, n_boot, ci, seed)
        holdout[name] = scores(y_holdout, pred) | {"rmse_ci_low": lo, "rmse_ci_high": hi}
        cv[name] = cv_scores(y_train, oof, fold)
        if cold.any():
            cold_start[name] = scores(y_holdout[cold], pred[cold])
    return {"holdout": holdout, "cv": cv, "slices": {"cold_start": cold_start}}


def paired_difference(y: np.ndarray, a: np.ndarray, b: np.ndarray, n_boot: int, ci: float,
                      seed: int) -> dict[str, float]:
    """RMSE(a) - RMSE(b) on the same rows, with its percentile interval over rows resampled in pairs."""
    idx = _resampled_rows(len(y), n_boot, seed)
    low, high = _percentiles(_rmse_per_resample(y, a, idx) - _rmse_per_resample(y, b, idx), ci)
    return {"difference": scores(y, a)["rmse"] - scores(y, b)["rmse"], "ci_low": low, "ci_high": high}


def band_scores(y: np.ndarray, pred: np.ndarray, bands: list[tuple[str, np.ndarray]]) -> list[dict]:
    """RMSE and mean error (prediction - rating: the bias) per band of release years."""
    return [{"band": label, "n": int(mask.sum()), "rmse": float(np.sqrt(np.mean((pred[mask] - y[mask]) ** 2))),
             "mean_error": float(np.mean(pred[mask] - y[mask]))} for label, mask in bands if mask.any()]
