"""ablation: the stack rebuilt with feature blocks removed from every stacked learner (learners left with
nothing are dropped; learners untouched by the removal reuse their out-of-fold predictions); each row
is one reusable unit, added to metrics.json."""
from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from pipeline.config import Config
from pipeline.features.prepare import Labelled
from pipeline.io import read_json, write_json
from pipeline.model.registry import available, blocks_used
from pipeline.progress import track
from pipeline.runner import Folders, Units
from pipeline.training.evaluate import cv_scores, scores
from pipeline.training.oof import OOFResult, run_oof
from pipeline.training.stacking import fit_stack, stack_inputs


def ablation(cfg: Config, data: Labelled, results: dict[str, OOFResult], stacked: list[str], metrics: dict,
             units: Units, folders: Folders) -> dict[str, Any]:
    rows = []
    for i, (label, blocks) in enumerate(track(list(cfg.ablation.drop.items()), "ablation")):
        drop = frozenset(blocks)
        kept = [n for n in stacked if available(n, cfg, data.train, drop)]
        if not kept:
            continue
        if kept == stacked and all(drop.isdisjoint(blocks_used(n, cfg, data.train)) for n in kept):
            rows.append({"ablation": label, "skipped": "no stacked learner reads these features on this data"})
            continue
        path = folders.art / "ablation" / f"{i}.json"
        key = units.key("ablation", label, sorted(drop), cfg.model_inputs(),
                        {n: cfg.learners.params.get(n) for n in kept}, cfg.stacking.model_dump(mode="json"),
                        [results[n].oof.to_numpy() for n in kept])
        rows.append(units.reuse(f"ablation_{i}", key, partial(ablated_stack, cfg, data, results, label, drop, kept,
                                                              path), partial(read_json, path)))
    metrics = metrics | {"ablation": rows}
    write_json(folders.staged(folders.art / "metrics.json"), metrics)
    return {"metrics": metrics}


def ablated_stack(cfg: Config, data: Labelled, results: dict[str, OOFResult], label: str, drop: frozenset[str],
                  kept: list[str], path: Path) -> tuple[dict, list[Path]]:
    """One ablation row: the stack's scores with `drop` removed from the `kept` learners; written to `path`."""
    redone = {n: (results[n] if drop.isdisjoint(blocks_used(n, cfg, data.train))
                  else run_oof(n, cfg, data.train, data.y, data.holdout, data.splits, drop)) for n in kept}
    train, holdout = stack_inputs(data, redone, kept, cfg.stacking.raw_features)
    _, cv, hold = fit_stack(cfg.stacking, kept, train, holdout, data.y, data.splits, cfg.seed)
    row = {"ablation": label, "learners": kept, "cv": cv_scores(data.y, cv, data.splits.fold),
           "holdout": scores(data.y_holdout, hold)}
    write_json(path, row)
    return row, [path]
