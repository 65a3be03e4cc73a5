"""What drives the shipped model's predictions, beside the model: its learners' importances and the SHAP values
of its tabular learner (the per-movie reasons of the whole stack: ModelBundle.contributions, grouped by
pipeline/model/groups.py). The explain stage writes them as files; the report only draws them."""
from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.config import ReportConfig
from pipeline.features.frame import MovieFrame
from pipeline.model.heads import CatBoostHead
from pipeline.model.registry import Learner


def fold_importance(importance: pd.DataFrame) -> pd.DataFrame:
    """Mean and sd of a learner's importances over its fold models, largest first."""
    out = pd.DataFrame({"feature": importance.index, "importance": importance.mean(axis=1).to_numpy(),
                        "sd": importance.std(axis=1).fillna(0).to_numpy()})
    return out.sort_values("importance", ascending=False, ignore_index=True)


def shap_table(learner: Learner, frame: MovieFrame, cfg: ReportConfig, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """SHAP values (CatBoost's exact TreeSHAP) and the feature values they explain, for a row sample.

    The learner models ratings relative to their era (pipeline/model/target.py); its SHAP values are
    scaled by each movie's era spread, so they are in rating points like its predictions."""
    if not isinstance(learner.head_, CatBoostHead):
        raise TypeError(f"{learner.name}: SHAP values are drawn for the CatBoost tabular learner")
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(frame), size=min(cfg.shap_rows, len(frame)), replace=False))
    X = learner.features(frame.take(rows))
    spread = learner.target_.spread(frame.tabular["year"].to_numpy()[rows])
    values = learner.head_.contributions(X).values * spread[:, None]
    return pd.DataFrame(values, columns=X.columns), X.assign(movie_id=frame.ids[rows])
