"""learners: every runnable learner's out-of-fold predictions on the training rows and the mean of its
fold models on the holdout, with per-fold importances; each learner is one reusable unit."""
from __future__ import annotations

from functools import partial
from typing import Any

from pipeline.config import Config
from pipeline.features.prepare import Labelled
from pipeline.io import write_table
from pipeline.model.explain import fold_importance
from pipeline.model.registry import BASELINES
from pipeline.progress import track
from pipeline.runner import Folders, Units
from pipeline.training.oof import OOFResult, run_oof


def learners(cfg: Config, data: Labelled, names: list[str], units: Units, folders: Folders) -> dict[str, Any]:
    art = folders.art

    def fit(name: str) -> tuple[OOFResult, list]:
        result = run_oof(name, cfg, data.train, data.y, data.holdout, data.splits)
        importance = art / "importance" / f"{name}.csv"
        write_table(importance, fold_importance(result.importance))
        return result, [*result.save(art), importance]

    results = {}
    for name in track(names + list(BASELINES), "learners"):
        key = units.key("oof", name, cfg.model_inputs(), cfg.learners.params.get(name))
        results[name] = units.reuse(f"oof_{name}", key, partial(fit, name), partial(OOFResult.load, art, name))
    return {"results": results}
