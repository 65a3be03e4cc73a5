"""The learner registry: name -> which feature blocks it reads and which head fits them.

A Learner's `fit` holds everything fitted on ratings (credit encodings) and on
training rows (PCA), so running it inside cross-validation nests them automatically.
Adding a learner is adding one REGISTRY entry; its defaults live in params.yaml under
`learners.params.<name>`.
"""
from __future__ import annotations

import difflib
import importlib.util
import json
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd

from pipeline.config import Config
from pipeline.errors import InputError
from pipeline.features.frame import MovieFrame
from pipeline.features.sparse import Sparse, SparseDesign
from pipeline.io import fingerprint, read_json
from pipeline.model.blocks import (
    BLOCKS,
    DERIVED_BLOCKS,
    EMBEDDING_BLOCKS,
    ENTITIES,
    HISTORY,
    IMAGE,
    NAMES,
    NEIGHBOURS,
    TABULAR,
    TEXT,
    TEXT_SCORE,
    WORDS,
    YEAR,
    Block,
    Columns,
    Components,
    Design,
    Entities,
    History,
    Neighbours,
    StoryScore,
    Words,
)
from pipeline.model.heads import CatBoostHead, LGBMHead, LinearHead, MeanHead, SparseRidgeHead, XGBHead
from pipeline.model.seednet import SeedNetHead
from pipeline.model.target import EraTarget

# learner parameters that shape the features, not the head
FEATURE_PARAMS = ("n_components", "max_words", "n_knots", "text_alphas")
SETTINGS = ("name", "cfg", "drop")      # a learner's parameters besides its head's and its features'


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
    "all_ridge": LearnerSpec("all", (TABULAR, NAMES, WORDS, TEXT, IMAGE), "sparse_ridge", wide_ridge_space),
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


