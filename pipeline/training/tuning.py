"""Optuna tuning of each layer (base learners, then the stacker) on inner cross-validation of the
training rows only: the objectives and the study names. The temporal holdout is never passed in here.
Trials are planned and run by the scheduler (pipeline/training/scheduler.py).
"""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
from sklearn.base import clone

from pipeline.config import Config, TuningConfig
from pipeline.data.splits import shuffled_folds
from pipeline.features.frame import MovieFrame
from pipeline.features.prepare import Labelled
from pipeline.io import fingerprint, write_json
from pipeline.model.registry import REGISTRY, available, make_learner
from pipeline.model.stacker import Stacker
from pipeline.progress import track
from pipeline.training.scheduler import StudyPlan, TuningResult, drive, protocol, result, space_signature

log = logging.getLogger(__name__)


def study_key(*parts: Any) -> str:
    """A study's name suffix: the project's one fingerprint (pipeline/io.py), shortened."""
    return fingerprint(*parts)[:12]


def _inner_folds(n: int, cfg: TuningConfig, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """A different shuffle from the evaluation folds, so CV figures do not reuse the tuning split."""
    return shuffled_folds(n, cfg.inner_folds, seed + 1)


# ----------------------------------------------------------------------------- the layers

def learner_plan(name: str, cfg: Config, frame: MovieFrame, y: np.ndarray) -> StudyPlan:
    """The study of one base learner on inner CV of `frame` (training rows only)."""
    space = REGISTRY[name].space
    defaults = dict(cfg.learners.params.get(name, {}))
    folds = _inner_folds(len(frame), cfg.tuning, cfg.seed)
    base = make_learner(name, cfg)          # with the params.yaml defaults; each trial overrides its space
    # per inner fold, taken once: its rows, and the feature blocks (and their features of the validation
    # rows) that a trial does not change
    inner = [(frame.take(fit), y[fit], frame.take(val), y[val], {}, {}) for fit, val in folds]

    def objective(trial: optuna.Trial) -> float:
        params = space(trial)
        errors = []
        for step, (fit_rows, fit_y, val_rows, val_y, fitted, features) in enumerate(
                track(inner, f"{name} trial {trial.number} folds", announce=False)):
            learner = clone(base).set_params(**params).fit(fit_rows, fit_y, fitted)
            predicted = learner.predict(val_rows, learner.features(val_rows, features))
            errors.append(float(np.mean((predicted - val_y) ** 2)))
            log.info("%s trial %d fold %d/%d: inner-CV RMSE %.4f", name, trial.number, step + 1, len(folds),
                      np.sqrt(errors[-1]))
            trial.report(float(np.sqrt(np.mean(errors))), step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return float(np.sqrt(np.mean(errors)))

    key = study_key(name, frame.ids, y, cfg.model_inputs(), defaults, space_signature(space),
                      protocol(cfg.tuning, cfg.seed))
    return StudyPlan(f"{name}-{key}", space, defaults, objective)


def tune_learner(name: str, cfg: Config, frame: MovieFrame, y: np.ndarray, storage: Any, budget: int) -> TuningResult:
    """Best hyperparameters of one base learner on inner CV of `frame` (training rows only)."""
    start = time.perf_counter()
    plan = learner_plan(name, cfg, frame, y)
    return result(name, drive(plan, budget, cfg.tuning, storage, cfg.seed), plan.defaults, start)


def stacker_space(trial: Any) -> dict[str, Any]:
    """The ridge stacker's search space: its penalty."""
    return {"alpha": trial.suggest_float("alpha", 1e-6, 10.0, log=True)}


def tune_stacker(cfg: Config, learners: list[str], table: pd.DataFrame, y: np.ndarray, storage: Any) -> TuningResult:
    """The ridge stacker's penalty, on inner CV over the out-of-fold table."""

    start = time.perf_counter()
    folds = _inner_folds(len(y), cfg.tuning, cfg.seed)
    defaults = {"alpha": cfg.stacking.alpha}

    def objective(trial: optuna.Trial) -> float:
        stacking = cfg.stacking.model_copy(update=stacker_space(trial))
        errors = [np.mean((Stacker(stacking, learners, cfg.seed).fit(table.iloc[f], y[f]).predict(table.iloc[v])
                           - y[v]) ** 2) for f, v in folds]
        return float(np.sqrt(np.mean(errors)))

    key = study_key(learners, table.to_numpy(), y, defaults, space_signature(stacker_space),
                      protocol(cfg.tuning, cfg.seed))      # a new search range starts a new study
    plan = StudyPlan(f"stacker-{key}", stacker_space, defaults, objective)
    study = drive(plan, cfg.tuning.stacker_trials, cfg.tuning, storage, cfg.seed)
    return result("stacker", study, defaults, start)


def tuned_config(cfg: Config, results: dict[str, TuningResult]) -> Config:
    """The config the learners stage uses: params.yaml defaults with every tuned learner's best."""
    params = dict(cfg.learners.params) | {n: r.best_params for n, r in results.items() if n in REGISTRY}
    update: dict[str, Any] = {"learners": cfg.learners.model_copy(update={"params": params})}
    if "stacker" in results:
        update["stacking"] = cfg.stacking.model_copy(update=results["stacker"].best_params)
    return cfg.model_copy(update=update)


def tuned_learners(cfg: Config, data: Labelled) -> list[str]:
    """The enabled learners that can run on this data and have a trial budget."""
    return [n for n in cfg.learners.enabled if available(n, cfg, data.train) and cfg.tuning.trials.get(n, 0) > 0]


def tune_learners(cfg: Config, data: Labelled, storage: Any, folder: Path) -> dict[str, TuningResult]:
    """Each base learner with a trial budget, on inner CV of the training rows; each result in `folder`."""
    results = {}
    for name in track(tuned_learners(cfg, data), "tuning"):
        results[name] = tune_learner(name, cfg, data.train, data.y, storage, cfg.tuning.trials[name])
        write_json(folder / f"{name}.json", results[name].to_dict())
    return results
