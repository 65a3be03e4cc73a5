"""load: read the run's inputs, validated before anything is written: the data folder (every CSV of the
data contract and the embedding files), fingerprinted (every reusable unit of the run is keyed on these
files, the packages and the code), and the storage the tuning studies live in (opened when tuning is on)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.config import Config
from pipeline.data.load import load_folder
from pipeline.model.bundle import package_versions
from pipeline.runner import Folders, Units
from pipeline.runs import data_fingerprint
from pipeline.training.checkpoint import Checkpoints, code_fingerprint
from pipeline.training.scheduler import storage_for


def load(cfg: Config, data_dir: Path, folders: Folders) -> dict[str, Any]:
    raw = load_folder(data_dir, cfg.data, require_rating=True)
    data_hashes = data_fingerprint(data_dir)
    units = Units(Checkpoints(folders.art, data_hashes, package_versions(), code_fingerprint()))
    storage = storage_for(cfg.tuning, folders.art / "tuning") if cfg.tuning.enabled else None
    return {"raw": raw, "data_hashes": data_hashes, "units": units, "storage": storage}
