"""The learner registry: name -> which feature blocks it reads and which head fits them.

A Learner's `fit` holds everything fitted on ratings (entity target encodings) and on
training rows (PCA), so running it inside cross-validation nests them automatically.
Adding a learner is adding one REGISTRY entry; its defaults live in params.yaml under
`learners.params.<name>`.
"""
from __future__ import annotations

import difflib
import importlib.util
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from pipeline.config import Config
from pipeline.errors import InputError
from pipeline.features.embeddings import TfidfSvdVectorizer, fit_pca
from pipeline.features.entities import EntityEncoder
from pipeline.features.frame import MovieFrame
from pipeline.features.history import HistoryEncoder
from pipeline.features.neighbours import NeighbourEncoder
from pipeline.features.sparse import Sparse, SparseDesign
from pipeline.features.text_score import TextScore
from pipeline.io import read_json
from pipeline.learners.heads import (
    CatBoostHead,
    LGBMHead,
    LinearHead,
    MeanHead,
    SparseRidgeHead,
    XGBHead,
    skops_dump,
    skops_load,
)
from pipeline.learners.seednet import SeedNetHead
from pipeline.learners.target import EraTarget

# Blocks a learner may read from a MovieFrame.
TABULAR, ENTITIES, HISTORY, NAMES, TEXT, IMAGE, WORDS, YEAR, NEIGHBOURS, TEXT_SCORE = (
    "tabular", "entities", "history", "names", "text", "image", "words", "year", "neighbours", "text_score")
BLOCKS = (TABULAR, ENTITIES, HISTORY, NAMES, TEXT, IMAGE, WORDS, YEAR, NEIGHBOURS, TEXT_SCORE)
DERIVED_BLOCKS = (NEIGHBOURS, TEXT_SCORE)    # computed from the embedding blocks: nothing without them
EMBEDDING_BLOCKS = (TEXT, IMAGE)
# learner parameters that shape the features, not the head
FEATURE_PARAMS = ("n_components", "max_words", "n_knots", "text_alphas")

def catboost_space(trial: Any) -> dict[str, Any]:
    return {"depth": trial.suggest_int("depth", 4, 7),
            "learning_rate": trial.suggest_float("learning_rate", 0.03, 0.15, log=True),
            "l2_leaf_reg": trial.suggest_float("l2_leaf_reg", 1.0, 30.0, log=True),
            "iterations": trial.suggest_int("iterations", 200, 900, step=100),
            "random_strength": trial.suggest_float("random_strength", 0.1, 3.0, log=True)}


def lgbm_space(trial: Any) -> dict[str, Any]:
    return {"n_estimators": trial.suggest_int("n_estimators", 200, 1200, step=100),
            "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.1, log=True),
            "num_leaves": trial.suggest_int("num_leaves", 7, 63),
            "min_child_samples": trial.suggest_int("min_child_samples", 5, 80),
            "subsample": trial.suggest_float("subsample", 0.5, 1.0), "subsample_freq": 1,
            "colsample_bytree": trial.suggest_float("colsample_bytree", 0.3, 1.0),
            "reg_lambda": trial.suggest_float("reg_lambda", 0.001, 10.0, log=True)}


def xgboost_space(trial: Any) -> dict[str, Any]:
    return {"n_estimators": trial.suggest_int("n_estimators", 200, 1200, step=100),
            "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.1, log=True),
            "max_depth": trial.suggest_int("max_depth", 3, 8),
            "min_child_weight": trial.suggest_float("min_child_weight", 1.0, 30.0, log=True),
            "subsample": trial.suggest_float("subsample", 0.5, 1.0),
            "colsample_bytree": trial.suggest_float("colsample_bytree", 0.3, 1.0),
            "reg_lambda": trial.suggest_float("reg_lambda", 0.01, 30.0, log=True)}


def ridge_space(trial: Any) -> dict[str, Any]:
    return {"alpha": trial.suggest_float("alpha", 0.1, 1000.0, log=True),
            "n_components": trial.suggest_int("n_components", 32, 384, step=32)}