class Learner:
    """One base learner, shaped like a scikit-learn estimator: `get_params`, `set_params` and
    `sklearn.base.clone` work (tuning clones one per trial), `fit(frame, y)`, `predict(frame)`.

    Like scikit-learn's TransformedTargetRegressor, `fit` moves the ratings to the era-relative target
    (EraTarget, fitted on the learner's own rows), fits everything inside on it (the feature blocks,
    pipeline/model/blocks.py, then the head) and `predict` maps the head's output back to ratings.
    Everything fitted on ratings is fitted inside `fit`, so cross-validation nests it automatically."""

    def __init__(self, name: str, cfg: Config, drop: frozenset[str] = frozenset(), **params: Any):
        self.name, self.cfg, self.drop, self.params = name, cfg, drop, params

    @property
    def spec(self) -> LearnerSpec:
        """The registry's entry, without the blocks params.yaml or an ablation removes."""
        removed = removed_blocks(self.cfg, self.drop)
        return replace(REGISTRY[self.name], blocks=tuple(b for b in REGISTRY[self.name].blocks if b not in removed))

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"name": self.name, "cfg": self.cfg, "drop": self.drop, **self.params}

    def set_params(self, **params: Any) -> "Learner":
        unknown = sorted(set(params) - set(SETTINGS) - known_parameters(self.name))
        if unknown:
            raise ValueError(f"{self.name}: unknown parameter(s) {', '.join(unknown)}")
        for key in SETTINGS:
            if key in params:
                setattr(self, key, params.pop(key))
        self.params = self.params | params
        return self

    def _blocks(self, present: set[str]) -> list[Block] | list[Design]:
        """The feature blocks this learner reads, given the embedding blocks `present` in its data."""
        blocks, cfg = self.spec.blocks, self.cfg
        if HEADS[self.spec.head].sparse:
            e = cfg.entities
            return [Design(SparseDesign(blocks, e.kinds, e.billing_decay, int(self.params["max_words"]),
                                        int(self.params["n_knots"]), cfg.seed, self.params.get("n_components")))]
        embeddings = tuple(b for b in EMBEDDING_BLOCKS if b in blocks and b in present)
        made: list[Block] = [Columns(b) for b in (TABULAR, YEAR) if b in blocks]
        made += [Entities(cfg)] if ENTITIES in blocks else []
        made += [History(cfg)] if HISTORY in blocks else []
        made += [Columns(NAMES)] if NAMES in blocks else []
        made += [Neighbours(cfg, b) for b in embeddings] if NEIGHBOURS in blocks else []
        made += [StoryScore(cfg, tuple(self.params["text_alphas"]))] if TEXT_SCORE in blocks and TEXT in present else []
        made += [Components(b, self._n_components(), cfg.seed) for b in embeddings]
        made += [Words(self._n_components(), cfg.seed)] if WORDS in blocks else []
        return made

    def _n_components(self) -> int:
        """The learner's own `n_components`, else embeddings.n_components."""
        return int(self.params.get("n_components", self.cfg.embeddings.n_components))

    @staticmethod
    def _combine(parts: list, n_rows: int) -> pd.DataFrame | Sparse:
        """The blocks' outputs side by side (the sparse design is one block on its own)."""
        if len(parts) == 1 and isinstance(parts[0], Sparse):
            return parts[0]
        if not parts:
            return pd.DataFrame(index=np.arange(n_rows))
        return pd.concat([p.reset_index(drop=True) for p in parts], axis=1)

    def features(self, frame: MovieFrame, memo: dict[str, Any] | None = None) -> pd.DataFrame | Sparse:
        """The head's input for the frame's movies, from the fitted blocks. `memo`: features of these same
        rows by the blocks' `fit_id_`, left by earlier calls (a block other learners share is transformed
        once: at predict, and on tuning's validation rows)."""
        memo = {} if memo is None else memo
        for block in self.blocks_:
            if block.fit_id_ not in memo:
                memo[block.fit_id_] = block.transform(frame)
        X = self._combine([memo[block.fit_id_] for block in self.blocks_], len(frame))
        # the columns the head was fitted on, in its order: a model folder saved before a block gained
        # columns still reads its own (CatBoost, for one, takes its columns by position)
        return X if isinstance(X, Sparse) else X[self.columns_]

    def fit(self, frame: MovieFrame, y: np.ndarray, memo: dict[str, tuple] | None = None) -> "Learner":
        """`memo`: blocks already fitted, with their features of the rows they were fitted on, by `fit_id_`
        (its settings, rows and targets), where this fit leaves its own: learners fitted on the same rows
        (`fit_learners`; tuning's trials on one inner fold) fit a block they share once."""
        head_params = {k: v for k, v in self.params.items() if k not in FEATURE_PARAMS}
        mode = "raw" if self.spec.modality == "baseline" else self.cfg.learners.target
        years = frame.tabular["year"].to_numpy()
        self.target_ = EraTarget(mode, self.cfg.learners.trend_after).fit(years, y)
        z = self.target_.transform(years, y)
        rows = fingerprint(pd.util.hash_array(np.asarray(frame.ids)), z)
        memo = {} if memo is None else memo
        fitted = [_fitted(block, frame, z, rows, memo) for block in self._blocks(set(frame.blocks))]
        self.blocks_ = [block for block, _ in fitted]
        X = self._combine([features for _, features in fitted], len(frame))
        self.columns_ = list(X.columns)
        self.head_ = HEADS[self.spec.head](head_params, self.cfg.seed).fit(X, z)
        return self

    def predict(self, frame: MovieFrame, X: pd.DataFrame | Sparse | None = None) -> np.ndarray:
        """Ratings of the frame's movies; `X`: their features, when the caller has built them already."""
        z = np.asarray(self.head_.predict(self.features(frame) if X is None else X), dtype=np.float64)
        return self.target_.inverse(frame.tabular["year"].to_numpy(), z)

    def encoders(self) -> list[Any]:
        """The fitted encoders of credits (name history first, then the cross-fitted encodings)."""
        return [b.encoder_ for kind in (History, Entities) for b in self.blocks_ if isinstance(b, kind)]

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.head_.save(folder)
        for block in self.blocks_:
            block.save(folder)
        (folder / "learner.json").write_text(json.dumps(
            {"name": self.name, "params": self.params, "columns": self.columns_,
             "pca": sorted(b.name for b in self.blocks_ if isinstance(b, Components)),
             "fits": [block.fit_id_ for block in self.blocks_], "target": self.target_.to_dict()}, indent=2))

    @classmethod
    def load(cls, folder: Path, cfg: Config, shared: dict[str, Block | Design] | None = None) -> "Learner":
        """The learner saved in `folder`. `shared`: blocks loaded by learners before it, by `fit_id_`; a block
        fitted once for several learners is read once (a folder of format 8 or older records no fits: each
        learner reads its own)."""
        meta = read_json(folder / "learner.json")
        learner = cls(meta["name"], cfg, **meta["params"])
        learner.columns_ = meta["columns"]
        learner.target_ = EraTarget.from_dict(meta["target"])
        learner.head_ = HEADS[learner.spec.head].load(folder)
        present = set(meta["pca"]) | ({TEXT} if (folder / StoryScore.file).exists() else set())
        blocks = learner._blocks(present)
        fits = meta.get("fits") or [f"{folder}#{k}" for k in range(len(blocks))]    # format 8 and older
        shared = {} if shared is None else shared
        learner.blocks_ = []
        for block, fit_id in zip(blocks, fits):
            if fit_id not in shared:
                shared[fit_id] = block.load(folder)
                shared[fit_id].fit_id_ = fit_id
            learner.blocks_.append(shared[fit_id])
        return learner


