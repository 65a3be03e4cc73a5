"""Whether a training run on a data folder fits the memory this machine can give it, checked before anything
is read: a run that would be killed by the kernel half-way is refused in one line instead."""
from __future__ import annotations

import re
from pathlib import Path

from pipeline.data.load import EMBEDDING_FILES, LINK_FILES
from pipeline.errors import InputError

# A `run`'s peak resident memory: a base (the interpreter, the libraries) and so many bytes per byte of its
# input files (movies.csv, the credit files, the vectors). `run --fast` on case-shaped catalogues
# (benchmarks/scale.py, docs/experiments.md "Issue 34") peaked at 3,848 MB on 366 MB of input (100k films) and
# 8,195 MB on 1,107 MB (300k; 460debc and 3721d70): 1,700 MB and 5.9 bytes a byte; 7 leaves a sixth for safety.
PEAK_PER_INPUT_BYTE = 7.0
BASE_MB = 1700.0


def input_mb(folder: Path) -> float:
    files = ["movies.csv", *(file for file, _ in LINK_FILES.values()), *EMBEDDING_FILES.values()]
    return sum((folder / f).stat().st_size for f in files if (folder / f).is_file()) / 2 ** 20


def available_mb() -> float | None:
    """Memory this process can still take: the kernel's MemAvailable, lowered to the cgroup's limit if one is
    set (a container); None where neither can be read."""
    try:
        free = int(re.search(r"MemAvailable:\s+(\d+) kB", Path("/proc/meminfo").read_text()).group(1)) / 1024
    except (OSError, AttributeError):
        return None
    try:
        limit, used = (Path("/sys/fs/cgroup", f).read_text().strip() for f in ("memory.max", "memory.current"))
        if limit != "max":
            free = min(free, (int(limit) - int(used)) / 2 ** 20)
    except (OSError, ValueError):
        pass
    return free


def check_memory(folder: Path) -> None:
    """Refuse, in one line, a run whose estimated peak exceeds the memory available."""
    size = input_mb(folder)
    needed, free = BASE_MB + PEAK_PER_INPUT_BYTE * size, available_mb()
    if free is not None and needed > free:
        raise InputError(str(folder), f"training on these {size:,.0f} MB of input needs about "
                         f"{needed / 1024:,.1f} GB of memory at its peak, and this machine has {free / 1024:,.1f} GB "
                         f"available: free memory, or train on a part of the catalogue")
