"""Optuna tuning of each layer on inner cross-validation of the training rows only.

Trials run in planned rounds, so a study gives the same result whether one process or many
evaluate it. The driver (the `tune` stage of a run) plans each round before any of its trials
runs: the first round is the params.yaml defaults plus seeded draws, later ones are asked of a
TPE sampler seeded by the round and fed only the earlier rounds' finished trials. Every planned
trial waits in the storage until one process claims it (an atomic WAITING -> RUNNING change),
so it is evaluated exactly once, by the driver or by any `python -m pipeline tune-worker`
sharing the storage. Pruning compares a trial fold by fold with the median of the earlier rounds'
completed trials, never with trials still running beside it.

Studies live in persistent storage (a journal file under artifacts/tuning/ by default, or a
database URL such as postgresql://... for workers on several machines) under a name that
fingerprints the data, the defaults and the protocol. An interrupted run resumes: trials left
RUNNING by a dead process are re-queued with the same parameters. The temporal holdout is never
passed in here.
"""
from __future__ import annotations

import logging
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from pipeline.config import Config, TuningConfig
from pipeline.data.splits import shuffled_folds
from pipeline.errors import InputError, first_line
from pipeline.features.frame import MovieFrame
from pipeline.learners.registry import REGISTRY, make_learner
from pipeline.progress import track
from pipeline.training.checkpoint import fingerprint as checkpoint_fingerprint

log = logging.getLogger(__name__)
FINISHED = ("COMPLETE", "PRUNED")
ROUND, SLOT, WORKER = "round", "slot", "worker"      # trial attributes
PLAN, CLOSED = "plan of round ", "closed"            # study attributes
PRUNE_AFTER = 3        # completed earlier-round trials a pruning decision needs
POLL_SECONDS = 0.5     # how often a process waiting on others looks at the storage again
Space = Callable[[Any], dict[str, Any]]


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


@dataclass(frozen=True)
class StudyPlan:
    """What the driver and every worker of one study must agree on."""
    name: str                          # fingerprints data, defaults, space and protocol
    space: Space
    defaults: dict[str, Any]
    objective: Callable[[Any], float]  # inner-CV RMSE of a trial; reports each fold, may raise TrialPruned


def storage_for(cfg: TuningConfig, folder: Path) -> Any:
    """The storage of params.yaml (a database URL), or a journal file that local processes may share."""
    import optuna
    if cfg.storage:
        return _database(cfg.storage)
    from optuna.storages.journal import JournalFileBackend
    folder.mkdir(parents=True, exist_ok=True)
    return optuna.storages.JournalStorage(JournalFileBackend(str(folder / "journal.log")))


def _database(url: str, attempts: int = 5) -> Any:
    """The RDB storage at `url`. Processes meeting an empty database together race to create its
    tables; the losers wait and find them made."""
    import optuna
    import sqlalchemy
    for attempt in range(attempts):
        try:
            return optuna.storages.get_storage(url)
        except (sqlalchemy.exc.SQLAlchemyError, ImportError) as exc:
            racing = (isinstance(exc, (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError))
                      or "deadlock" in str(exc))
            if racing and attempt < attempts - 1:
                time.sleep(1.0 + attempt)
                continue
            if racing:
                raise
            try:
                shown = sqlalchemy.engine.make_url(url).render_as_string(hide_password=True)
            except sqlalchemy.exc.ArgumentError:
                shown = "it"            # not even a URL
            reason = first_line(exc)
            if isinstance(exc, ImportError) or "No module named" in reason:
                reason += " (PostgreSQL: pip install -e .[postgres], URL postgresql+psycopg://...)"
            raise InputError("params.yaml", f"parameter 'tuning.storage': cannot open {shown}: {reason}") from None


def fingerprint(*parts: Any) -> str:
    """A study's name suffix: the project's one fingerprint (pipeline/training/checkpoint.py), shortened."""
    return checkpoint_fingerprint(*parts)[:12]


