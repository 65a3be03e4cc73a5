"""Cross-fitted nearest-neighbour ratings: how the movies most similar in text (or poster) rated.

For each embedding block (text, image) and each k, the similarity-weighted mean rating of the
k most cosine-similar movies among those the encoder was fitted on. A linear model on the
embeddings sees only global directions; this sees local neighbourhoods (sequels, sub-genres,
holiday TV movies). `fit_transform` is cross-fitted like the entity encoder: a training row's
features come from the other inner folds only, so its own rating never enters them.

Similarity is cosine in a PCA space of each block (`embeddings.neighbour_components`
components; null: the full vectors). The projection is fitted once on the fitted rows' vectors,
which carry no rating, so sharing it across the inner folds leaks nothing. The search is faiss's
exact inner-product k-NN (BLAS products with a heap per query; a full argpartition of every
similarity row was 52% of a 50k-movie run) up to `embeddings.neighbour_exact_max` fitted movies.
Above that, exact search costs fitted x queried similarities (quadratic in the catalogue), so
it goes through an inverted-file index: the fitted vectors are bucketed by the nearest of
4*sqrt(n) spherical k-means centroids (trained once, seeded, on the label-free vectors), and a
query scans the `embeddings.neighbour_nprobe` nearest buckets only: approximate, but a fixed
small share of the catalogue per query.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.data.splits import shuffled_folds
from pipeline.features.embeddings import fit_pca
from pipeline.io import load_arrays


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


def _projection(vectors: np.ndarray, n_components: int | None, seed: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(mean, components) of a PCA of `vectors`, or None to search the vectors as they are."""
    wanted = min(n_components or vectors.shape[1], vectors.shape[0] - 1)
    if wanted >= vectors.shape[1] or wanted < 1:
        return None
    pca = fit_pca(vectors, wanted, seed)
    return pca.mean_.astype(np.float32), pca.components_.astype(np.float32)


LISTS_PER_SQRT = 4      # inverted lists per sqrt(fitted movies): faiss's guideline is 4 to 16


def _centroids(vectors: np.ndarray, exact_max: int | None, seed: int) -> np.ndarray | None:
    """Spherical k-means centroids bucketing the fitted vectors, or None where exact search is cheap."""
    if exact_max is None or len(vectors) <= exact_max:
        return None
    import faiss
    n_lists = min(int(LISTS_PER_SQRT * np.sqrt(len(vectors))), len(vectors))
    kmeans = faiss.Kmeans(vectors.shape[1], n_lists, niter=20, seed=seed, spherical=True, verbose=False)
    kmeans.train(vectors)
    return kmeans.centroids


def _inverted_lists(fitted: np.ndarray, centroids: np.ndarray, nprobe: int) -> Any:
    """A faiss index of the fitted rows bucketed by their nearest centroid."""
    import faiss
    quantizer = faiss.IndexFlatIP(fitted.shape[1])
    quantizer.add(centroids)
    index = faiss.IndexIVFFlat(quantizer, fitted.shape[1], len(centroids), faiss.METRIC_INNER_PRODUCT)
    index.add(fitted)
    index.nprobe = nprobe
    return index