def words_space(trial: Any) -> dict[str, Any]:
    """Only the penalty: refitting TF-IDF + SVD per component count would dominate the tuning time."""
    return {"alpha": trial.suggest_float("alpha", 1.0, 3000.0, log=True)}


def wide_ridge_space(trial: Any) -> dict[str, Any]:
    return {"alpha": trial.suggest_float("alpha", 1.0, 300.0, log=True)}


def seed_net_space(trial: Any) -> dict[str, Any]:
    return {"learning_rate": trial.suggest_float("learning_rate", 0.0003, 0.01, log=True),
            "dropout": trial.suggest_float("dropout", 0.0, 0.5),
            "weight_decay": trial.suggest_float("weight_decay", 0.000001, 0.01, log=True)}


def with_components(space: Callable[[Any], dict[str, Any]], low: int, high: int) -> Callable[[Any], dict[str, Any]]:
    """A booster's space plus the number of PCA components of its embedding block."""
    return lambda trial: space(trial) | {"n_components": trial.suggest_int("n_components", low, high)}


@dataclass(frozen=True)
class LearnerSpec:
    modality: str                 # the modality it represents in the comparison: tabular/text/image/all/baseline
    blocks: tuple[str, ...]
    head: str                     # catboost | lgbm | xgboost | ridge | sparse_ridge | seed_net | mean | trend
    space: Callable[[Any], dict[str, Any]] | None = None    # Optuna search space; defaults live in params.yaml


REGISTRY: dict[str, LearnerSpec] = {
    "tabular_catboost": LearnerSpec("tabular", (TABULAR, ENTITIES, HISTORY, NAMES), "catboost", catboost_space),
    "tabular_lgbm": LearnerSpec("tabular", (TABULAR, ENTITIES, HISTORY), "lgbm", lgbm_space),
    "tabular_xgboost": LearnerSpec("tabular", (TABULAR, ENTITIES, HISTORY), "xgboost", xgboost_space),
    "text_ridge": LearnerSpec("text", (TEXT,), "ridge", ridge_space),
    "text_lgbm": LearnerSpec("text", (TEXT, NEIGHBOURS), "lgbm", with_components(lgbm_space, 8, 64)),
    "words_ridge": LearnerSpec("text", (WORDS,), "ridge", words_space),
    "image_ridge": LearnerSpec("image", (IMAGE,), "ridge", ridge_space),
    "image_lgbm": LearnerSpec("image", (IMAGE, NEIGHBOURS), "lgbm", with_components(lgbm_space, 8, 64)),
    "all_lgbm": LearnerSpec("all", (TABULAR, ENTITIES, HISTORY, TEXT, IMAGE, NEIGHBOURS), "lgbm",
                            with_components(lgbm_space, 4, 32)),
    "story_catboost": LearnerSpec("all", (TABULAR, ENTITIES, HISTORY, NAMES, TEXT_SCORE), "catboost", catboost_space),
    "all_catboost": LearnerSpec("all", (TABULAR, ENTITIES, HISTORY, NAMES, TEXT, IMAGE, NEIGHBOURS), "catboost",
                                with_components(catboost_space, 4, 32)),
    "all_ridge": LearnerSpec("all", (TABULAR, ENTITIES, WORDS, TEXT, IMAGE), "sparse_ridge", wide_ridge_space),
    "seed_net": LearnerSpec("all", (TABULAR, ENTITIES, HISTORY, TEXT, IMAGE), "seed_net", seed_net_space),
    "baseline_mean": LearnerSpec("baseline", (), "mean"),
    "baseline_year_trend": LearnerSpec("baseline", (YEAR,), "trend"),
}
BASELINES = ("baseline_mean", "baseline_year_trend")


HEADS: dict[str, type] = {"catboost": CatBoostHead, "lgbm": LGBMHead, "xgboost": XGBHead, "ridge": LinearHead,
                          "sparse_ridge": SparseRidgeHead, "seed_net": SeedNetHead, "trend": LinearHead,
                          "mean": MeanHead}
# heads whose library is an optional extra: learners using them are skipped when it is absent
OPTIONAL_LIBRARY = {"seed_net": "torch"}


