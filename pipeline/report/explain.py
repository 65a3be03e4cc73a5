"""What drives the predictions, for the report: native importances, SHAP values, an embedding map (the
reason groups of per-movie reasons: pipeline/model/groups.py)."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from pipeline.config import ReportConfig
from pipeline.features.embeddings import tfidf
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


def cluster_words(texts: list[str], clusters: np.ndarray, top: int = 3) -> dict[int, str]:
    """Each cluster's most telling words: the largest mean TF-IDF in the cluster above the mean over all texts."""
    vectorizer = tfidf("labels")
    try:
        X = vectorizer.fit_transform(texts)
    except ValueError:                   # no word left (empty or very short texts)
        return {int(c): "" for c in np.unique(clusters)}
    words, overall = vectorizer.get_feature_names_out(), np.asarray(X.mean(axis=0)).ravel()
    out = {}
    for c in np.unique(clusters):
        lift = np.asarray(X[clusters == c].mean(axis=0)).ravel() - overall
        out[int(c)] = ", ".join(words[np.argsort(-lift)[:top]])
    return out


def nearest(distances: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's k nearest columns of a distance matrix (itself included) and their distances, nearest first."""
    index = np.argpartition(distances, k - 1, axis=1)[:, :k]
    near = np.take_along_axis(distances, index, axis=1)
    order = np.argsort(near, axis=1, kind="stable")
    return np.take_along_axis(index, order, axis=1), np.take_along_axis(near, order, axis=1)


def umap_map(vectors: np.ndarray, ratings: np.ndarray, movie_ids: np.ndarray, texts: list[str],
             cfg: ReportConfig, seed: int) -> pd.DataFrame:
    """2-D UMAP of (description) vectors for a sample of labelled movies, for the report's map, with
    k-means clusters of the map named by their descriptions' most telling words."""
    import umap
    from sklearn.cluster import KMeans
    from sklearn.metrics.pairwise import cosine_distances
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(vectors), size=min(cfg.umap_rows, len(vectors)), replace=False))
    # cosine distances by BLAS (below 4,096 rows UMAP would call its metric once per pair from Python), and
    # the nearest neighbours in them given to UMAP: its own search of the same matrix is numba code compiled
    # afresh in every process (10 s of the case run's 19 s explain stage); the same neighbours, up to the
    # order of equal distances (duplicate descriptions)
    distances = cosine_distances(vectors[rows])
    k = min(cfg.umap_neighbors, len(rows) - 1)
    reducer = umap.UMAP(n_neighbors=k, min_dist=cfg.umap_min_dist, metric="precomputed", random_state=seed,
                        n_jobs=1, precomputed_knn=(*nearest(distances, k), None))
    with warnings.catch_warnings():      # "inverse_transform/transform will be unavailable": the map needs neither
        warnings.filterwarnings("ignore", message="using precomputed metric", category=UserWarning)
        warnings.filterwarnings("ignore", message=r"precomputed_knn\[2\]", category=UserWarning)
        xy = reducer.fit_transform(distances)
    clusters = KMeans(min(cfg.umap_clusters, len(rows)), n_init=4, random_state=seed).fit_predict(xy)
    words = cluster_words([texts[i] for i in rows], clusters)
    return pd.DataFrame({"movie_id": movie_ids[rows], "x": xy[:, 0], "y": xy[:, 1], "rating": ratings[rows],
                         "cluster": clusters, "words": [words[c] for c in clusters]})
