"""The deterministic trial scheduler under every Optuna study of a run (the objectives: tuning.py).

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
RUNNING by a dead process are re-queued with the same parameters.
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
import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

from pipeline.config import TuningConfig
from pipeline.errors import InputError, first_line

log = logging.getLogger(__name__)
FINISHED = ("COMPLETE", "PRUNED")
ROUND, SLOT, WORKER = "round", "slot", "worker"      # trial attributes
PLAN, CLOSED = "plan of round ", "closed"            # study attributes
PRUNE_AFTER = 3        # completed earlier-round trials a pruning decision needs
POLL_SECONDS = 0.5     # how often a process waiting on others looks at the storage again
Space = Callable[[Any], dict[str, Any]]
optuna.logging.set_verbosity(optuna.logging.WARNING)


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
    values: tuple[float, ...] = ()     # the completed trials' inner-CV RMSE, in planned order (the report's history)
    importances: dict[str, float] | None = None   # Optuna's parameter importances (2+ parameters varied), else None

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
    if cfg.storage:
        return _database(cfg.storage)
    folder.mkdir(parents=True, exist_ok=True)
    return optuna.storages.JournalStorage(JournalFileBackend(str(folder / "journal.log")))


def _database(url: str, attempts: int = 5) -> Any:
    """The RDB storage at `url`. Processes meeting an empty database together race to create its
    tables; the losers wait and find them made."""
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


def space_signature(space: Space) -> dict[str, str]:
    """The distributions a search space draws from, as Optuna records them (for the study's name)."""
    trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0)).ask()
    space(trial)
    return {k: optuna.distributions.distribution_to_json(d) for k, d in sorted(trial.distributions.items())}


def protocol(cfg: TuningConfig, seed: int) -> tuple:
    """What besides the data and the space decides a study's trials (part of its name)."""
    return cfg.inner_folds, cfg.round_size, PRUNE_AFTER, seed


# ----------------------------------------------------------------------------- the study protocol

def _pruner() -> Any:

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


def _open(name: str, storage: Any, create: bool) -> optuna.Study:
    # every trial's parameters are fixed when its round is planned: the study's sampler is never asked
    options = {"study_name": name, "storage": storage, "sampler": optuna.samplers.RandomSampler(seed=0),
               "pruner": _pruner()}
    if create:
        return optuna.create_study(direction="minimize", load_if_exists=True, **options)
    return optuna.load_study(**options)


def _slot(trial: Any) -> tuple[int, int]:
    return trial.user_attrs.get(ROUND, -1), trial.user_attrs.get(SLOT, trial.number)


def _plans(study: optuna.Study) -> dict[int, list[dict[str, Any]]]:
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
    def read(cls, study: optuna.Study, plans: dict[int, list[dict[str, Any]]]) -> "_Slots":
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


def _plan_round(study: optuna.Study, plan: StudyPlan, slots: _Slots, size: int, seed: int) -> None:
    """Plan the next round (recorded as one study attribute, then queued): the first is the params.yaml
    defaults and seeded draws, later ones TPE seeded by the round and fed only the earlier rounds."""
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


def _enqueue(study: optuna.Study, params: dict[str, Any], round_no: int, slot: int) -> None:
    study.enqueue_trial(params, user_attrs={ROUND: round_no, SLOT: slot})


def _in_space(trial: optuna.trial.FrozenTrial) -> optuna.trial.FrozenTrial:
    """A finished trial as TPE history, without parameters outside their distribution (a default may be)."""
    kept = {k: v for k, v in trial.params.items() if _contains(trial.distributions[k], k, v)}
    return optuna.trial.create_trial(
        state=trial.state, value=trial.value if trial.state.name == "COMPLETE" else None, params=kept,
        distributions={k: trial.distributions[k] for k in kept}, intermediate_values=trial.intermediate_values)


def _contains(distribution: optuna.distributions.BaseDistribution, name: str, value: Any) -> bool:
    """Whether `value` lies in `distribution`, asked of Optuna's own check (create_trial validates it)."""
    try:
        optuna.trial.create_trial(state=TrialState.COMPLETE, value=0.0, params={name: value},
                                  distributions={name: distribution})
    except ValueError:
        return False
    return True


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
    try:
        storage.set_trial_state_values(storage.get_trial_id_from_study_id_trial_number(study_id, trial.number),
                                       TrialState.FAIL)
    except UpdateFinishedTrialError:
        pass                            # it finished after all


def _claim_and_evaluate(study: optuna.Study, storage: Any, study_id: int, slots: _Slots, plan: StudyPlan) -> bool:
    """Run one waiting trial if this process wins it (an atomic WAITING -> RUNNING); whether it did."""
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


def drive(plan: StudyPlan, budget: int, cfg: TuningConfig, storage: Any, seed: int) -> optuna.Study:
    """Run a study to `budget` finished slots: plan a round, evaluate its trials (with any workers), wait
    for every slot of it to finish, plan the next. Resumes whatever an earlier run left: a planned slot
    whose trial failed, or whose process died, is queued again with the same parameters."""
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


def result(name: str, study: optuna.Study, defaults: dict[str, Any], start: float) -> TuningResult:
    """The best completed trial (ties: the earliest planned), and the defaults' value (round 0, slot 0)."""
    slots = _Slots.read(study, _plans(study))
    finished = [slots.finished[s] for s in slots.planned if s in slots.finished]
    complete = [t for t in finished if t.state.name == "COMPLETE"]
    best = min(complete, key=lambda t: (t.value, _slot(t)))
    first = slots.finished.get((0, 0))
    return TuningResult(name, study.study_name, defaults | best.params, float(best.value),
                        float(first.value) if first is not None and first.state.name == "COMPLETE" else None,
                        len(complete), len(finished) - len(complete), round(time.perf_counter() - start, 2),
                        tuple(float(t.value) for t in complete), _importances(study, complete))


def _importances(study: optuna.Study, complete: list[optuna.trial.FrozenTrial]) -> dict[str, float] | None:
    """Optuna's parameter importances over the completed trials, when two or more parameters took more than
    one value (with one, the importance is 1.0 by construction and says nothing)."""
    varied = [p for p in study.best_params if len({repr(t.params.get(p)) for t in complete}) > 1]
    if len(varied) < 2 or len(complete) < 3:
        return None
    return {k: float(v) for k, v in optuna.importance.get_param_importances(study, params=varied).items()}
