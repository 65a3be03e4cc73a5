"""explain: the shipped model's importances, the per-film contributions of every input group to the whole
stack's prediction (the latest `report.driver_rows` rated films), a glossary of the columns its learners read, SHAP values of its
tabular learner, the map of the descriptions and how it reads the years after its data: the files the
report draws; one reusable unit."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.config import Config
from pipeline.data.load import MovieData
from pipeline.features.textmap import umap_map
from pipeline.io import write_json, write_table
from pipeline.model.bundle import ModelBundle
from pipeline.model.explain import shap_table
from pipeline.model.groups import column_gloss, feature_group
from pipeline.runner import Folders, Units


def explain(cfg: Config, raw: MovieData, labelled: np.ndarray, bundle: ModelBundle, model_key: str,
            units: Units, folders: Folders) -> dict[str, Any]:
    units.reuse("explain", units.key("explain", model_key, cfg.report.model_dump(mode="json")),
                lambda: (None, explain_model(bundle, raw, labelled, cfg, folders.art)), lambda: None)
    return {}


def explain_model(bundle: ModelBundle, raw: MovieData, labelled: np.ndarray, cfg: Config, art: Path) -> list[Path]:
    """Shipped-model importances, SHAP values of the tabular learner, the description map and the sentence on
    the two release years after the data; the files."""
    frame = bundle.frame(raw.subset(labelled), art / "cache")
    later = int(raw.movies.loc[labelled, "date"].max()) + np.arange(1, 3)
    written = [art / "explain" / "after_the_data.json"]
    write_json(written[0], {"years": later.tolist(), "text": bundle.after_the_data(later, art / "cache")})
    latest = raw.movies.loc[labelled, "date"].sort_values(kind="stable").index[-cfg.report.driver_rows:]
    written.append(art / "explain" / "contributions.parquet")
    write_table(written[-1], bundle.contributions(raw.subset(latest.to_numpy()), art / "cache"))
    written.append(art / "explain" / "glossary.csv")
    write_table(written[-1], glossary(bundle))
    for name, learner in bundle.learners.items():
        imp = learner.head_.importance()
        written.append(art / "importance" / f"{name}_shipped.csv")
        write_table(written[-1], pd.DataFrame({"feature": imp.index, "importance": imp.to_numpy()})
                    .sort_values("importance", ascending=False, ignore_index=True))
    tabular = next((lr for lr in bundle.learners.values() if lr.spec.head == "catboost"), None)
    if tabular is not None:
        values, features = shap_table(tabular, frame, cfg.report, cfg.seed)
        written += [art / "explain" / "shap_values.parquet", art / "explain" / "shap_features.parquet"]
        write_table(written[-2], values)
        write_table(written[-1], features.astype(
            {c: str for c in features.columns if not pd.api.types.is_numeric_dtype(features[c])}))
    vectors = frame.blocks.get("text")
    if vectors is not None:    # description vectors alone when the folder has them, else the text block
        if "description" in raw.embeddings:
            vectors = raw.embeddings["description"][raw.movies.index.get_indexer(labelled)]
        ratings = raw.movies.loc[labelled, "rating"].to_numpy()
        written.append(art / "explain" / "umap.parquet")
        texts = raw.movies.loc[labelled, "description"].fillna("").tolist()
        write_table(written[-1], umap_map(vectors, ratings, labelled, texts, cfg.report, cfg.seed))
    return written


def glossary(bundle: ModelBundle) -> pd.DataFrame:
    """Each family of columns the shipped learners read: its group, its meaning and the learners reading it."""
    rows = [(feature_group(c), *column_gloss(c), name) for name, lr in bundle.learners.items() for c in lr.columns_]
    table = pd.DataFrame(rows, columns=["group", "meaning", "column", "learner"])
    readers = (table.groupby(["group", "column", "meaning"], sort=False)["learner"]
               .agg(lambda s: ", ".join(dict.fromkeys(s))).reset_index())
    # one row per meaning and readers: actor_hist_mean, actor_hist_max... share one line
    return (readers.groupby(["group", "meaning", "learner"], sort=False)["column"]
            .agg(", ".join).reset_index()[["group", "column", "meaning", "learner"]])
