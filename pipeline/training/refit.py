"""The shipped recipe fitted: preprocessing and every stacked learner refitted on the labelled rows, with the
stacker and interval model of the cross-validated stages; and the holdout predicted by that recipe fitted on
the training rows only (what the report scores)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.config import Config
from pipeline.data.load import MovieData
from pipeline.data.splits import Splits
from pipeline.features.prepare import prepare
from pipeline.model.bundle import ModelBundle
from pipeline.model.catalogue import Catalogue
from pipeline.model.intervals import IntervalModel
from pipeline.model.registry import fit_learners
from pipeline.model.stacker import Stacker


def fit_bundle(data: MovieData, cfg: Config, fit_ids: np.ndarray, learner_names: list[str], stacker: Stacker,
               cache_dir: Path, intervals: IntervalModel | None = None, evaluation: dict | None = None) -> ModelBundle:
    """Refit preprocessing and every stacked learner on `fit_ids` (all labelled rows) for shipping; the
    stacker, the interval model and the evaluation come from the cross-validated stages before."""
    prep = prepare(data, cfg, fit_ids, cache_dir)
    rows = prep.data.movies.index.get_indexer(fit_ids)
    frame, y = prep.frame(cfg, fit_ids), prep.data.movies["rating"].to_numpy()[rows]
    learners = fit_learners(learner_names, cfg, frame, y)
    # the reasons' baseline: a film of the last training year (what a producer's film is compared with:
    # one released now, so "release year" is the era's move since), other raw columns at their means
    reference = {col: float(frame.tabular[col].astype(np.float64).mean()) for col in stacker.cfg.raw_features}
    reference["year"] = float(frame.tabular["year"].max())
    catalogue = Catalogue.build(data, prep.data, rows, prep.vectors)
    return ModelBundle(cfg, prep.stats, prep.spec, learners, stacker, reference, catalogue, intervals,
                       evaluation or {})


def shipped_holdout(raw: MovieData, cfg: Config, splits: Splits, stacker: Stacker, cache: Path) -> np.ndarray:
    """The holdout predicted through `ModelBundle.predict` by the shipped recipe fitted on the training rows
    only (preprocessing, each stacked learner refitted once, the stacker's weights): what the report scores."""
    bundle = fit_bundle(raw, cfg, splits.train_ids, stacker.learners, stacker, cache)
    preds = bundle.predict(raw.subset(splits.holdout_ids), cache).set_index("movie_id")
    return preds.loc[splits.holdout_ids, "predicted_rating"].clip(*cfg.data.rating_range).to_numpy()
