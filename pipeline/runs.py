"""Every finished run kept, listed and compared: `artifacts/runs/<finished>/` holds its metrics,
parameters, data fingerprint and times, so a later run overwrites the live artifacts but never
the record of an earlier one (`movie-rating runs`)."""
from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.config import PROJECT_ROOT
from pipeline.errors import InputError
from pipeline.io import fingerprint, read_json, sha256_file, write_json

FOLDER = "runs"


def git_commit() -> str | None:
    """The checkout's commit, if the code runs from one."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def data_fingerprint(folder: Path) -> dict[str, str]:
    """sha256 of each input file of a data folder."""
    return {p.name: sha256_file(p) for p in sorted(folder.iterdir()) if p.is_file() and p.suffix in {".csv", ".npy"}}


def record_run(art: Path, metrics: dict, run_info: dict) -> Path:
    """Keeps a finished run's metrics and run.json (parameters, data fingerprint, times) under its own id."""
    digest = fingerprint(run_info)[:6]
    now = time.time()       # milliseconds: two records within one second still sort in order
    folder = art / FOLDER / f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime(now))}.{int(now * 1000) % 1000:03d}Z-{digest}"
    write_json(folder / "metrics.json", metrics)
    write_json(folder / "run.json", run_info)
    return folder


def _summary(folder: Path) -> dict[str, Any]:
    metrics, info = read_json(folder / "metrics.json"), read_json(folder / "run.json")
    data = fingerprint(info["data_fingerprint"])[:8]
    newest = (metrics.get("bands", {}).get("stack") or [{}])[-1]
    return {"run": folder.name, "params": info["params_source"], "data": data,
            "CV RMSE": round(metrics["cv"]["stack"]["rmse_mean"], 4),
            "holdout RMSE": round(metrics["holdout"]["stack"]["rmse"], 4),
            f"holdout {newest.get('band', '')} RMSE": round(newest["rmse"], 4) if "rmse" in newest else None,
            "seconds": round(sum(info["timings"].values()), 1), "commit": (info.get("git_commit") or "")[:8]}


def run_folders(art: Path) -> list[Path]:
    folders = sorted(p for p in (art / FOLDER).glob("*") if (p / "run.json").is_file())
    if not folders:
        raise InputError(str(art.parent), "no finished run here (artifacts/runs/ is empty); pass the --out-dir of "
                         "a run, or train one with run_all.py")
    return folders


def list_runs(art: Path) -> pd.DataFrame:
    """One row per kept run, oldest first, numbered as `runs --compare` takes them."""
    table = pd.DataFrame([_summary(f) for f in run_folders(art)])
    table.index = pd.RangeIndex(1, len(table) + 1, name="#")
    return table


def find_run(art: Path, key: str) -> Path:
    """A run by its number in the list, or by a unique prefix of its id."""
    folders = run_folders(art)
    if key.isdigit() and 1 <= int(key) <= len(folders):
        return folders[int(key) - 1]
    matches = [f for f in folders if f.name.startswith(key)]
    if len(matches) != 1:
        raise InputError(key, f"{'no' if not matches else 'more than one'} run matches; the runs are 1-"
                         f"{len(folders)} or an id prefix ({folders[-1].name})")
    return matches[0]


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(tree, dict):
        return {prefix.rstrip("."): tree}
    return {k: v for key, value in tree.items() for k, v in flatten(value, f"{prefix}{key}.").items()}


def compare_runs(art: Path, first: str, second: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(parameters that differ, holdout and CV RMSE per learner side by side) of two kept runs."""
    a, b = find_run(art, first), find_run(art, second)
    pa, pb = (flatten(read_json(f / "run.json")["params"]) for f in (a, b))
    changed = sorted(k for k in pa.keys() | pb.keys() if pa.get(k) != pb.get(k))
    params = pd.DataFrame({"parameter": changed, a.name: [pa.get(k, "-") for k in changed],
                           b.name: [pb.get(k, "-") for k in changed]})
    ma, mb = (read_json(f / "metrics.json") for f in (a, b))
    rows = []
    for learner in [n for n in ma["holdout"] if n in mb["holdout"]]:
        ha, hb = ma["holdout"][learner]["rmse"], mb["holdout"][learner]["rmse"]
        rows.append({"learner": learner, f"holdout {a.name}": round(ha, 4), f"holdout {b.name}": round(hb, 4),
                     "holdout change": round(hb - ha, 4),
                     "CV change": round(mb["cv"][learner]["rmse_mean"] - ma["cv"][learner]["rmse_mean"], 4)})
    return params, pd.DataFrame(rows)
