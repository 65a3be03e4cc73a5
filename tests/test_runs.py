"""Runs kept, listed and compared (artifacts/runs, `movie-rating runs`), and logged to MLflow when configured."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.config import TrackingConfig
from pipeline.errors import InputError
from pipeline.io import read_json
from pipeline.runs import record_run


def test_runs_are_kept_listed_and_compared(tiny_run: Path, tmp_path: Path, capsys) -> None:
    """The run's record is kept under artifacts/runs; a second record (another seed, a worse stack) is listed
    after it and compared by number and by id prefix."""
    art = Path(shutil.copytree(tiny_run / "artifacts" / "runs", tmp_path / "artifacts" / "runs")).parent
    first = sorted((art / "runs").iterdir())
    assert len(first) == 1 and read_json(first[0] / "metrics.json") == read_json(tiny_run / "artifacts" /
                                                                                 "metrics.json")
    metrics, info = read_json(first[0] / "metrics.json"), read_json(first[0] / "run.json")
    info["params"]["seed"] = 7
    metrics["holdout"]["stack"]["rmse"] += 0.01
    second = record_run(art, metrics, info)
    assert main(["runs", "--out-dir", str(tmp_path)]) == 0
    listed = capsys.readouterr().out
    assert listed.index(first[0].name) < listed.index(second.name)
    assert main(["runs", "--out-dir", str(tmp_path), "--compare", "1", second.name[:20]]) == 0
    shown = capsys.readouterr().out
    assert "seed" in shown and "42" in shown and "7" in shown
    stack_row = next(line for line in shown.splitlines() if line.strip().startswith("stack "))
    assert "0.01" in stack_row, stack_row
    assert main(["runs", "--out-dir", str(tmp_path), "--compare", "1", "9"]) == 2
    assert "no run matches" in capsys.readouterr().err
    assert json.loads((second / "run.json").read_text())["params"]["seed"] == 7



def test_tracking_needs_mlflow_only_when_a_uri_is_set(monkeypatch) -> None:
    import importlib.util

    from pipeline.tracking import check_tracking
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    check_tracking(TrackingConfig(mlflow_uri=None, experiment="x"))
    with pytest.raises(InputError, match="tracking.mlflow_uri.*pip install"):
        check_tracking(TrackingConfig(mlflow_uri="sqlite:///m.db", experiment="x"))


def test_a_run_is_logged_to_mlflow(tiny_run: Path, tmp_path: Path, monkeypatch) -> None:
    mlflow = pytest.importorskip("mlflow", reason="mlflow is not installed (pip install -e .[mlflow])")
    from pipeline.tracking import log_run
    monkeypatch.chdir(tmp_path)                  # MLflow's default artifact root is ./mlruns
    art = tiny_run / "artifacts"
    metrics, info = read_json(art / "metrics.json"), read_json(art / "run.json")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    run_id = log_run(TrackingConfig(mlflow_uri=uri, experiment="tests"), art, tiny_run / "reports" / "report.md",
                     metrics, info)
    client = mlflow.tracking.MlflowClient(uri)
    run = client.get_run(run_id)
    assert run.data.metrics["holdout_rmse/stack"] == pytest.approx(metrics["holdout"]["stack"]["rmse"])
    assert run.data.params["learners.target"] == info["params"]["learners"]["target"]
    assert {a.path for a in client.list_artifacts(run_id)} == {"report.md", "metrics.json", "params.yaml"}
