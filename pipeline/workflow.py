"""The training run: the table of its stages, in order, and what a run does around them.

load -> clean -> tune -> learners -> stack -> evaluate -> ablation -> refit -> whatif -> explain -> report

Each stage is one function in pipeline/stages/<name>.py; its row says what it makes, the params.yaml
sections it reads and the files it publishes. The runner (pipeline/runner.py) hands each stage the
values it names, times it and owns reuse; nothing is written before the input folder and the
parameters have been validated, and a user meets the outputs of one finished run, published together.
"""
from __future__ import annotations

import logging
from pathlib import Path

from pipeline.config import Config
from pipeline.data.clean import drop_duplicate_movies
from pipeline.data.load import load_folder
from pipeline.data.memory import check_memory
from pipeline.errors import InputError
from pipeline.features.prepare import split_and_prepare
from pipeline.io import Transaction, write_json
from pipeline.model.registry import check_learners
from pipeline.model.trust import signing_key
from pipeline.progress import StageTimer
from pipeline.runner import Folders, Stage, run_stages
from pipeline.runs import record_run
from pipeline.stages.ablation import ablation
from pipeline.stages.clean import clean
from pipeline.stages.evaluate import evaluate
from pipeline.stages.explain import explain
from pipeline.stages.learners import learners
from pipeline.stages.load import load
from pipeline.stages.refit import refit
from pipeline.stages.report import report
from pipeline.stages.stack import stack
from pipeline.stages.tune import tune
from pipeline.stages.whatif import answer_whatifs
from pipeline.tracking import check_tracking, log_run
from pipeline.training.scheduler import storage_for, work
from pipeline.training.tuning import learner_plan, tuned_learners

log = logging.getLogger(__name__)
AROUND_STAGES = ("learners", "tracking", "signing")   # the sections `run` itself reads (checks, logging, key)
MODEL = ("seed", "data", "clean", "split", "entities", "embeddings", "learners")   # what every model reads

STAGES = (
    Stage("load", load, makes=("raw", "data_hashes", "units", "storage"), reads=("data", "tuning")),
    Stage("clean", clean, makes=("raw", "prep", "data", "names", "labelled"),
          reads=MODEL + ("intervals",)),
    Stage("tune", tune, makes=("tuning", "cfg"), reads=MODEL + ("tuning",),
          skip=lambda cfg: None if cfg.tuning.enabled else "tuning.enabled is false", when_skipped={"tuning": {}}),
    Stage("learners", learners, makes=("results",), reads=MODEL),
    Stage("stack", stack, makes=("cfg", "tuning", "stacked", "stacker", "shipped", "stack_cv", "stack_holdout",
                                 "bag_holdout", "intervals", "interval_metrics"),
          reads=MODEL + ("stacking", "tuning", "intervals", "evaluation")),
    Stage("evaluate", evaluate, makes=("metrics",), reads=("seed", "data", "evaluation", "learners", "stacking"),
          publishes=("artifacts/metrics.json",)),
    Stage("ablation", ablation, makes=("metrics",), reads=MODEL + ("ablation", "stacking", "evaluation"),
          skip=lambda cfg: None if cfg.ablation.enabled else "ablation.enabled is false"),
    Stage("refit", refit, makes=("bundle", "model_dir", "model_key"), reads=MODEL + ("stacking", "signing"),
          publishes=("artifacts/model",)),
    Stage("whatif", answer_whatifs, reads=("seed", "whatif", "ultimate"),
          publishes=("artifacts/whatif.json", "artifacts/whatif.md")),
    Stage("explain", explain, reads=("seed", "report")),
    Stage("report", report, makes=("run_info",), reads=("report",),
          publishes=("artifacts/run.json", "artifacts/params.yaml", "reports/figures", "reports/report.md")),
)


def check_out_dir(out_dir: Path) -> None:
    """The out-dir and the two folders a run writes in it must be folders (or not exist yet)."""
    for path in (out_dir, out_dir / "artifacts", out_dir / "reports"):
        if path.exists() and not path.is_dir():
            raise InputError(str(path), "is a file; --out-dir must name a folder (it is created if missing)")


def run(cfg: Config, data_dir: Path, out_dir: Path, *, params_source: str) -> dict:
    """One training run on `data_dir`, its outputs in `out_dir`; the metrics."""
    check_out_dir(out_dir)
    folders = Folders(out_dir, Transaction(out_dir))
    folders.tx.recover()          # finish publishing what a run cut short had committed
    check_learners(cfg)
    check_tracking(cfg.tracking)
    check_memory(data_dir)
    timer = StageTimer()
    state = run_stages(STAGES, {
        "cfg": cfg, "data_dir": data_dir, "params_source": params_source, "folders": folders, "timer": timer,
        "sign_key": signing_key(cfg.signing.key_file)}, timer, keep=("metrics", "run_info", "units"))
    metrics = state["metrics"]
    run_info = state["run_info"] | {"timings": timer.timings, "peak_memory_mb": timer.peak_mb}
    write_json(folders.staged(folders.art / "run.json"), run_info)       # now with the report stage's time
    folders.tx.commit([out_dir / path for stage in STAGES for path in stage.publishes])
    state["units"].published(folders.staged(folders.art))
    kept = record_run(folders.art, metrics, run_info)
    log.info("run kept as %s (movie-rating runs lists and compares runs)", kept.name)
    mlflow_run = log_run(cfg.tracking, folders.art, folders.reports / "report.md", metrics, run_info)
    if mlflow_run:
        log.info("logged to MLflow (%s) as run %s", cfg.tracking.mlflow_uri, mlflow_run)
    return metrics


def tune_worker(cfg: Config, data_dir: Path, out_dir: Path) -> dict[str, int]:
    """`tune-worker`: build the same training rows as the run (same data folder and params.yaml),
    join each learner's study in turn and evaluate trials the run has planned; trials run per learner."""
    if not cfg.tuning.enabled:
        raise InputError("params.yaml", "parameter 'tuning.enabled' is false: there is no study to join")
    check_out_dir(out_dir)
    check_learners(cfg)
    raw, _ = drop_duplicate_movies(load_folder(data_dir, cfg.data, require_rating=True))
    art = out_dir / "artifacts"
    _, _, data = split_and_prepare(raw, cfg, art / "cache")
    storage, names = storage_for(cfg.tuning, art / "tuning"), tuned_learners(cfg, data)
    log.info("%d studies to join (%s); waiting for the run to plan their trials", len(names), ", ".join(names))
    return {name: work(learner_plan(name, cfg, data.train, data.y), cfg.tuning.trials[name], storage,
                       cfg.tuning.worker_wait_seconds) for name in names}
