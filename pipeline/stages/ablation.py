"""ablation: the stack rebuilt with feature blocks removed from every stacked learner (learners left with
nothing are dropped; learners untouched by the removal reuse their out-of-fold predictions), and the stack
refitted on what a film has when it is greenlit; each row is one reusable unit, added to metrics.json with
its difference from the full stack, paired by holdout film."""
from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.artifacts import GREENLIGHT
from pipeline.config import Config
from pipeline.features.greenlight import at_greenlight
from pipeline.features.prepare import Labelled, Prepared, split_frames
from pipeline.io import read_json, write_json
from pipeline.model.registry import available, blocks_used
from pipeline.progress import track
from pipeline.runner import Folders, Units
from pipeline.training.evaluate import cv_scores, paired_difference, scores
from pipeline.training.oof import OOFResult, run_oof
from pipeline.training.stacking import fit_stack, stack_inputs


def ablation(cfg: Config, prep: Prepared, data: Labelled, results: dict[str, OOFResult], stacked: list[str],
             bag_holdout: np.ndarray, metrics: dict, units: Units, folders: Folders) -> dict[str, Any]:
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
                        [results[n].oof.to_numpy() for n in kept], bag_holdout)
        redo = partial(ablated_stack, cfg, data, results, label, drop, kept, bag_holdout, path)
        rows.append(units.reuse(f"ablation_{i}", key, redo, partial(read_json, path)))
    green = cfg.ablation.greenlight
    path = folders.art / "ablation" / "greenlight.json"
    key = units.key("greenlight", green.model_dump(mode="json"), cfg.model_inputs(),
                    {n: cfg.learners.params.get(n) for n in stacked}, cfg.stacking.model_dump(mode="json"),
                    [results[n].oof.to_numpy() for n in stacked])
    greenlight = units.reuse("ablation_greenlight", key,
                             partial(greenlight_stack, cfg, prep, data, results, stacked, path),
                             partial(read_json, path))
    metrics = metrics | {"ablation": rows, "greenlight": greenlight}
    write_json(folders.staged(folders.art / "metrics.json"), metrics)
    return {"metrics": metrics}


def ablated_stack(cfg: Config, data: Labelled, results: dict[str, OOFResult], label: str, drop: frozenset[str],
                  kept: list[str], full_holdout: np.ndarray, path: Path) -> tuple[dict, list[Path]]:
    """One ablation row: the stack's scores with `drop` removed from the `kept` learners; written to `path`."""
    redone = {n: (results[n] if drop.isdisjoint(blocks_used(n, cfg, data.train))
                  else run_oof(n, cfg, data.train, data.y, data.holdout, data.splits, drop)) for n in kept}
    row = {"ablation": label} | _stack_row(cfg, data, redone, kept, full_holdout)[0]
    write_json(path, row)
    return row, [path]


def greenlight_stack(cfg: Config, prep: Prepared, data: Labelled, results: dict[str, OOFResult], stacked: list[str],
                     path: Path) -> tuple[dict, list[Path]]:
    """The stack of `ablation.greenlight.learners` (null: every stacked learner) refitted out of fold on the
    films as they stand at greenlight, against the same learners' stack on every input (their out-of-fold
    columns of the learners stage: no refit)."""
    green = cfg.ablation.greenlight
    early = split_frames(at_greenlight(prep, cfg, green.withheld, green.leads), prep.data, data.splits)
    kept = [n for n in (green.learners or stacked) if n in stacked and available(n, cfg, early.train)]
    if not kept:
        row = {"ablation": GREENLIGHT, "skipped": "none of ablation.greenlight.learners is stacked in this run"}
        write_json(path, row)
        return row, [path]
    full, full_holdout = _stack_row(cfg, data, results, kept, None)
    redone = {n: run_oof(n, cfg, early.train, early.y, early.holdout, early.splits) for n in kept}
    row = {"ablation": GREENLIGHT, "withheld": list(green.withheld), "leads": green.leads,
           "full": full} | _stack_row(cfg, early, redone, kept, full_holdout)[0]
    write_json(path, row)
    return row, [path]


def _stack_row(cfg: Config, data: Labelled, results: dict[str, OOFResult], kept: list[str],
               full_holdout: np.ndarray | None) -> tuple[dict[str, Any], np.ndarray]:
    """The stack over `results`: its learners, CV and holdout scores and (given the full stack's holdout
    predictions, the fold models' mean as here) its holdout RMSE minus the full stack's, with a paired
    bootstrap interval over holdout films; and its holdout predictions."""
    train, holdout = stack_inputs(data, results, kept, cfg.stacking.raw_features)
    _, cv, hold = fit_stack(cfg.stacking, kept, train, holdout, data.y, data.splits, cfg.seed)
    hold = np.clip(hold, *cfg.data.rating_range)
    e = cfg.evaluation
    row = {"learners": kept, "cv": cv_scores(data.y, cv, data.splits.fold), "holdout": scores(data.y_holdout, hold)}
    if full_holdout is not None:
        row["minus_full"] = paired_difference(data.y_holdout, hold, full_holdout, e.bootstrap, e.ci, cfg.seed)
    return row, hold
