"""Feature blocks: the transformers a learner's feature matrix is made of, one per block it reads.

Each block is fitted on a learner's training rows and their era-relative target (`fit_transform`, which
cross-fits what is fitted on ratings, so a training row never sees its own), then applied to any rows
(`transform`). Each saves and loads its own fitted state, under the file names a model folder has
always used; a block fitted on nothing (tabular columns, names) has no file.

A fitted block carries `fit_id_`: a digest of its settings and of the rows and targets it was fitted on.
Every fit is seeded, so two blocks with one id hold the same state: learners fitted on the same rows fit
such a block once (pipeline/model/registry.py), a model folder loads it once, and a prediction computes its
features once.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.config import Config
from pipeline.features.embeddings import TfidfSvdVectorizer, fit_pca
from pipeline.features.entities import EntityEncoder
from pipeline.features.frame import MovieFrame
from pipeline.features.history import HistoryEncoder
from pipeline.features.neighbours import NeighbourEncoder
from pipeline.features.sparse import Sparse, SparseDesign
from pipeline.features.text_score import TextScore
from pipeline.model.heads import skops_dump, skops_load

# Blocks a learner may read from a MovieFrame.
TABULAR, ENTITIES, HISTORY, NAMES, TEXT, IMAGE, WORDS, YEAR, NEIGHBOURS, TEXT_SCORE = (
    "tabular", "entities", "history", "names", "text", "image", "words", "year", "neighbours", "text_score")
BLOCKS = (TABULAR, ENTITIES, HISTORY, NAMES, TEXT, IMAGE, WORDS, YEAR, NEIGHBOURS, TEXT_SCORE)
DERIVED_BLOCKS = (NEIGHBOURS, TEXT_SCORE)    # computed from the embedding blocks: nothing without them
EMBEDDING_BLOCKS = (TEXT, IMAGE)


class Block:
    """A block with nothing fitted: its columns are read from the frame."""
    name: str
    fit_id_: str      # what it was fitted on, and how (set by the learner that fits or loads it)

    def key(self) -> str:
        """What the block is before it is fitted: its class and settings (fitted state ends in "_")."""
        return repr((type(self).__name__, settings_of(self)))

    def fit_transform(self, frame: MovieFrame, z: np.ndarray) -> pd.DataFrame:
        return self.transform(frame)

    def transform(self, frame: MovieFrame) -> pd.DataFrame:
        raise NotImplementedError

    def save(self, folder: Path) -> None:
        pass

    def load(self, folder: Path) -> "Block":
        return self


def settings_of(obj: Any) -> dict[str, Any]:
    """An object's attributes that are not fitted state (scikit-learn's convention: those end in "_")."""
    return {k: v for k, v in sorted(vars(obj).items()) if not k.endswith("_")}


class Encoded(Block):
    """A block whose fitted state is one encoder, saved to `file` and loaded with the block's settings."""
    file: str
    kind: Any              # the encoder's class: `.save(path)` and `kind.load(path, **settings)`
    settings: dict[str, Any]

    def save(self, folder: Path) -> None:
        self.encoder_.save(folder / self.file)

    def load(self, folder: Path) -> "Encoded":
        self.encoder_ = self.kind.load(folder / self.file, **self.settings)
        return self


class Columns(Block):
    """Frame columns as they are: the tabular facts, the year alone, or the names as categories."""

    def __init__(self, name: str):
        self.name = name

    def transform(self, frame: MovieFrame) -> pd.DataFrame:
        if self.name == NAMES:
            return frame.names
        return frame.tabular[["year"]] if self.name == YEAR else frame.tabular


class Entities(Encoded):
    """Out-of-fold target encodings of the actors, directors and studios."""
    name, file, kind = ENTITIES, "entities.npz", EntityEncoder

    def __init__(self, cfg: Config):
        e = cfg.entities
        self.settings = {"kinds": e.kinds, "smoothing": e.smoothing, "inner_folds": e.inner_folds,
                         "billing_decay": e.billing_decay}
        self.seed = cfg.seed

    def fit_transform(self, frame: MovieFrame, z: np.ndarray) -> pd.DataFrame:
        self.encoder_ = EntityEncoder(**self.settings, random_state=self.seed)
        return self.encoder_.fit_transform(frame.credits, z)

    def transform(self, frame: MovieFrame) -> pd.DataFrame:
        return self.encoder_.transform(frame.credits)


class History(Encoded):
    """Each name's record before the movie's year (strictly earlier films only)."""
    name, file, kind = HISTORY, "history.npz", HistoryEncoder

    def __init__(self, cfg: Config):
        e = cfg.entities
        self.settings = {"kinds": e.kinds, "smoothing": e.smoothing, "billing_decay": e.billing_decay}

    def fit_transform(self, frame: MovieFrame, z: np.ndarray) -> pd.DataFrame:
        self.encoder_ = HistoryEncoder(**self.settings).fit(frame.credits, frame.tabular["year"].to_numpy(), z)
        return self.transform(frame)

    def transform(self, frame: MovieFrame) -> pd.DataFrame:
        return self.encoder_.transform(frame.credits, frame.tabular["year"].to_numpy())



