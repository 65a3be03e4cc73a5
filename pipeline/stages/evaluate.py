"""evaluate: every learner's and the stack's CV and holdout scores with bootstrap intervals, per year band
and for cold-start movies, the simple reference (one untuned CatBoost, pipeline/training/reference.py)
fitted on the same training films, the stack against each of them paired by film, and what the report
shows beside them; written to metrics.json."""
from __future__ import annotations

from typing import Any

import numpy as np

from pipeline.artifacts import REFERENCE, STACK, STACK_BAG
from pipeline.config import Config
from pipeline.data.load import MovieData
from pipeline.features.prepare import Labelled, Prepared
from pipeline.io import write_json
from pipeline.model.registry import REGISTRY
from pipeline.model.stacker import Stacker
from pipeline.model.target import EraTarget
from pipeline.runner import Folders
from pipeline.training.evaluate import band_scores, bootstrap_rmse, cold_start_mask, paired_difference, scores
from pipeline.training.evaluate import evaluate as score_all
from pipeline.training.intervals import year_bands
from pipeline.training.oof import OOFResult
from pipeline.training.reference import reference_predictions
from pipeline.training.tuning import TuningResult


def skip_reason(modality_status: str) -> str:
    """Why an enabled learner did not run: its modality's status, else its optional library."""
    if modality_status.startswith("skipped"):
        return modality_status
    return "skipped: its optional library is not installed"


def evaluate(cfg: Config, raw: MovieData, prep: Prepared, data: Labelled, names: list[str], results: dict[str, OOFResult],
             stacked: list[str], stacker: Stacker, stack_cv: np.ndarray, stack_holdout: np.ndarray,
             bag_holdout: np.ndarray, tuning: dict[str, TuningResult], interval_metrics: dict,
             folders: Folders) -> dict[str, Any]:
    splits = data.splits
    predictions = {n: (r.oof.to_numpy(), r.holdout.to_numpy()) for n, r in results.items()}
    predictions[STACK] = (stack_cv, stack_holdout)
    reference = np.clip(reference_predictions(raw, splits.train_ids, splits.holdout_ids, cfg.evaluation, cfg.seed),
                        *cfg.data.rating_range)
    e = cfg.evaluation
    cold = cold_start_mask(splits.holdout_ids, splits.train_ids, prep.data.credits)
    metrics = score_all(predictions, data.y, data.y_holdout, splits.fold, cold,
                        e.bootstrap, e.ci, cfg.seed)
    era = EraTarget(cfg.learners.target, cfg.learners.trend_after).fit(data.train.tabular["year"].to_numpy(), data.y)
    years = np.arange(int(prep.data.movies["date"].min()), int(prep.data.movies["date"].max()) + 1)
    bands = year_bands(data.holdout.tabular["year"].to_numpy(), e.year_bands)
    metrics |= {
        "shipped": {"recipe": "refit", "bag_holdout": scores(data.y_holdout, bag_holdout),
                    "refit_minus_bag": paired_difference(data.y_holdout, stack_holdout, bag_holdout,
                                                         e.bootstrap, e.ci, cfg.seed)},
        "reference": scores(data.y_holdout, reference) | dict(zip(("rmse_ci_low", "rmse_ci_high"), bootstrap_rmse(
            data.y_holdout, reference, e.bootstrap, e.ci, cfg.seed))),
        "stack_minus": {n: paired_difference(data.y_holdout, stack_holdout, p, e.bootstrap, e.ci, cfg.seed)
                        for n, p in [(n, r.holdout.to_numpy()) for n, r in results.items()] + [(REFERENCE, reference)]},
        "bands": {name: band_scores(data.y_holdout, pred, bands) for name, pred in
                  [(n, p[1]) for n, p in predictions.items()] + [(STACK_BAG, bag_holdout), (REFERENCE, reference)]},
        "modalities": prep.spec.modalities,
        "skipped_learners": {n: {"modality": REGISTRY[n].modality, "reason": skip_reason(
            prep.spec.modalities.get(REGISTRY[n].modality, ""))} for n in cfg.learners.enabled if n not in names},
        "text_vectors": {"encoders": prep.spec.encoders, "note": prep.spec.text_note()},
        "learners": {n: {"modality": REGISTRY[n].modality, "stacked": n in stacked,
                         "fit_seconds": round(results[n].seconds, 2),
                         "predict_seconds": round(results[n].predict_seconds, 4)} for n in results},
        "stacker": {"method": cfg.stacking.method, "weights": stacker.weights().to_dict(),
                    "intercept": getattr(stacker, "intercept_", None), "alpha": cfg.stacking.alpha},
        "split": {"cutoff_year": splits.cutoff_year, "n_train": len(splits.train_ids),
                  "n_holdout": len(splits.holdout_ids), "n_folds": splits.n_folds,
                  "n_cold_start": int(cold.sum())},
        "tuning": {n: r.to_dict() for n, r in tuning.items()},
        "era_target": era.to_dict(),
        "era_lines": {"years": years.tolist(), "level": era.level(years).tolist(),   # drawn by the report
                      "spread": era.spread(years).tolist()},
        "intervals": interval_metrics,
    }
    write_json(folders.staged(folders.art / "metrics.json"), metrics)
    return {"metrics": metrics}