def neighbour_settings(cfg: Config) -> dict[str, Any]:
    """The neighbour encoder's settings from params.yaml (besides its k), for fitting and for loading."""
    emb = cfg.embeddings
    return {"inner_folds": cfg.entities.inner_folds, "random_state": cfg.seed, "n_components": emb.neighbour_components,
            "exact_max": emb.neighbour_exact_max, "nprobe": emb.neighbour_nprobe}


class Learner:
    """One base learner: builds its feature matrix from a MovieFrame, then fits its head."""

    def __init__(self, name: str, params: dict[str, Any], cfg: Config, drop: frozenset[str] = frozenset()):
        self.name = name
        spec, removed = REGISTRY[name], removed_blocks(cfg, drop)
        self.spec = replace(spec, blocks=tuple(b for b in spec.blocks if b not in removed))
        self.params = dict(params)
        self.cfg = cfg

    def _encoder(self) -> EntityEncoder:
        e = self.cfg.entities
        return EntityEncoder(e.kinds, e.smoothing, e.inner_folds, e.billing_decay, self.cfg.seed)

    def _n_components(self) -> int:
        """The learner's own `n_components`, else embeddings.n_components."""
        return int(self.params.get("n_components", self.cfg.embeddings.n_components))

    def _embeddings(self, frame: MovieFrame) -> dict[str, np.ndarray]:
        return {b: frame.blocks[b] for b in EMBEDDING_BLOCKS if b in self.spec.blocks and b in frame.blocks}

    def _sparse_design(self) -> SparseDesign:
        e = self.cfg.entities
        return SparseDesign(self.spec.blocks, e.kinds, e.billing_decay, int(self.params["max_words"]),
                            int(self.params["n_knots"]), self.cfg.seed, self.params.get("n_components"))

    def sparse_features(self, frame: MovieFrame, fitting: bool = False) -> Sparse:
        if fitting:
            self.design_ = self._sparse_design().fit(frame)
        return self.design_.transform(frame)

    def features(self, frame: MovieFrame, y: np.ndarray | None = None) -> pd.DataFrame | Sparse:
        """The head's input. With `y` (fitting), fits the encoders and PCA on these rows first."""
        from sklearn.decomposition import PCA
        if y is not None:
            self.pca_: dict[str, PCA] = {}
        if HEADS[self.spec.head].sparse:
            return self.sparse_features(frame, fitting=y is not None)
        parts: list[pd.DataFrame] = []
        blocks = self.spec.blocks
        if TABULAR in blocks:
            parts.append(frame.tabular)
        if YEAR in blocks:
            parts.append(frame.tabular[["year"]])
        if ENTITIES in blocks:
            if y is not None:
                self.encoder_ = self._encoder()
                parts.append(self.encoder_.fit_transform(frame.credits, y))
            else:
                parts.append(self.encoder_.transform(frame.credits))
        if HISTORY in blocks:
            years = frame.tabular["year"].to_numpy()
            if y is not None:
                e = self.cfg.entities
                self.history_ = HistoryEncoder(e.kinds, e.smoothing, e.billing_decay).fit(frame.credits, years, y)
            parts.append(self.history_.transform(frame.credits, years))
        if NAMES in blocks:
            parts.append(frame.names)
        if NEIGHBOURS in blocks and self._embeddings(frame):
            if y is not None:
                self.neighbours_ = NeighbourEncoder(self.cfg.embeddings.neighbours, **neighbour_settings(self.cfg))
                parts.append(self.neighbours_.fit_transform(self._embeddings(frame), y))
            else:
                parts.append(self.neighbours_.transform(self._embeddings(frame)))
        if TEXT_SCORE in blocks and TEXT in frame.blocks:
            if y is not None:
                self.text_score_ = TextScore(tuple(self.params["text_alphas"]), self.cfg.entities.inner_folds,
                                             self.cfg.seed)
                score = self.text_score_.fit_transform(frame.blocks[TEXT], y)
            else:
                score = self.text_score_.transform(frame.blocks[TEXT])
            parts.append(pd.DataFrame({"text_score": score}))
        for block in EMBEDDING_BLOCKS:
            if block in blocks and block in frame.blocks:
                if y is not None:
                    self.pca_[block] = fit_pca(frame.blocks[block], self._n_components(), self.cfg.seed)
                comps = self.pca_[block].transform(frame.blocks[block])
                parts.append(pd.DataFrame(comps, columns=[f"{block}_pc{i + 1}" for i in range(comps.shape[1])]))
        if WORDS in blocks:
            if y is not None:
                dim = self._n_components()
                self.words_ = TfidfSvdVectorizer(dim, self.cfg.seed).fit(frame.texts)
            comps = self.words_.transform(frame.texts)
            parts.append(pd.DataFrame(comps, columns=[f"words_svd{i + 1}" for i in range(comps.shape[1])]))
        if not parts:
            return pd.DataFrame(index=np.arange(len(frame)))
        return pd.concat([p.reset_index(drop=True) for p in parts], axis=1)

    def fit(self, frame: MovieFrame, y: np.ndarray) -> "Learner":
        head_params = {k: v for k, v in self.params.items() if k not in FEATURE_PARAMS}
        mode = "raw" if self.spec.modality == "baseline" else self.cfg.learners.target
        years = frame.tabular["year"].to_numpy()
        self.target_ = EraTarget(mode, self.cfg.learners.trend_after).fit(years, y)
        z = self.target_.transform(years, y)
        X = self.features(frame, z)
        self.columns_ = list(X.columns)
        self.head_ = HEADS[self.spec.head](head_params, self.cfg.seed).fit(X, z)
        return self

    def predict(self, frame: MovieFrame, X: pd.DataFrame | Sparse | None = None) -> np.ndarray:
        """Ratings of the frame's movies; `X`: their features, when the caller has built them already."""
        z = np.asarray(self.head_.predict(self.features(frame) if X is None else X), dtype=np.float64)
        return self.target_.inverse(frame.tabular["year"].to_numpy(), z)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.head_.save(folder)
        if hasattr(self, "encoder_"):
            self.encoder_.save(folder / "entities.npz")
        if hasattr(self, "history_"):
            self.history_.save(folder / "history.npz")
        if hasattr(self, "words_"):
            skops_dump(self.words_.pipeline_, folder / "words.skops")
        if hasattr(self, "neighbours_"):
            self.neighbours_.save(folder / "neighbours.npz")
        if hasattr(self, "text_score_"):
            self.text_score_.save(folder / "text_score.npz")
        if hasattr(self, "design_"):
            self.design_.save(folder, skops_dump)
        for block, pca in self.pca_.items():
            skops_dump(pca, folder / f"pca_{block}.skops")
        (folder / "learner.json").write_text(json.dumps(
            {"name": self.name, "params": self.params, "columns": self.columns_,
             "pca": sorted(self.pca_), "target": self.target_.to_dict()}, indent=2))

    @classmethod
    def load(cls, folder: Path, cfg: Config) -> "Learner":
        meta = read_json(folder / "learner.json")
        learner = cls(meta["name"], meta["params"], cfg)
        learner.columns_ = meta["columns"]
        learner.target_ = EraTarget.from_dict(meta["target"])
        learner.head_ = HEADS[learner.spec.head].load(folder)
        learner.pca_ = {b: skops_load(folder / f"pca_{b}.skops") for b in meta["pca"]}
        if HEADS[learner.spec.head].sparse:
            learner.design_ = learner._sparse_design().load(folder, skops_load)
            return learner
        e = cfg.entities
        if ENTITIES in learner.spec.blocks:
            learner.encoder_ = EntityEncoder.load(folder / "entities.npz", kinds=e.kinds, smoothing=e.smoothing,
                                                  inner_folds=e.inner_folds, billing_decay=e.billing_decay)
        if HISTORY in learner.spec.blocks:
            learner.history_ = HistoryEncoder.load(folder / "history.npz", kinds=e.kinds, smoothing=e.smoothing,
                                                   billing_decay=e.billing_decay)
        if WORDS in learner.spec.blocks:
            learner.words_ = TfidfSvdVectorizer()
            learner.words_.pipeline_ = skops_load(folder / "words.skops")
        if (folder / "neighbours.npz").exists():
            learner.neighbours_ = NeighbourEncoder.load(folder / "neighbours.npz", **neighbour_settings(cfg))
        if (folder / "text_score.npz").exists():
            learner.text_score_ = TextScore.load(folder / "text_score.npz", alphas=tuple(meta["params"]["text_alphas"]),
                                                 inner_folds=e.inner_folds, random_state=cfg.seed)
        return learner


