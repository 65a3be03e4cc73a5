"""learners: every runnable learner's out-of-fold predictions on the training rows and the mean of its
fold models on the holdout, with per-fold importances; each learner is one reusable unit."""
from __future__ import annotations

from functools import partial
from typing import Any

from pipeline.config import Config
from pipeline.features.prepare import Labelled
from pipeline.io import write_table
from pipeline.model.explain import fold_importance
from pipeline.model.registry import BASELINES, BlockMemo, make_learner
from pipeline.progress import track
from pipeline.runner import Folders, Units
from pipeline.training.oof import OOFResult, run_oof


def learners(cfg: Config, data: Labelled, names: list[str], units: Units, folders: Folders) -> dict[str, Any]:
    art = folders.art

    everyone = names + list(BASELINES)
    # per fold, the blocks learners share (fitted once; a learner whose result is reused fits nothing, and
    # what only it would have released is dropped with the stage)
    planned = [make_learner(n, cfg) for n in everyone]
    memos = [BlockMemo(planned, set(data.train.blocks)) for _ in range(data.splits.n_folds)]

    def fit(name: str) -> tuple[OOFResult, list]:
        result = run_oof(name, cfg, data.train, data.y, data.holdout, data.splits, memos=memos)
        importance = art / "importance" / f"{name}.csv"
        write_table(importance, fold_importance(result.importance))
        return result, [*result.save(art), importance]

    results = {}
    for name in track(everyone, "learners"):
        key = units.key("oof", name, cfg.model_inputs(), cfg.learners.params.get(name))
        results[name] = units.reuse(f"oof_{name}", key, partial(fit, name), partial(OOFResult.load, art, name))
    return {"results": results}
