"""Cross-fitted nearest-neighbour ratings: how the movies most similar in text (or poster) rated.

For each embedding block (text, image) and each k, the similarity-weighted mean rating of the
k most cosine-similar movies among those the encoder was fitted on. A linear model on the
embeddings sees only global directions; this sees local neighbourhoods (sequels, sub-genres,
holiday TV movies). `fit_transform` is cross-fitted like the entity encoder: a training row's
features come from the other inner folds only, so its own rating never enters them.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


class NeighbourEncoder:
    def __init__(self, ks: tuple[int, ...] = (10, 50), inner_folds: int = 5, random_state: int = 0,
                 batch: int = 2048):
        self.ks = tuple(ks)
        self.inner_folds = inner_folds
        self.random_state = random_state
        self.batch = batch                      # query rows per similarity product (bounds memory)

    def fit(self, blocks: dict[str, np.ndarray], y: np.ndarray) -> "NeighbourEncoder":
        self.vectors_ = {name: _unit(v) for name, v in blocks.items()}
        self.y_ = np.asarray(y, dtype=np.float64)
        return self

    def transform(self, blocks: dict[str, np.ndarray]) -> pd.DataFrame:
        columns = {}
        for name, fitted in self.vectors_.items():
            query = _unit(blocks[name])
            k_max = min(max(self.ks), len(self.y_))
            sims = np.empty((len(query), k_max), dtype=np.float64)
            idx = np.empty((len(query), k_max), dtype=np.int64)
            for start in range(0, len(query), self.batch):
                s = query[start:start + self.batch] @ fitted.T
                top = np.argpartition(-s, k_max - 1, axis=1)[:, :k_max]
                top_sims = np.take_along_axis(s, top, axis=1)
                order = np.argsort(-top_sims, axis=1, kind="stable")
                idx[start:start + len(s)] = np.take_along_axis(top, order, axis=1)
                sims[start:start + len(s)] = np.take_along_axis(top_sims, order, axis=1)
            weights = np.clip(sims, 1e-6, None)        # nearer movies count more; never negative
            for k in self.ks:         # named by the configured k; fewer fitted movies than k: all of them
                w = weights[:, :k]
                columns[f"{name}_knn{k}"] = (self.y_[idx[:, :k]] * w).sum(axis=1) / w.sum(axis=1)
            columns[f"{name}_knn_similarity"] = sims[:, 0]
        return pd.DataFrame(columns)

    def fit_transform(self, blocks: dict[str, np.ndarray], y: np.ndarray) -> pd.DataFrame:
        """Cross-fitted features for the rows being fitted; then fits on all of them for `transform`."""
        y = np.asarray(y, dtype=np.float64)
        parts, order = [], []
        kfold = KFold(n_splits=self.inner_folds, shuffle=True, random_state=self.random_state)
        for fit_pos, enc_pos in kfold.split(np.arange(len(y))):
            inner = NeighbourEncoder(self.ks, self.inner_folds, batch=self.batch)
            inner.fit({n: v[fit_pos] for n, v in blocks.items()}, y[fit_pos])
            parts.append(inner.transform({n: v[enc_pos] for n, v in blocks.items()}))
            order.append(enc_pos)
        out = pd.concat(parts, ignore_index=True)
        out.index = np.concatenate(order)
        self.fit(blocks, y)
        return out.sort_index().reset_index(drop=True)

    def save(self, path: Path) -> None:
        np.savez(path, y=self.y_, ks=np.array(self.ks), **{f"vectors__{n}": v for n, v in self.vectors_.items()})

    @classmethod
    def load(cls, path: Path, **params: object) -> "NeighbourEncoder":
        with np.load(path, allow_pickle=False) as z:
            enc = cls(tuple(int(k) for k in z["ks"]), **params)
            enc.y_ = z["y"]
            enc.vectors_ = {key.split("__", 1)[1]: z[key] for key in z.files if key.startswith("vectors__")}
        return enc
