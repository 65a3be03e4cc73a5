"""tune: each base learner with a trial budget, on inner CV of the training rows; the learners stage
then fits with the best parameters found."""
from __future__ import annotations

from typing import Any

from pipeline.config import Config
from pipeline.features.prepare import Labelled
from pipeline.runner import Folders
from pipeline.training.tuning import tune_learners, tuned_config


def tune(cfg: Config, data: Labelled, storage: Any, folders: Folders) -> dict[str, Any]:
    tuning = tune_learners(cfg, data, storage, folders.art / "tuning")
    return {"tuning": tuning, "cfg": tuned_config(cfg, tuning)}