def neighbour_settings(cfg: Config) -> dict[str, Any]:
    """The neighbour encoder's settings from params.yaml (besides its k), for fitting and for loading."""
    emb = cfg.embeddings
    return {"inner_folds": cfg.entities.inner_folds, "random_state": cfg.seed, "n_components": emb.neighbour_components,
            "exact_max": emb.neighbour_exact_max, "nprobe": emb.neighbour_nprobe}


class Neighbours(Encoded):
    """The ratings of each movie's nearest neighbours in one embedding block (text or image)."""
    name, kind = NEIGHBOURS, NeighbourEncoder
    OLD_FILE = "neighbours.npz"     # format 8 and older: one file for every embedding block the learner read

    def __init__(self, cfg: Config, source: str):
        self.ks, self.settings, self.source = cfg.embeddings.neighbours, neighbour_settings(cfg), source
        self.file = f"neighbours_{source}.npz"

    def fit_transform(self, frame: MovieFrame, z: np.ndarray) -> pd.DataFrame:
        self.encoder_ = NeighbourEncoder(self.ks, **self.settings)
        return self.encoder_.fit_transform({self.source: frame.blocks[self.source]}, z)

    def transform(self, frame: MovieFrame) -> pd.DataFrame:
        return self.encoder_.transform({self.source: frame.blocks[self.source]})

    def load(self, folder: Path) -> "Neighbours":
        if (folder / self.file).is_file():
            return super().load(folder)
        self.encoder_ = NeighbourEncoder.load(folder / self.OLD_FILE, sources=(self.source,), **self.settings)
        return self


class StoryScore(Encoded):
    """A cross-fitted ridge prediction from the text vectors, as one column."""
    name, file, kind = TEXT_SCORE, "text_score.npz", TextScore

    def __init__(self, cfg: Config, alphas: tuple[float, ...]):
        self.settings = {"alphas": alphas, "inner_folds": cfg.entities.inner_folds, "random_state": cfg.seed}

    def fit_transform(self, frame: MovieFrame, z: np.ndarray) -> pd.DataFrame:
        self.encoder_ = TextScore(**self.settings)
        return pd.DataFrame({"text_score": self.encoder_.fit_transform(frame.blocks[TEXT], z)})

    def transform(self, frame: MovieFrame) -> pd.DataFrame:
        return pd.DataFrame({"text_score": self.encoder_.transform(frame.blocks[TEXT])})


class Components(Block):
    """The principal components of one embedding block (text or image), fitted on the training rows."""

    def __init__(self, name: str, n_components: int, seed: int):
        self.name, self.n_components, self.seed = name, n_components, seed
        self.file = f"pca_{name}.skops"

    def fit_transform(self, frame: MovieFrame, z: np.ndarray) -> pd.DataFrame:
        self.pca_ = fit_pca(frame.blocks[self.name], self.n_components, self.seed)
        return self.transform(frame)

    def transform(self, frame: MovieFrame) -> pd.DataFrame:
        comps = self.pca_.transform(frame.blocks[self.name])
        return pd.DataFrame(comps, columns=[f"{self.name}_pc{i + 1}" for i in range(comps.shape[1])])

    def save(self, folder: Path) -> None:
        skops_dump(self.pca_, folder / self.file)

    def load(self, folder: Path) -> "Components":
        self.pca_ = skops_load(folder / self.file)
        return self


class Words(Block):
    """TF-IDF of the texts reduced by SVD, fitted on the training rows."""
    name, file = WORDS, "words.skops"

    def __init__(self, n_components: int, seed: int):
        self.n_components, self.seed = n_components, seed

    def fit_transform(self, frame: MovieFrame, z: np.ndarray) -> pd.DataFrame:
        self.words_ = TfidfSvdVectorizer(self.n_components, self.seed).fit(frame.texts)
        return self.transform(frame)

    def transform(self, frame: MovieFrame) -> pd.DataFrame:
        comps = self.words_.transform(frame.texts)
        return pd.DataFrame(comps, columns=[f"words_svd{i + 1}" for i in range(comps.shape[1])])

    def save(self, folder: Path) -> None:
        skops_dump(self.words_.pipeline_, folder / self.file)

    def load(self, folder: Path) -> "Words":
        self.words_ = TfidfSvdVectorizer()
        self.words_.pipeline_ = skops_load(folder / self.file)
        return self


class Design:
    """The sparse design of the wide ridge (one-hot names, TF-IDF words, spline years, embeddings): one
    block for the whole matrix, fitted without the target."""
    fit_id_: str

    def __init__(self, design: SparseDesign):
        self.design = design

    def key(self) -> str:
        return repr((type(self).__name__, settings_of(self.design)))

    def fit_transform(self, frame: MovieFrame, z: np.ndarray) -> Sparse:
        self.design = self.design.fit(frame)
        return self.transform(frame)

    def transform(self, frame: MovieFrame) -> Sparse:
        return self.design.transform(frame)

    def save(self, folder: Path) -> None:
        self.design.save(folder, skops_dump)

    def load(self, folder: Path) -> "Design":
        self.design = self.design.load(folder, skops_load)
        return self
