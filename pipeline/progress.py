"""Stage timing and a live progress display that turns itself off off-terminal (and under CI).

On a terminal, log lines print above one live display with a bar per loop in progress (stage,
learner, fold, trial), each with the item at hand and an estimate of the time left; elsewhere
each item is a log line."""
from __future__ import annotations

import logging
import os
import re
import resource
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator, TypeVar

log = logging.getLogger("pipeline")
T = TypeVar("T")
_display: Any = None                     # the live rich.progress.Progress while a tracked loop runs


def live() -> bool:
    return sys.stdout.isatty() and os.environ.get("CI", "").lower() != "true"


def log_handler() -> logging.Handler:
    """Log lines for this terminal: printed above the live bars (rich), else plain lines on stderr."""
    if live():
        from rich.logging import RichHandler
        handler: logging.Handler = RichHandler(show_path=False, log_time_format="%H:%M:%S", markup=False)
        handler.setFormatter(logging.Formatter("%(message)s"))
        return handler
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
    return handler


def reset_peak_memory() -> bool:
    """Restart the kernel's peak-RSS count of this process (Linux); whether it could."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_memory_mb() -> float:
    """Peak resident memory of this process since the last reset (else since it started), in MB."""
    try:
        match = re.search(r"VmHWM:\s+(\d+) kB", Path("/proc/self/status").read_text())
    except OSError:
        match = None
    kb = int(match.group(1)) if match else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(kb / 1024, 1)


class StageTimer:
    """Times each stage and its peak memory; both go to run.json and the report."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self.peak_mb: dict[str, float] = {}

    def skip(self, name: str, reason: str) -> None:
        log.info("stage %s skipped (%s)", name, reason)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        log.info("stage %s ...", name)
        reset_peak_memory()
        start = time.perf_counter()
        yield
        self.timings[name] = round(time.perf_counter() - start, 2)
        self.peak_mb[name] = peak_memory_mb()
        log.info("stage %s done in %.1f s (peak memory %.0f MB)", name, self.timings[name], self.peak_mb[name])


def track(items: Iterable[T], description: str, *, announce: bool = True) -> Iterator[T]:
    """Each item, with a bar on a terminal (nested inside a running one); elsewhere a log line per item
    (`announce=False`: none, the caller logs its own results)."""
    global _display
    items = list(items)
    if not live():
        for i, item in enumerate(items, 1):
            if announce:
                log.info("%s %d/%d: %s", description, i, len(items), item)
            yield item
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    outer = _display is None
    if outer:
        _display = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(), transient=True)
        _display.start()
    task = _display.add_task(description, total=len(items))
    try:
        for item in items:
            if isinstance(item, str):
                _display.update(task, description=f"{description}: {item}")
            yield item
            _display.advance(task)
    finally:
        _display.remove_task(task)
        if outer:
            _display.stop()
            _display = None