class BlockMemo:
    """What learners fitted on the same rows share: each feature block they read fitted once (`fits`: by
    `fit_id_`, the block and its features of those rows, as `Learner.fit` takes them) and its features of
    other rows (`rows(name)`, as `Learner.features` takes them). A block is kept only while a learner still
    to come reads it (`done`)."""

    def __init__(self, learners: Iterable[Learner], present: set[str]):
        self.waiting = Counter(block.key() for learner in learners for block in learner._blocks(present))
        self.fits: dict[str, tuple] = {}
        self.features: dict[str, dict[str, Any]] = {}

    def rows(self, name: str) -> dict[str, Any]:
        """The blocks' features of the rows called `name` (one set of rows per name)."""
        return self.features.setdefault(name, {})

    def done(self, learner: Learner) -> None:
        """`learner` is fitted and has predicted: drop the blocks no learner still to come reads."""
        self.waiting.subtract(block.key() for block in learner.blocks_)
        gone = {fit_id for fit_id, (block, _) in self.fits.items() if self.waiting[block.key()] <= 0}
        for memo in (self.fits, *self.features.values()):
            for fit_id in gone & memo.keys():
                del memo[fit_id]


def fit_learners(names: list[str], cfg: Config, frame: MovieFrame, y: np.ndarray) -> dict[str, Learner]:
    """The learners `names` fitted on the same rows, each feature block they share fitted once (the name
    history of every learner that reads credits, the neighbours of each embedding block)."""
    learners = {name: make_learner(name, cfg) for name in names}
    memo = BlockMemo(learners.values(), set(frame.blocks))
    for learner in learners.values():
        memo.done(learner.fit(frame, y, memo.fits))
    return learners


def _fitted(block: Block | Design, frame: MovieFrame, z: np.ndarray, rows: str, memo: dict[str, tuple]) -> tuple:
    """The block fitted on `frame` and `z` (digested as `rows`), with its features of those rows: from `memo`
    if it has one with the same settings fitted on the same rows and targets, else fitted now and left there."""
    fit_id = fingerprint(block.key(), rows)
    if fit_id not in memo:
        block.fit_id_ = fit_id
        memo[fit_id] = (block, block.fit_transform(frame, z))
    return memo[fit_id]


def known_parameters(name: str) -> set[str]:
    """What `learners.params.<name>` may set: its head's parameters and the feature parameters (not the
    learner's own settings: CatBoost's `name`, for one, would collide with the learner's)."""
    return (HEADS[REGISTRY[name].head].parameters() | set(FEATURE_PARAMS)) - set(SETTINGS)


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
    return Learner(name, cfg, drop, **cfg.learners.params.get(name, {}))


def check_learners(cfg: Config) -> None:
    """Every learner, learner parameter and feature block params.yaml names exists (did-you-mean if not)."""
    for name in cfg.learners.enabled + tuple(cfg.learners.params) + tuple(cfg.tuning.trials):
        if name not in REGISTRY:
            raise InputError("params.yaml", f"parameter 'learners': unknown learner '{name}'; "
                             f"known: {', '.join(REGISTRY)}")
    for name, params in cfg.learners.params.items():
        known = known_parameters(name)
        for key in sorted(set(params) - known):
            close = difflib.get_close_matches(key, sorted(known), n=1)
            raise InputError("params.yaml", f"parameter 'learners.params.{name}.{key}': {name}'s "
                             f"{REGISTRY[name].head} head has no such parameter"
                             + (f"; did you mean '{close[0]}'?" if close else ""))
    for block in cfg.learners.exclude_blocks:
        if block not in BLOCKS:
            raise InputError("params.yaml", f"parameter 'learners.exclude_blocks': unknown feature block '{block}'; "
                             f"known: {', '.join(BLOCKS)}")