def _search(query: np.ndarray, fitted: np.ndarray, k: int, index: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Similarities and positions of the k most similar fitted rows (unit vectors), most similar first:
    exact, or through the inverted lists of `index` (a query whose probed lists hold fewer than k movies
    is answered exactly)."""
    import faiss
    if index is None:
        sims, idx = faiss.knn(query, fitted, k, metric=faiss.METRIC_INNER_PRODUCT)
        return sims.astype(np.float64), idx
    sims, idx = index.search(query, k)
    short = np.flatnonzero((idx < 0).any(axis=1))
    if len(short):
        sims[short], idx[short] = faiss.knn(query[short], fitted, k, metric=faiss.METRIC_INNER_PRODUCT)
    return sims.astype(np.float64), idx


def _columns(name: str, sims: np.ndarray, ratings: np.ndarray, ks: tuple[int, ...]) -> dict[str, np.ndarray]:
    weights = np.clip(sims, 1e-6, None)          # nearer movies count more; never negative
    out = {}
    for k in ks:                                 # named by the configured k; fewer fitted movies than k: all of them
        w = weights[:, :k]
        out[f"{name}_knn{k}"] = (ratings[:, :k] * w).sum(axis=1) / w.sum(axis=1)
    out[f"{name}_knn_similarity"] = sims[:, 0]
    return out


class NeighbourEncoder:
    def __init__(self, ks: tuple[int, ...] = (10, 50), inner_folds: int = 5, random_state: int = 0,
                 n_components: int | None = None, exact_max: int | None = None, nprobe: int = 32):
        self.ks = tuple(ks)
        self.inner_folds = inner_folds
        self.random_state = random_state
        self.n_components = n_components
        self.exact_max = exact_max          # None: always exact
        self.nprobe = nprobe

    def _space(self, name: str, vectors: np.ndarray) -> np.ndarray:
        projection = self.projection_[name]
        if projection is None:
            return _unit(vectors)
        mean, components = projection
        return _unit((np.asarray(vectors, dtype=np.float32) - mean) @ components.T)

    def fit(self, blocks: dict[str, np.ndarray], y: np.ndarray) -> "NeighbourEncoder":
        self.__dict__.pop("indexes_", None)
        self.projection_ = {name: _projection(v, self.n_components, self.random_state) for name, v in blocks.items()}
        self.vectors_ = {name: self._space(name, v) for name, v in blocks.items()}
        self.centroids_ = {name: _centroids(v, self.exact_max, self.random_state) for name, v in self.vectors_.items()}
        self.y_ = np.asarray(y, dtype=np.float64)
        return self

    def _neighbours(self, name: str, query: np.ndarray, fitted: np.ndarray,
                    index: Any = None) -> tuple[np.ndarray, np.ndarray]:
        centroids = self.centroids_[name]
        if index is None and centroids is not None:
            index = _inverted_lists(fitted, centroids, self.nprobe)
        return _search(query, fitted, min(max(self.ks), len(fitted)), index)

    def transform(self, blocks: dict[str, np.ndarray]) -> pd.DataFrame:
        if not hasattr(self, "indexes_"):    # built once per fitted encoder: every later call (one movie) reuses it
            self.indexes_ = {name: None if c is None else _inverted_lists(self.vectors_[name], c, self.nprobe)
                             for name, c in self.centroids_.items()}
        columns = {}
        for name, fitted in self.vectors_.items():
            sims, idx = self._neighbours(name, self._space(name, blocks[name]), fitted, self.indexes_[name])
            columns |= _columns(name, sims, self.y_[idx], self.ks)
        return pd.DataFrame(columns)

    def fit_transform(self, blocks: dict[str, np.ndarray], y: np.ndarray) -> pd.DataFrame:
        """Cross-fitted features for the rows being fitted; the encoder is then fitted on all of them."""
        self.fit(blocks, y)
        n = len(self.y_)
        columns: dict[str, np.ndarray] = {}
        for fit_pos, enc_pos in shuffled_folds(n, self.inner_folds, self.random_state):
            for name, vectors in self.vectors_.items():
                sims, idx = self._neighbours(name, vectors[enc_pos], vectors[fit_pos])
                for col, values in _columns(name, sims, self.y_[fit_pos][idx], self.ks).items():
                    columns.setdefault(col, np.empty(n))[enc_pos] = values
        return pd.DataFrame(columns)

    def save(self, path: Path) -> None:
        arrays = {"y": self.y_, "ks": np.array(self.ks)}
        for name, vectors in self.vectors_.items():
            arrays[f"vectors__{name}"] = vectors
            if self.projection_[name] is not None:
                arrays[f"mean__{name}"], arrays[f"components__{name}"] = self.projection_[name]
            if self.centroids_[name] is not None:
                arrays[f"centroids__{name}"] = self.centroids_[name]
        np.savez(path, **arrays)

    @classmethod
    def load(cls, path: Path, sources: tuple[str, ...] | None = None, **params: object) -> "NeighbourEncoder":
        """The encoder saved at `path`, with its embedding blocks among `sources` (None: all of them)."""
        z = load_arrays(path)
        enc = cls(tuple(int(k) for k in z["ks"]), **params)
        enc.y_ = z["y"]
        names = [key.split("__", 1)[1] for key in z if key.startswith("vectors__")]
        names = [name for name in names if sources is None or name in sources]
        enc.vectors_ = {name: z[f"vectors__{name}"] for name in names}
        enc.projection_ = {name: (z[f"mean__{name}"], z[f"components__{name}"]) if f"mean__{name}" in z
                           else None for name in names}
        enc.centroids_ = {name: z.get(f"centroids__{name}") for name in names}
        return enc