def _inner_folds(n: int, cfg: TuningConfig, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """A different shuffle from the evaluation folds, so CV figures do not reuse the tuning split."""
    return shuffled_folds(n, cfg.inner_folds, seed + 1)


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


def space_signature(space: Space) -> list:
    recorder = _SpaceRecorder()
    space(recorder)
    return recorder.calls


def _protocol(cfg: TuningConfig, seed: int) -> tuple:
    return cfg.inner_folds, cfg.round_size, PRUNE_AFTER, seed


# ----------------------------------------------------------------------------- the study protocol

def _pruner() -> Any:
    import optuna

    class EarlierRoundsMedianPruner(optuna.pruners.BasePruner):
        """Prune at fold k when the trial's running RMSE is above the median of the earlier rounds'
        completed trials at fold k: a decision that does not depend on which trials run beside it."""

        def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
            step, mine = trial.last_step, trial.user_attrs[ROUND]
            if step is None:
                return False
            earlier = [t.intermediate_values[step] for t in study.get_trials(
                deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
                if t.user_attrs.get(ROUND, mine) < mine and step in t.intermediate_values]
            return len(earlier) >= PRUNE_AFTER and trial.intermediate_values[step] > float(np.median(earlier))

    return EarlierRoundsMedianPruner()


def _open(name: str, storage: Any, create: bool) -> Any:
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # every trial's parameters are fixed when its round is planned: the study's sampler is never asked
    options = {"study_name": name, "storage": storage, "sampler": optuna.samplers.RandomSampler(seed=0),
               "pruner": _pruner()}
    if create:
        return optuna.create_study(direction="minimize", load_if_exists=True, **options)
    return optuna.load_study(**options)


def _slot(trial: Any) -> tuple[int, int]:
    return trial.user_attrs.get(ROUND, -1), trial.user_attrs.get(SLOT, trial.number)


def _plans(study: Any) -> dict[int, list[dict[str, Any]]]:
    """The planned rounds: round number -> each slot's parameters (a study attribute per round)."""
    return {int(key.removeprefix(PLAN)): params for key, params in study.user_attrs.items() if key.startswith(PLAN)}


@dataclass
class _Slots:
    """The study's trials by planned (round, slot): what is finished, queued and running."""
    planned: list[tuple[int, int]]
    finished: dict[tuple[int, int], Any]
    waiting: list[Any]
    running: list[Any]

    @classmethod
    def read(cls, study: Any, plans: dict[int, list[dict[str, Any]]]) -> "_Slots":
        planned = [(r, s) for r in sorted(plans) for s in range(len(plans[r]))]
        finished: dict[tuple[int, int], Any] = {}
        waiting, running = [], []
        for t in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number):
            if t.state.name in FINISHED:
                finished.setdefault(_slot(t), t)
            elif t.state.name == "WAITING":
                waiting.append(t)
            elif t.state.name == "RUNNING":
                running.append(t)
        return cls(planned, finished, waiting, running)

    def missing(self) -> list[tuple[int, int]]:
        """Planned slots with no trial finished, queued or running (their trial failed or its process died)."""
        busy = {_slot(t) for t in self.waiting + self.running}
        return [slot for slot in self.planned if slot not in self.finished and slot not in busy]

    def done(self) -> int:
        return sum(slot in self.finished for slot in self.planned)

    def active(self) -> bool:
        return bool(self.waiting or self.running)


def _plan_round(study: Any, plan: StudyPlan, slots: _Slots, size: int, seed: int) -> None:
    """Plan the next round (recorded as one study attribute, then queued): the first is the params.yaml
    defaults and seeded draws, later ones TPE seeded by the round and fed only the earlier rounds."""
    import optuna
    round_no = 1 + max((r for r, _ in slots.planned), default=-1)
    tpe = optuna.samplers.TPESampler(seed=int(np.random.SeedSequence([seed, round_no]).generate_state(1)[0]))
    planner = optuna.create_study(direction="minimize", sampler=tpe)
    for slot in sorted(slots.finished):
        planner.add_trial(_in_space(slots.finished[slot]))
    params = []
    for slot in range(size):
        asked = planner.ask()
        plan.space(asked)
        defaults = {k: v for k, v in plan.defaults.items() if k in asked.params}
        params.append(asked.params | defaults if round_no == 0 and slot == 0 else asked.params)
    study.set_user_attr(f"{PLAN}{round_no}", params)
    for slot, values in enumerate(params):
        _enqueue(study, values, round_no, slot)
    log.info("%s: round %d planned (%d trials)", study.study_name, round_no, size)


def _enqueue(study: Any, params: dict[str, Any], round_no: int, slot: int) -> None:
    study.enqueue_trial(params, user_attrs={ROUND: round_no, SLOT: slot})


def _in_space(trial: Any) -> Any:
    """A finished trial as TPE history, without parameters outside their distribution (a default may be)."""
    import optuna
    kept = {k: v for k, v in trial.params.items()
            if trial.distributions[k]._contains(trial.distributions[k].to_internal_repr(v))}
    return optuna.trial.create_trial(
        state=trial.state, value=trial.value if trial.state.name == "COMPLETE" else None, params=kept,
        distributions={k: trial.distributions[k] for k in kept}, intermediate_values=trial.intermediate_values)


def _process_start(pid: int | str) -> str | None:
    """When a process started (clock ticks since boot, from /proc), or None if there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def process_token() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{_process_start(os.getpid())}"


def _alive(worker: str | None) -> bool:
    """Whether the process that claimed a trial may still run it: on this host, the same pid started at
    the same time (a reused pid is another process); on other hosts unknowable, so yes."""
    if worker is None or not Path("/proc/self/stat").exists():
        return True                     # no /proc (not Linux): only tuning.stale_seconds tells
    host, pid, started = worker.rsplit(":", 2)
    return host != socket.gethostname() or _process_start(pid) == started


def _fail(storage: Any, study_id: int, trial: Any) -> None:
    """Withdraw a trial (FAIL); the driver queues its slot again."""
    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.trial import TrialState
    try:
        storage.set_trial_state_values(storage.get_trial_id_from_study_id_trial_number(study_id, trial.number),
                                       TrialState.FAIL)
    except UpdateFinishedTrialError:
        pass                            # it finished after all


def _claim_and_evaluate(study: Any, storage: Any, study_id: int, slots: _Slots, plan: StudyPlan) -> bool:
    """Run one waiting trial if this process wins it (an atomic WAITING -> RUNNING); whether it did."""
    import optuna
    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.trial import TrialState
    for waiting in slots.waiting:
        trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, waiting.number)
        try:
            if not storage.set_trial_state_values(trial_id, TrialState.RUNNING):
                continue                # another process took it
        except UpdateFinishedTrialError:
            continue                    # ... and already finished it
        trial = optuna.Trial(study, trial_id)
        try:
            trial.set_user_attr(WORKER, process_token())
            value = plan.objective(trial)
            frozen = study.tell(trial, value, skip_if_finished=True)
        except optuna.TrialPruned:
            frozen = study.tell(trial, state=TrialState.PRUNED, skip_if_finished=True)
        except UpdateFinishedTrialError:
            log.warning("%s trial %d was withdrawn while it ran (tuning.stale_seconds?)", study.study_name,
                        waiting.number)
            return True
        except BaseException:
            _fail(storage, study_id, waiting)
            raise
        _log_trial(study.study_name, frozen)
        return True
    return False


def _log_trial(study_name: str, trial: Any) -> None:
    if trial.state.name == "COMPLETE":
        log.info("%s trial %d: inner-CV RMSE %.4f", study_name, trial.number, trial.value)
    else:
        log.info("%s trial %d: %s after %d folds", study_name, trial.number, trial.state.name.lower(),
                 len(trial.intermediate_values))


def drive(plan: StudyPlan, budget: int, cfg: TuningConfig, storage: Any, seed: int) -> Any:
    """Run a study to `budget` finished slots: plan a round, evaluate its trials (with any workers), wait
    for every slot of it to finish, plan the next. Resumes whatever an earlier run left: a planned slot
    whose trial failed, or whose process died, is queued again with the same parameters."""
    import optuna
    storage = optuna.storages.get_storage(storage)
    study = _open(plan.name, storage, create=True)
    study_id = storage.get_study_id_from_name(plan.name)
    study.set_user_attr(CLOSED, None)
    start, seen_running = time.perf_counter(), {}   # running trials by when this driver first saw them
    try:
        while True:
            plans = _plans(study)
            slots = _Slots.read(study, plans)
            if slots.done() >= budget:
                return study
            for t in slots.running:      # our clock, not the database's: hosts' clocks may differ
                first = seen_running.setdefault(t.number, time.perf_counter())
                if not _alive(t.user_attrs.get(WORKER)) or time.perf_counter() - first > cfg.stale_seconds:
                    _fail(storage, study_id, t)
                    log.info("%s trial %d withdrawn (its process is gone or it ran past tuning.stale_seconds)",
                             plan.name, t.number)
            missing = slots.missing()
            for round_no, slot in missing:
                _enqueue(study, plans[round_no][slot], round_no, slot)
            if missing or _claim_and_evaluate(study, storage, study_id, slots, plan):
                continue
            if slots.active():
                time.sleep(POLL_SECONDS)  # the round's last trials run elsewhere
                continue
            if cfg.timeout_seconds is not None and time.perf_counter() - start > cfg.timeout_seconds:
                log.warning("%s: stopped after %d of %d trials (tuning.timeout_seconds)", plan.name, slots.done(),
                            budget)
                return study
            _plan_round(study, plan, slots, min(cfg.round_size, budget - len(slots.planned)), seed)
    finally:                             # tell workers the study is over (or was abandoned)
        done = _Slots.read(study, _plans(study)).done() >= budget
        study.set_user_attr(CLOSED, "budget reached" if done else "stopped")


def work(plan: StudyPlan, budget: int, storage: Any, wait_seconds: float) -> int:
    """A worker's share of one study: evaluate waiting trials until the budget is reached or the driver
    stops the study; how many it ran."""
    import optuna
    storage = optuna.storages.get_storage(storage)
    start = time.perf_counter()
    while True:
        try:
            study = _open(plan.name, storage, create=False)
            break
        except KeyError:                # the driver has not reached this study yet
            if time.perf_counter() - start > wait_seconds:
                log.warning("%s: no such study after %.0f s; skipped (does this worker read the same data "
                            "folder and params.yaml as the run?)", plan.name, wait_seconds)
                return 0
            time.sleep(POLL_SECONDS)
    study_id, idle, done = storage.get_study_id_from_name(plan.name), time.perf_counter(), 0
    while True:
        slots = _Slots.read(study, _plans(study))
        if _claim_and_evaluate(study, storage, study_id, slots, plan):
            done, idle = done + 1, time.perf_counter()
            continue
        if not slots.active() and (slots.done() >= budget or study.user_attrs.get(CLOSED) == "stopped"):
            return done
        if time.perf_counter() - idle > wait_seconds:
            log.warning("%s: no trial to run for %.0f s; leaving it", plan.name, wait_seconds)
            return done
        time.sleep(POLL_SECONDS)


def _result(name: str, study: Any, defaults: dict[str, Any], start: float) -> TuningResult:
    """The best completed trial (ties: the earliest planned), and the defaults' value (round 0, slot 0)."""
    slots = _Slots.read(study, _plans(study))
    finished = [slots.finished[s] for s in slots.planned if s in slots.finished]
    complete = [t for t in finished if t.state.name == "COMPLETE"]
    best = min(complete, key=lambda t: (t.value, _slot(t)))
    first = slots.finished.get((0, 0))
    return TuningResult(name, study.study_name, defaults | best.params, float(best.value),
                        float(first.value) if first is not None and first.state.name == "COMPLETE" else None,
                        len(complete), len(finished) - len(complete), round(time.perf_counter() - start, 2))


# ----------------------------------------------------------------------------- the layers

def learner_plan(name: str, cfg: Config, frame: MovieFrame, y: np.ndarray) -> StudyPlan:
    """The study of one base learner on inner CV of `frame` (training rows only)."""
    import optuna
    space = REGISTRY[name].space
    defaults = dict(cfg.learners.params.get(name, {}))
    folds = _inner_folds(len(frame), cfg.tuning, cfg.seed)

    def objective(trial: optuna.Trial) -> float:
        params = defaults | space(trial)
        trial_cfg = cfg.model_copy(update={"learners": cfg.learners.model_copy(
            update={"params": dict(cfg.learners.params) | {name: params}})})
        errors = []
        for step, (fit, val) in enumerate(track(folds, f"{name} trial {trial.number} folds", announce=False)):
            learner = make_learner(name, trial_cfg).fit(frame.take(fit), y[fit])
            errors.append(float(np.mean((learner.predict(frame.take(val)) - y[val]) ** 2)))
            log.info("%s trial %d fold %d/%d: inner-CV RMSE %.4f", name, trial.number, step + 1, len(folds),
                      np.sqrt(errors[-1]))
            trial.report(float(np.sqrt(np.mean(errors))), step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return float(np.sqrt(np.mean(errors)))

    key = fingerprint(name, frame.ids, y, cfg.model_inputs(), defaults, space_signature(space),
                      _protocol(cfg.tuning, cfg.seed))
    return StudyPlan(f"{name}-{key}", space, defaults, objective)


def tune_learner(name: str, cfg: Config, frame: MovieFrame, y: np.ndarray, storage: Any, budget: int) -> TuningResult:
    """Best hyperparameters of one base learner on inner CV of `frame` (training rows only)."""
    start = time.perf_counter()
    plan = learner_plan(name, cfg, frame, y)
    return _result(name, drive(plan, budget, cfg.tuning, storage, cfg.seed), plan.defaults, start)


def stacker_space(trial: Any) -> dict[str, Any]:
    """The ridge stacker's search space: its penalty."""
    return {"alpha": trial.suggest_float("alpha", 1e-6, 10.0, log=True)}


def tune_stacker(cfg: Config, learners: list[str], table: pd.DataFrame, y: np.ndarray, storage: Any) -> TuningResult:
    """The ridge stacker's penalty, on inner CV over the out-of-fold table."""
    import optuna

    from pipeline.training.stacking import Stacker
    start = time.perf_counter()
    folds = _inner_folds(len(y), cfg.tuning, cfg.seed)
    defaults = {"alpha": cfg.stacking.alpha}

    def objective(trial: optuna.Trial) -> float:
        stacking = cfg.stacking.model_copy(update=stacker_space(trial))
        errors = [np.mean((Stacker(stacking, learners, cfg.seed).fit(table.iloc[f], y[f]).predict(table.iloc[v])
                           - y[v]) ** 2) for f, v in folds]
        return float(np.sqrt(np.mean(errors)))

    key = fingerprint(learners, table.to_numpy(), y, defaults, space_signature(stacker_space),
                      _protocol(cfg.tuning, cfg.seed))      # a new search range starts a new study
    plan = StudyPlan(f"stacker-{key}", stacker_space, defaults, objective)
    study = drive(plan, cfg.tuning.stacker_trials, cfg.tuning, storage, cfg.seed)
    return _result("stacker", study, defaults, start)


def tuned_config(cfg: Config, results: dict[str, TuningResult]) -> Config:
    """The config the learners stage uses: params.yaml defaults with every tuned learner's best."""
    params = dict(cfg.learners.params) | {n: r.best_params for n, r in results.items() if n in REGISTRY}
    update: dict[str, Any] = {"learners": cfg.learners.model_copy(update={"params": params})}
    if "stacker" in results:
        update["stacking"] = cfg.stacking.model_copy(update=results["stacker"].best_params)
    return cfg.model_copy(update=update)