def removed_blocks(cfg: Config, drop: frozenset[str] = frozenset()) -> frozenset[str]:
    """The blocks a learner does not read: params.yaml's learners.exclude_blocks, and an ablation's `drop`."""
    removed = frozenset(cfg.learners.exclude_blocks) | drop
    return removed | {TEXT_SCORE} if TEXT in removed else removed    # the text score is made of the text


def blocks_used(name: str, cfg: Config, frame: MovieFrame, drop: frozenset[str] = frozenset()) -> frozenset[str]:
    """The feature blocks a learner actually reads from this frame (removed blocks and absent embeddings
    excluded; neighbour ratings exist only over some embedding block)."""
    removed = removed_blocks(cfg, drop)
    used = {b for b in REGISTRY[name].blocks if b not in removed and (b not in EMBEDDING_BLOCKS or b in frame.blocks)}
    if used.isdisjoint(EMBEDDING_BLOCKS):
        used.discard(NEIGHBOURS)
    if TEXT not in frame.blocks:
        used.discard(TEXT_SCORE)
    return frozenset(used)


def available(name: str, cfg: Config, frame: MovieFrame, drop: frozenset[str] = frozenset()) -> bool:
    """A learner runs if it keeps some feature block and the frame has the embedding blocks it needs
    (the all-modality learner only needs one of its blocks). Neighbour ratings alone are not enough:
    they are derived from the embedding blocks. Baselines take no part in an ablation (`drop`)."""
    removed = removed_blocks(cfg, drop)
    blocks = [b for b in REGISTRY[name].blocks if b not in removed and b not in DERIVED_BLOCKS]
    library = OPTIONAL_LIBRARY.get(REGISTRY[name].head)
    if library is not None and importlib.util.find_spec(library) is None:
        return False
    present = [b not in EMBEDDING_BLOCKS or b in frame.blocks for b in blocks]
    if REGISTRY[name].modality == "baseline":
        return not drop
    return bool(blocks) and (any(present) if REGISTRY[name].modality == "all" else all(present))


