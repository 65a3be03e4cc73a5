"""refit: the shipped model: preprocessing, each stacked learner refitted once on every labelled movie,
the stacker's weights and the interval model, saved (and signed, with a key) as the model folder, whose
manifest records the commit the run's code came from and the fingerprint of its data."""
from __future__ import annotations

import hmac
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.artifacts import STACK
from pipeline.config import Config
from pipeline.data.load import MovieData
from pipeline.io import fingerprint
from pipeline.model.bundle import ModelBundle
from pipeline.model.intervals import IntervalModel
from pipeline.model.stacker import Stacker
from pipeline.runner import Folders, Units
from pipeline.runs import git_commit
from pipeline.training.refit import fit_bundle


def refit(cfg: Config, raw: MovieData, labelled: np.ndarray, shipped: Stacker, intervals: IntervalModel,
          metrics: dict, sign_key: bytes | None, data_hashes: dict[str, str], units: Units,
          folders: Folders) -> dict[str, Any]:
    evaluation = leaderboard(metrics)
    model_key = units.key("refit", cfg.model_inputs(), {n: cfg.learners.params.get(n) for n in shipped.learners},
                          shipped.weights().to_dict(), getattr(shipped, "intercept_", None),
                          intervals.to_dict(), intervals.scores_, evaluation,
                          sign_key and hmac.new(sign_key, b"refit checkpoint", "sha256").hexdigest())

    def fit() -> tuple[ModelBundle, list[Path]]:
        staged = folders.staged(folders.art / "model")
        bundle = fit_bundle(raw, cfg, labelled, shipped.learners, shipped, folders.cache, intervals, evaluation)
        bundle.save(staged, sign_key, {"training_commit": git_commit(), "data_fingerprint": fingerprint(data_hashes)})
        return bundle, list(staged.rglob("*"))

    bundle = units.reuse("refit", model_key, fit, lambda: ModelBundle.load(model_folder(folders), sign_key))
    return {"bundle": bundle, "model_dir": model_folder(folders), "model_key": model_key}


def model_folder(folders: Folders) -> Path:
    """The run's model folder: staged by this run (or by one cut short), else published by an earlier one."""
    staged = folders.staged(folders.art / "model")
    return staged if (staged / "manifest.json").is_file() else folders.art / "model"


def leaderboard(metrics: dict) -> dict:
    """What the shipped model tells about its learners (Model.leaderboard): scores, weights, timings."""
    weights = metrics["stacker"]["weights"]
    return {"learners": {n: {"modality": info["modality"], "holdout_rmse": metrics["holdout"][n]["rmse"],
                             "cv_rmse": metrics["cv"][n]["rmse_mean"], "stack_weight": weights.get(n, 0.0),
                             "fit_seconds": info["fit_seconds"], "predict_seconds": info["predict_seconds"]}
                         for n, info in metrics["learners"].items()}
            | {STACK: {"modality": STACK, "holdout_rmse": metrics["holdout"][STACK]["rmse"],
                       "cv_rmse": metrics["cv"][STACK]["rmse_mean"], "stack_weight": None,
                       "fit_seconds": None, "predict_seconds": None}},
            "n_holdout": metrics["split"]["n_holdout"], "cutoff_year": metrics["split"]["cutoff_year"]}
