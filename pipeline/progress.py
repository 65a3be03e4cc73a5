"""Stage timing and a live progress display that turns itself off off-terminal (and under CI)."""
from __future__ import annotations

import logging
import os
import re
import resource
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator, TypeVar

log = logging.getLogger("pipeline")
T = TypeVar("T")


def live() -> bool:
    return sys.stdout.isatty() and os.environ.get("CI", "").lower() != "true"


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

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        log.info("stage %s ...", name)
        reset_peak_memory()
        start = time.perf_counter()
        yield
        self.timings[name] = round(time.perf_counter() - start, 2)
        self.peak_mb[name] = peak_memory_mb()
        log.info("stage %s done in %.1f s (peak memory %.0f MB)", name, self.timings[name], self.peak_mb[name])


def track(items: list[T], description: str) -> Iterable[T]:
    """A rich progress bar on a terminal; plain log lines elsewhere."""
    if live():
        from rich.progress import track as rich_track
        yield from rich_track(items, description=description, transient=True)
        return
    for i, item in enumerate(items, 1):
        log.info("%s %d/%d: %s", description, i, len(items), item)
        yield item
