"""What every benchmark shares: the project on the import path, where the case data is, and how bad
input ends a run (one line and exit code 2, as on the command line, not a traceback)."""
from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# the case data, for the benchmarks and the tests (tests/conftest.py): MOVIE_CASE_DIR, else ../shared/data/case
CASE_DIR = Path(os.environ.get("MOVIE_CASE_DIR", ROOT.parent / "shared" / "data" / "case"))


def run_main(main: Callable[[], None]) -> None:
    """Call a benchmark's `main`; an InputError (a data folder that is not there, a bad parameter) ends it."""
    from pipeline.errors import InputError
    try:
        main()
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
