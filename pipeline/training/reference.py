"""The simple reference every run compares the stack with: one untuned CatBoost on the same temporal split.

CatBoost (1,500 trees, depth 6, learning rate 0.03, no tuning; `--fast` 300 trees at 0.15: params.yaml's
`evaluation.reference_*`) on release year, runtime, age rating, tagline and description lengths, the three
top-billed actors, the first director and the first studio as native categorical columns, out-of-fold entity
mean/min/max encodings (the pipeline's EntityEncoder) and an out-of-fold ridge prediction from the text
vectors as one more column (its penalty by leave-one-out), fitted on the training films only.
The recipe is fixed on purpose: a reader can rebuild it in a page, and the stack has to earn its complexity
against it (benchmarks/reference_catboost.py and benchmarks/backtest.py score it too).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.config import EvaluationConfig
from pipeline.data.load import MovieData
from pipeline.features.entities import Credits, EntityEncoder
from pipeline.features.text_score import GramRidgeCV

CATEGORICAL = ["age_rating", "actor_1", "actor_2", "actor_3", "director_1", "studio_1"]


def reference_predictions(raw: MovieData, train_ids: np.ndarray, holdout_ids: np.ndarray, cfg: EvaluationConfig,
                          seed: int) -> np.ndarray:
    from catboost import CatBoostRegressor
    from sklearn.model_selection import cross_val_predict

    def table(ids: np.ndarray, credits: dict[str, Credits]) -> pd.DataFrame:
        m = raw.movies.loc[ids]
        out = pd.DataFrame({"year": m["date"].to_numpy(np.float64), "minute": m["minute"].to_numpy(np.float64),
                            "age_rating": m["theatrical_release_age_rating"].fillna("none").astype(str).to_numpy(),
                            "tagline_chars": m["tagline"].str.len().to_numpy(),
                            "description_chars": m["description"].str.len().to_numpy()})
        leads = pd.concat([credits["actor"].lead_names(3).add_prefix("actor_"),
                           credits["director"].lead_names(1).add_prefix("director_"),
                           credits["studio"].lead_names(1).add_prefix("studio_")], axis=1).fillna("none")
        return pd.concat([out, leads], axis=1)

    kinds = ("actor", "director", "studio")
    credits = {part: {k: Credits.from_links(raw.credits[k], ids) for k in kinds}
               for part, ids in (("train", train_ids), ("holdout", holdout_ids))}
    y = raw.movies.loc[train_ids, "rating"].to_numpy(np.float64)
    encoder = EntityEncoder(kinds, random_state=seed)
    keep = [f"{k}_te_{s}" for k in kinds for s in ("mean", "min", "max")]
    encodings = {"train": encoder.fit_transform(credits["train"], y)[keep],
                 "holdout": encoder.transform(credits["holdout"])[keep]}
    rows = raw.movies.index.get_indexer
    frames = {part: pd.concat([table(ids, credits[part]), encodings[part].reset_index(drop=True)], axis=1)
              for part, ids in (("train", train_ids), ("holdout", holdout_ids))}
    sources = [s for s in ("tagline", "description") if s in raw.embeddings]
    if sources:        # a folder without text vectors: the reference goes without its text column
        def vectors(ids: np.ndarray) -> np.ndarray:     # these films' only: not a copy of every film's
            return np.hstack([raw.embeddings[s][rows(ids)] for s in sources])

        train_vectors = vectors(train_ids)
        ridge = GramRidgeCV(alphas=tuple(np.logspace(-1, 3, 9)))     # RidgeCV's penalty and fit, 4x sooner
        frames["train"]["text_ridge"] = cross_val_predict(ridge, train_vectors, y, cv=5)
        frames["holdout"]["text_ridge"] = ridge.fit(train_vectors, y).predict(vectors(holdout_ids))
    model = CatBoostRegressor(iterations=cfg.reference_iterations, depth=6, learning_rate=cfg.reference_learning_rate,
                              random_seed=seed, verbose=0,
                              cat_features=CATEGORICAL, allow_writing_files=False)
    model.fit(frames["train"], y)
    return model.predict(frames["holdout"])
