"""The one runner of a training run's stages.

A stage is a plain function: its parameters name the values it reads (set by the run or by an earlier
stage), it returns the values it makes by name, and its table entry (pipeline/workflow.py) declares
those names, the params.yaml sections it reads and the files it publishes. The runner checks each
stage's inputs and outputs against the table, times it, logs why a stage is skipped, and owns reuse:
`Units.reuse` is the one "fresh? load : compute, record" of the project, for every unit of expensive
work a stage recomputes only when its fingerprint changed (see pipeline/training/checkpoint.py).
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, TypeVar

from pipeline.config import Config
from pipeline.io import Transaction
from pipeline.progress import StageTimer
from pipeline.training.checkpoint import Checkpoints

T = TypeVar("T")


@dataclass(frozen=True)
class Stage:
    name: str
    run: Callable[..., dict[str, Any]]
    makes: tuple[str, ...] = ()           # the names of the values `run` returns
    reads: tuple[str, ...] = ()           # the params.yaml sections it reads (dvc.yaml lists their union)
    publishes: tuple[str, ...] = ()       # files and folders a user reads, relative to the out-dir
    skip: Callable[[Config], str | None] = lambda cfg: None   # why the stage does not run, else None
    when_skipped: dict[str, Any] = field(default_factory=dict)   # what it makes when it does not run

    @property
    def needs(self) -> tuple[str, ...]:
        return tuple(inspect.signature(self.run).parameters)


@dataclass(frozen=True)
class Folders:
    """Where a run reads and writes: `staged` is where an output to be published is written meanwhile."""
    out: Path
    tx: Transaction

    @property
    def art(self) -> Path:
        return self.out / "artifacts"

    @property
    def reports(self) -> Path:
        return self.out / "reports"

    @property
    def cache(self) -> Path:
        return self.art / "cache"

    def staged(self, final: Path) -> Path:
        return self.tx.path(final)


class Units:
    """Reuse of finished work across runs: a unit whose fingerprint and files are unchanged is loaded."""

    def __init__(self, checkpoints: Checkpoints):
        self.checkpoints = checkpoints

    def published(self, staging: Path) -> None:
        """The files recorded under `staging` (a folder inside artifacts/) now live at their final places."""
        self.checkpoints.relocate(str(staging.relative_to(self.checkpoints.art)) + "/", "")

    def key(self, *parts: Any) -> str:
        """The fingerprint of a unit's inputs (on top of the data, package versions and code)."""
        return self.checkpoints.key(*parts)

    def reuse(self, unit: str, key: str, compute: Callable[[], tuple[T, list[Path]]],
              load: Callable[[], T]) -> T:
        """`load()` if `unit` finished under `key` with its files intact, else `compute()`, which returns
        its value and the files it wrote, recorded so the next run can reuse them."""
        if self.checkpoints.fresh(unit, key):
            return load()
        value, files = compute()
        self.checkpoints.record(unit, key, files)
        return value


def run_stages(stages: tuple[Stage, ...], state: dict[str, Any], timer: StageTimer,
               keep: tuple[str, ...] = ()) -> dict[str, Any]:
    """Each stage in turn on `state` (the values made so far, by name); the final state. A value is let go
    after the last stage that reads it (the frames of every row are not held through the refit), unless the
    caller reads it from the final state (`keep`)."""
    for k, stage in enumerate(stages):
        missing = [n for n in stage.needs if n not in state]
        if missing:
            raise TypeError(f"stage {stage.name} reads {', '.join(missing)}, which no earlier stage makes")
        reason = stage.skip(state["cfg"])
        if reason:
            timer.skip(stage.name, reason)
            state |= stage.when_skipped
        else:
            with timer.stage(stage.name):
                made = stage.run(**{n: state[n] for n in stage.needs}) or {}
            if set(made) != set(stage.makes):
                raise TypeError(f"stage {stage.name} made {sorted(made)}, its table entry says {sorted(stage.makes)}")
            state |= made
        wanted = {"cfg", *keep, *(n for later in stages[k + 1:] for n in later.needs)}
        state = {n: v for n, v in state.items() if n in wanted}
    return state
