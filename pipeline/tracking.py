"""Optional: each finished run logged to MLflow when `tracking.mlflow_uri` is set (pip install -e .[mlflow]).

Parameters go in flattened (`learners.params.tabular_catboost.depth`), metrics are the holdout and CV
RMSE of the stack and of every learner plus the stack's per-year-band RMSE, and the report, metrics
and resolved parameters are attached as artifacts. Without a URI nothing is imported or written."""
from __future__ import annotations

import importlib.util
from pathlib import Path

from pipeline.config import TrackingConfig
from pipeline.errors import InputError
from pipeline.runs import flatten

BATCH = 100          # MLflow takes at most 100 parameters per call
MAX_VALUE = 500      # characters of a parameter value kept (MLflow's limit is 6,000; lists of names are long)


def check_tracking(cfg: TrackingConfig) -> None:
    """Fails before any work when a URI is set but MLflow is not installed."""
    if cfg.mlflow_uri and importlib.util.find_spec("mlflow") is None:
        raise InputError("params.yaml", "parameter 'tracking.mlflow_uri' is set but mlflow is not installed "
                         "(pip install -e .[mlflow])")


def run_metrics(metrics: dict, run_info: dict) -> dict[str, float]:
    out = {f"holdout_rmse/{n}": v["rmse"] for n, v in metrics["holdout"].items()}
    out |= {f"cv_rmse/{n}": v["rmse_mean"] for n, v in metrics["cv"].items()}
    out |= {f"holdout_rmse/stack/{b['band'].replace('+', '-on')}": b["rmse"]    # MLflow names: no "+"
            for b in metrics.get("bands", {}).get("stack", [])}
    return out | {"seconds": float(sum(run_info["timings"].values()))}


def log_run(cfg: TrackingConfig, art: Path, report: Path, metrics: dict, run_info: dict) -> str | None:
    """The MLflow run id, or None when tracking is off."""
    if not cfg.mlflow_uri:
        return None
    import mlflow
    mlflow.set_tracking_uri(cfg.mlflow_uri)
    mlflow.set_experiment(cfg.experiment)
    params = {k: str(v)[:MAX_VALUE] for k, v in flatten(run_info["params"]).items() if not k.startswith("profiles.")}
    with mlflow.start_run(run_name=art.parent.resolve().name) as run:
        keys = sorted(params)
        for i in range(0, len(keys), BATCH):
            mlflow.log_params({k: params[k] for k in keys[i:i + BATCH]})
        mlflow.log_metrics(run_metrics(metrics, run_info))
        mlflow.set_tags({"params_source": run_info["params_source"], "git_commit": run_info.get("git_commit") or ""})
        for path in (report, art / "metrics.json", art / "params.yaml"):
            mlflow.log_artifact(str(path))
        return run.info.run_id
