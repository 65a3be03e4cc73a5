"""The map of the descriptions: a 2-D UMAP of their vectors, cut into regions named by the words that set each
apart (character names left out: a region of "nick, eddie" says nothing about its stories)."""
from __future__ import annotations

import re
import warnings
from collections import Counter

import numpy as np
import pandas as pd

from pipeline.config import ReportConfig
from pipeline.features.embeddings import tfidf

NAME_SHARE = 0.5          # a word written capitalised in more than this share of its uses is a name


def proper_nouns(texts: list[str]) -> set[str]:
    """Lower-cased words that are mostly written capitalised away from a sentence's start (character and
    place names)."""
    capital, total = Counter(), Counter()
    for text in texts:
        for match in re.finditer(r"(?<![.!?]\s)(?<!^)\b([A-Za-z][a-z]+)\b", text):
            word = match.group(1)
            total[word.lower()] += 1
            capital[word.lower()] += word[0].isupper()
    return {w for w, n in total.items() if capital[w] > NAME_SHARE * n}


def cluster_words(texts: list[str], clusters: np.ndarray, top: int = 3) -> dict[int, str]:
    """Each cluster's most telling words: the largest mean TF-IDF in the cluster above the mean over all texts."""
    vectorizer = tfidf("labels")
    try:
        X = vectorizer.fit_transform(texts)
    except ValueError:                   # no word left (empty or very short texts)
        return {int(c): "" for c in np.unique(clusters)}
    words, overall = vectorizer.get_feature_names_out(), np.asarray(X.mean(axis=0)).ravel()
    names = np.isin(words, sorted(proper_nouns(texts)))
    out = {}
    for c in np.unique(clusters):
        lift = np.where(names, -np.inf, np.asarray(X[clusters == c].mean(axis=0)).ravel() - overall)
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
