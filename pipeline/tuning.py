"""Optuna tuning of each layer on inner cross-validation of the training rows only.

Seeded TPE; the first trial of every study is the params.yaml defaults, so tuning can only
improve on them (on inner CV). Trials are pruned fold by fold (median rule), which works
for every learner. Studies live in persistent storage (a journal file under
artifacts/tuning/ by default, or any database URL) under a name fingerprinting the data,
the defaults and the protocol, and resume with `load_if_exists`: an interrupted run runs
only the trials its budget still lacks. The temporal holdout is never passed in here.
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold

from pipeline.config import Config, StackingConfig, TuningConfig
from pipeline.features.frame import MovieFrame
from pipeline.learners import REGISTRY, make_learner

log = logging.getLogger(__name__)
FINISHED = ("COMPLETE", "PRUNED")


@dataclass(frozen=True)
class TuningResult:
    name: str
    study_name: str
    best_params: dict[str, Any]        # defaults merged with the best trial's values
    best_value: float
    default_value: float | None        # inner-CV RMSE of the defaults (the first trial)
    n_complete: int
    n_pruned: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def storage_for(cfg: TuningConfig, folder: Path) -> Any:
    """A database URL from params.yaml, or a journal file that several local processes may share."""
    import optuna
    if cfg.storage:
        return cfg.storage
    from optuna.storages.journal import JournalFileBackend
    folder.mkdir(parents=True, exist_ok=True)
    return optuna.storages.JournalStorage(JournalFileBackend(str(folder / "journal.log")))


def fingerprint(*parts: Any) -> str:
    def digest(array: object) -> str:
        return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()
    blob = json.dumps(parts, sort_keys=True, default=digest)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def _inner_folds(n: int, cfg: TuningConfig, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """A different shuffle from the evaluation folds, so CV figures do not reuse the tuning split."""
    return list(KFold(cfg.inner_folds, shuffle=True, random_state=seed + 1).split(np.arange(n)))


def _optimise(study_name: str, objective: Callable, defaults: dict[str, Any], budget: int, cfg: TuningConfig,
              storage: Any, seed: int) -> Any:
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name=study_name, storage=storage, direction="minimize", load_if_exists=True,
                                sampler=optuna.samplers.TPESampler(seed=seed),
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=0))
    finished = [t for t in study.trials if t.state.name in FINISHED]
    if not study.trials:
        study.enqueue_trial(defaults, skip_if_exists=True)
    remaining = budget - len(finished)
    if remaining > 0:
        log.info("%s: %d trials to run (%d already finished)", study_name, remaining, len(finished))
        study.optimize(objective, n_trials=remaining, timeout=cfg.timeout_seconds, gc_after_trial=True,
                       callbacks=[_log_trial])
    return study


def _log_trial(study: Any, trial: Any) -> None:
    if trial.state.name == "COMPLETE":
        log.info("%s trial %d: inner-CV RMSE %.4f", study.study_name, trial.number, trial.value)
    else:
        log.info("%s trial %d: %s after %d folds", study.study_name, trial.number, trial.state.name.lower(),
                 len(trial.intermediate_values))


class _SpaceRecorder:
    """Stands in for a trial to read a search space's distributions (for the study fingerprint)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, tuple, dict]] = []

    def _record(self, kind: str, name: str, *args: Any, **kwargs: Any) -> Any:
        self.calls.append((kind, name, args, kwargs))
        return args[0][0] if kind == "categorical" else args[0]

    def suggest_int(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return self._record("int", name, *args, **kwargs)

    def suggest_float(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return self._record("float", name, *args, **kwargs)

    def suggest_categorical(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return self._record("categorical", name, *args, **kwargs)


def space_signature(space: Callable[[Any], dict[str, Any]]) -> list:
    recorder = _SpaceRecorder()
    space(recorder)
    return recorder.calls


def _result(name: str, study: Any, defaults: dict[str, Any], start: float) -> TuningResult:
    done = [t for t in study.trials if t.state.name == "COMPLETE"]
    first = min(done, key=lambda t: t.number) if done else None
    return TuningResult(name, study.study_name, defaults | study.best_params, float(study.best_value),
                        float(first.value) if first is not None and first.number == 0 else None, len(done),
                        sum(t.state.name == "PRUNED" for t in study.trials), round(time.perf_counter() - start, 2))


def tune_learner(name: str, cfg: Config, frame: MovieFrame, y: np.ndarray, storage: Any, budget: int) -> TuningResult:
    """Best hyperparameters of one base learner on inner CV of `frame` (training rows only)."""
    import optuna
    start = time.perf_counter()
    space = REGISTRY[name].space
    defaults = dict(cfg.learners.params.get(name, {}))
    folds = _inner_folds(len(frame), cfg.tuning, cfg.seed)

    def objective(trial: optuna.Trial) -> float:
        params = defaults | space(trial)
        trial_cfg = cfg.model_copy(update={"learners": cfg.learners.model_copy(
            update={"params": dict(cfg.learners.params) | {name: params}})})
        errors = []
        for step, (fit, val) in enumerate(folds):
            learner = make_learner(name, trial_cfg).fit(frame.take(fit), y[fit])
            errors.append(float(np.mean((learner.predict(frame.take(val)) - y[val]) ** 2)))
            trial.report(float(np.sqrt(np.mean(errors))), step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return float(np.sqrt(np.mean(errors)))

    key = fingerprint(name, frame.ids, y, defaults, space_signature(space), cfg.tuning.inner_folds, cfg.seed)
    study_name = f"{name}-{key}"
    study = _optimise(study_name, objective, defaults, budget, cfg.tuning, storage, cfg.seed)
    return _result(name, study, defaults, start)


def tune_stacker(cfg: Config, learners: list[str], table: pd.DataFrame, y: np.ndarray, storage: Any) -> TuningResult:
    """The ridge stacker's penalty, on inner CV over the out-of-fold table."""
    import optuna
    from pipeline.stacking import Stacker
    start = time.perf_counter()
    folds = _inner_folds(len(y), cfg.tuning, cfg.seed)
    defaults = {"alpha": cfg.stacking.alpha}

    def objective(trial: optuna.Trial) -> float:
        stacking: StackingConfig = cfg.stacking.model_copy(
            update={"alpha": trial.suggest_float("alpha", 1e-6, 10.0, log=True)})
        errors = [np.mean((Stacker(stacking, learners, cfg.seed).fit(table.iloc[f], y[f]).predict(table.iloc[v])
                           - y[v]) ** 2) for f, v in folds]
        return float(np.sqrt(np.mean(errors)))

    study_name = f"stacker-{fingerprint(learners, table.to_numpy(), y, defaults, cfg.tuning.inner_folds, cfg.seed)}"
    study = _optimise(study_name, objective, defaults, cfg.tuning.stacker_trials, cfg.tuning, storage, cfg.seed)
    return _result("stacker", study, defaults, start)


def tuned_config(cfg: Config, results: dict[str, TuningResult]) -> Config:
    """The config the learners stage uses: params.yaml defaults with every tuned learner's best."""
    params = dict(cfg.learners.params) | {n: r.best_params for n, r in results.items() if n in REGISTRY}
    update: dict[str, Any] = {"learners": cfg.learners.model_copy(update={"params": params})}
    if "stacker" in results:
        update["stacking"] = cfg.stacking.model_copy(update=results["stacker"].best_params)
    return cfg.model_copy(update=update)
