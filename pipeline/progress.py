"""Stage timing and a live progress display that turns itself off off-terminal (and under CI)."""
from __future__ import annotations

import logging
import os
import sys
import time
from contextlib import contextmanager
from typing import Iterable, Iterator, TypeVar

log = logging.getLogger("pipeline")
T = TypeVar("T")


def live() -> bool:
    return sys.stdout.isatty() and os.environ.get("CI", "").lower() != "true"


class StageTimer:
    """Times each stage; `timings` goes to run.json and the report."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        log.info("stage %s ...", name)
        start = time.perf_counter()
        yield
        self.timings[name] = round(time.perf_counter() - start, 2)
        log.info("stage %s done in %.1f s", name, self.timings[name])


def track(items: list[T], description: str) -> Iterable[T]:
    """A rich progress bar on a terminal; plain log lines elsewhere."""
    if live():
        from rich.progress import track as rich_track
        yield from rich_track(items, description=description, transient=True)
        return
    for i, item in enumerate(items, 1):
        log.info("%s %d/%d: %s", description, i, len(items), item)
        yield item
