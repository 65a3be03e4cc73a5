"""The model folder's format: which version this code writes, which older ones it reads, and how.

A folder records its format and the package version that wrote it in `manifest.json`. Loading a folder
of an older supported format migrates what it holds in memory, one format at a time; nothing on disk
changes (its sha256 and signature stay valid). A migration gives each parameter that did not exist the
value that reproduces the old behaviour, and that value is written here, in the migration, not as a
default anywhere else.

The rule for every change from now on: a change that adds a parameter to `params.yaml` (all of which a
folder records in `config.json`), or changes a file a folder holds, bumps FORMAT and adds its migration
below; `tests/fixtures/format_N` keeps a folder of each format with what it predicted when written.
"""
from __future__ import annotations

import copy
from collections.abc import Callable
from importlib import metadata
from typing import Any

from pipeline.errors import InputError

FORMAT = 9          # what this code writes
OLDEST = 3          # the oldest format it reads
PACKAGE = "movie-rating-pipeline"

# What each format changed: 2 text encoders, intervals, training movies, evaluation; 3 the catalogue of
# training movies (credits, careers, stories); 4 `whatif.actor_billing` and the writer's version; 5
# `ablation.greenlight`, `ultimate.sweeps`, `whatif.strong_disagreement`, `report.tuning_plot_trials` and
# `report.driver_rows`, and the reasons' baseline year (reference.json: the last training year, where earlier
# formats hold the mean year; each folder keeps its own, so its reasons do not change); 6 `serve`; 7
# `serve.batch_wait_ms` and `serve.whatif_seconds`, and the manifest's `training_commit` and `data_fingerprint`
# (the run that wrote the folder; earlier folders did not record them: null); 8 the reference CatBoost's budget;
# 9 one neighbour file per embedding block (`neighbours_<block>.npz`; a learner of an older folder holds one
# `neighbours.npz` for the blocks it read, which pipeline/model/blocks.py still reads) and each learner's record
# of what its blocks were fitted on (`fits` in learner.json: a block fitted once for several learners is read
# once; older folders record none, and each learner reads its own).


def _to_4(config: dict[str, Any]) -> dict[str, Any]:
    """Format 4 added `whatif.actor_billing` (actors offered are billed in the top N in half their films).
    Before it, any actor was offered whatever their billing: null."""
    config["whatif"]["actor_billing"] = None
    return config


def _to_5(config: dict[str, Any]) -> dict[str, Any]:
    """Format 5 added the greenlight stack (withholding nothing and keeping the whole cast is the full stack),
    the ultimate's coordinate ascent (0 sweeps: Optuna's best, as before) and the note on strong learner
    disagreement (null: never said, as before)."""
    config["ablation"]["greenlight"] = {"withheld": [], "leads": None, "learners": None}
    config["ultimate"]["sweeps"] = 0
    config["whatif"]["strong_disagreement"] = None
    config["report"]["tuning_plot_trials"] = 1
    config["report"]["driver_rows"] = config["report"]["shap_rows"]
    return config


def _to_6(config: dict[str, Any]) -> dict[str, Any]:
    """Format 6 added `serve` (the HTTP server's limits); no folder was served before it: the defaults."""
    config["serve"] = {"max_body_bytes": 1_000_000, "max_batch": 1000}
    return config


def _to_7(config: dict[str, Any]) -> dict[str, Any]:
    """Format 7 added adaptive batching (0 ms: no wait for company, as before) and what-if's time limit (null:
    none, as before)."""
    config["serve"] |= {"batch_wait_ms": 0.0, "whatif_seconds": None}
    return config


def _to_8(config: dict[str, Any]) -> dict[str, Any]:
    """Format 8 made the reference CatBoost's budget a parameter (its fixed recipe until then: 1,500 trees at
    0.03)."""
    config["evaluation"] |= {"reference_iterations": 1500, "reference_learning_rate": 0.03}
    return config


def _to_9(config: dict[str, Any]) -> dict[str, Any]:
    """Format 9 changed files, not parameters (the neighbour files and the learners' fits, above)."""
    return config


MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {3: _to_4, 4: _to_5, 5: _to_6, 6: _to_7, 7: _to_8,
                                                                    8: _to_9}
# (each N to N + 1)


def writer() -> str:
    """The package and version writing a folder now, as the manifest records it."""
    try:
        return f"{PACKAGE} {metadata.version(PACKAGE)}"
    except metadata.PackageNotFoundError:   # run from a checkout that was never installed
        return f"{PACKAGE} (not installed)"


def check(manifest: dict[str, Any], where: str) -> int:
    """The folder's format if this code reads it; otherwise one line saying who wrote it and what to do."""
    found = manifest.get("format", 1)
    if type(found) is int and OLDEST <= found <= FORMAT:
        return found
    by = manifest.get("writer") or f"a version of {PACKAGE} older than format {OLDEST}'s"
    if type(found) is int and found > FORMAT:
        todo = f"upgrade {PACKAGE} (pip install -U) to read it"
    else:
        todo = "retrain it with run_all.py, or read it with the version that wrote it"
    raise InputError(where, f"model folder format {found}, written by {by}; this version ({writer()}) reads "
                     f"formats {OLDEST}-{FORMAT}: {todo}")


def migrate_config(config: dict[str, Any], found: int) -> dict[str, Any]:
    """config.json of a folder of format `found`, as this code's config expects it."""
    config = copy.deepcopy(config)
    for version in range(found, FORMAT):
        config = MIGRATIONS[version](config)
    return config
