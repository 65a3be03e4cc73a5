"""report: the run record (parameters, data fingerprint, versions, commit, stage times) and the resolved
parameters, then the markdown report and its figures, rendered from the run's files."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from pipeline.config import Config
from pipeline.io import write_json, write_text
from pipeline.model.bundle import package_versions
from pipeline.progress import StageTimer
from pipeline.report.render import render_report
from pipeline.runner import Folders
from pipeline.runs import git_commit


def report(cfg: Config, params_source: str, data_dir: Path, data_hashes: dict[str, str], timer: StageTimer,
           folders: Folders) -> dict[str, Any]:
    art = folders.art
    run_info = {"params": cfg.model_dump(mode="json"), "params_source": params_source, "data_dir": str(data_dir),
                "data_dir_shown": os.path.relpath(data_dir, folders.out),
                "data_fingerprint": data_hashes, "seed": cfg.seed, "versions": package_versions(),
                "git_commit": git_commit(), "timings": timer.timings, "peak_memory_mb": timer.peak_mb}
    write_json(folders.staged(art / "run.json"), run_info)
    write_text(folders.staged(art / "params.yaml"), yaml.safe_dump(run_info["params"], sort_keys=False))
    render_report(art, folders.staged(folders.reports), products=folders.staged(art))
    return {"run_info": run_info}


def rerender(out_dir: Path) -> Path:
    """The report of the finished run in `out_dir`, drawn again from its artifacts (nothing is fitted)."""
    return render_report(out_dir / "artifacts", out_dir / "reports")
