"""Several `tune-worker` processes share the run's studies: every planned trial runs exactly once, and
the studies end exactly as a single process ends them (same trials, values and best parameters).

Run against the default journal file and, where PIPELINE_TEST_POSTGRES names a server (.ci/run
starts one on loopback), against PostgreSQL."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import optuna
import pytest
import yaml

from pipeline.config import PROJECT_ROOT, load_config
from pipeline.data.clean import drop_duplicate_movies
from pipeline.data.load import load_folder
from pipeline.features.prepare import split_and_prepare
from pipeline.training.scheduler import ROUND, SLOT, WORKER, process_token, storage_for
from pipeline.training.tuning import tune_learners

POSTGRES = os.environ.get("PIPELINE_TEST_POSTGRES")
BUDGETS = {"text_ridge": 7, "tabular_lgbm": 5}
N_WORKERS = 3


def _database(server: str) -> str:
    """A fresh database on the test server; its URL."""
    import sqlalchemy
    name = f"tuning_{uuid.uuid4().hex[:10]}"
    with sqlalchemy.create_engine(server, isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(sqlalchemy.text(f"CREATE DATABASE {name}"))
    return server.rsplit("/", 1)[0] + "/" + name


def _params(tiny_params: Path, folder: Path, storage: str | None) -> Path:
    raw = yaml.safe_load(tiny_params.read_text())
    tiny = raw["profiles"]["tiny"]
    tiny["learners"] = tiny.get("learners", {}) | {"enabled": list(BUDGETS), "stacked": list(BUDGETS)}
    tiny["tuning"] = tiny["tuning"] | {"trials": BUDGETS, "storage": storage, "round_size": 3,
                                       "worker_wait_seconds": 60}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _drive(params: Path, data_dir: Path, out: Path) -> dict:
    """The run's tune stage, in this process."""
    cfg = load_config(params, profile="tiny")
    raw, _ = drop_duplicate_movies(load_folder(data_dir, cfg.data, require_rating=True))
    _, _, data = split_and_prepare(raw, cfg, out / "artifacts" / "cache")
    storage = storage_for(cfg.tuning, out / "artifacts" / "tuning")
    return {"cfg": cfg, "results": tune_learners(cfg, data, storage, out / "artifacts" / "tuning")}


def _trials(cfg, out: Path, study_name: str) -> list[optuna.trial.FrozenTrial]:
    storage = storage_for(cfg.tuning, out / "artifacts" / "tuning")
    return optuna.load_study(study_name=study_name, storage=storage).trials


@pytest.mark.parametrize("backend", ["journal", "postgresql"])
def test_workers_run_each_trial_once_and_match_one_process(backend, demo_dir, tiny_params, tmp_path) -> None:
    if backend == "postgresql" and not POSTGRES:
        pytest.skip("PIPELINE_TEST_POSTGRES is not set (.ci/run starts a PostgreSQL server and sets it)")
    storages = [_database(POSTGRES), _database(POSTGRES)] if backend == "postgresql" else [None, None]
    alone = _drive(_params(tiny_params, tmp_path / "alone", storages[0]), demo_dir, tmp_path / "alone")

    shared = tmp_path / "shared"
    params = _params(tiny_params, shared, storages[1])
    logs = [shared / f"worker{i}.log" for i in range(N_WORKERS)]
    cmd = [sys.executable, "-m", "pipeline", "tune-worker", "--params", str(params), "--profile", "tiny",
           "--data-dir", str(demo_dir), "--out-dir", str(shared)]
    workers = [subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=os.environ | {"CI": "true"}, stdout=subprocess.PIPE,
                                stderr=log.open("w"), text=True) for log in logs]
    deadline = time.time() + 180      # the workers have built their training rows and wait for studies
    while not all("waiting for the run" in log.read_text() for log in logs):
        assert time.time() < deadline and all(w.poll() is None for w in workers), [log.read_text() for log in logs]
        time.sleep(0.2)
    together = _drive(params, demo_dir, shared)
    outputs = [w.communicate(timeout=180)[0] for w in workers]
    assert all(w.returncode == 0 for w in workers), [log.read_text() for log in logs]

    by_workers = 0
    for name, budget in BUDGETS.items():
        one, many = (run["results"][name] for run in (alone, together))
        assert one.study_name == many.study_name
        trials = _trials(together["cfg"], shared, many.study_name)
        assert len(trials) == budget and all(t.state.name in ("COMPLETE", "PRUNED") for t in trials)
        slots = sorted((t.user_attrs[ROUND], t.user_attrs[SLOT]) for t in trials)
        assert len(set(slots)) == budget                          # each planned trial ran exactly once
        reference = {(t.user_attrs[ROUND], t.user_attrs[SLOT]): t for t in _trials(alone["cfg"], tmp_path / "alone",
                                                                                    one.study_name)}
        assert sorted(reference) == slots
        for t in trials:
            twin = reference[t.user_attrs[ROUND], t.user_attrs[SLOT]]
            assert t.params == twin.params and t.state == twin.state
            assert t.intermediate_values == pytest.approx(twin.intermediate_values, rel=1e-9)
        assert many.best_params == one.best_params
        assert many.best_value == pytest.approx(one.best_value, rel=1e-9)
        by_workers += sum(t.user_attrs[WORKER] != process_token() for t in trials)
    assert by_workers > 0, "the workers evaluated no trial"
    assert sum(int(out.split()[0]) for out in outputs) == by_workers