def make_learner(name: str, cfg: Config, drop: frozenset[str] = frozenset()) -> Learner:
    """A fresh learner with its params.yaml (or tuned) parameters; `drop` removes feature blocks (ablation)."""
    if name not in REGISTRY:
        raise KeyError(f"unknown learner '{name}'; known: {', '.join(REGISTRY)}")
    return Learner(name, cfg.learners.params.get(name, {}), cfg, drop)


def check_learners(cfg: Config) -> None:
    """Every learner, learner parameter and feature block params.yaml names exists (did-you-mean if not)."""
    for name in cfg.learners.enabled + tuple(cfg.learners.params) + tuple(cfg.tuning.trials):
        if name not in REGISTRY:
            raise InputError("params.yaml", f"parameter 'learners': unknown learner '{name}'; "
                             f"known: {', '.join(REGISTRY)}")
    for name, params in cfg.learners.params.items():
        known = HEADS[REGISTRY[name].head].parameters() | set(FEATURE_PARAMS)
        for key in sorted(set(params) - known):
            close = difflib.get_close_matches(key, sorted(known), n=1)
            raise InputError("params.yaml", f"parameter 'learners.params.{name}.{key}': {name}'s "
                             f"{REGISTRY[name].head} head has no such parameter"
                             + (f"; did you mean '{close[0]}'?" if close else ""))
    for block in cfg.learners.exclude_blocks:
        if block not in BLOCKS:
            raise InputError("params.yaml", f"parameter 'learners.exclude_blocks': unknown feature block '{block}'; "
                             f"known: {', '.join(BLOCKS)}")
