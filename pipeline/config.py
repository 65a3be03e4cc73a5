"""params.yaml -> one frozen, validated Config. Unknown and missing keys are errors.

Every number a user may want to change lives in params.yaml and nowhere else: the
models below declare types and bounds only, no defaults.
"""
from __future__ import annotations

import copy
import difflib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pipeline.errors import InputError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PACKAGED_PARAMS = Path(__file__).parent / "params.yaml"    # in a checkout, a symlink to PROJECT_ROOT/params.yaml


def default_params() -> Path:
    """params.yaml in the working directory if there is one (as DVC reads it), else the packaged defaults."""
    here = Path("params.yaml")
    return here if here.is_file() else PACKAGED_PARAMS


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataConfig(Section):
    dir: str
    posters_zip: str
    image_checkpoint: str | None
    text_backend: Literal["tfidf-svd", "sentence-transformers"]
    text_model: str | None
    tfidf_dim: int = Field(ge=2)
    encoder_check_rows: int = Field(ge=1)          # texts re-embedded to identify the encoder of supplied vectors
    encoder_match_cosine: float = Field(gt=0.0, le=1.0)   # every re-embedded row at least this similar: a match
    rating_range: tuple[float, float]
    year_range: tuple[int, int]


class CleanConfig(Section):
    min_runtime: int = Field(ge=0)
    runtime_clip_quantiles: tuple[float, float]
    min_text_chars: int = Field(ge=0)
    placeholder_texts: tuple[str, ...]
    age_ratings: tuple[str, ...]
    missing_age_rating: str

    @model_validator(mode="after")
    def _quantiles_ordered(self) -> "CleanConfig":
        lo, hi = self.runtime_clip_quantiles
        if not 0.0 <= lo < hi <= 1.0:
            raise ValueError("runtime_clip_quantiles must satisfy 0 <= low < high <= 1")
        return self


class SplitConfig(Section):
    holdout_fraction: float = Field(gt=0.0, lt=1.0)
    n_folds: int = Field(ge=2)


class EntityConfig(Section):
    kinds: tuple[str, ...]
    smoothing: float = Field(gt=0.0)
    inner_folds: int = Field(ge=2)
    billing_decay: float = Field(gt=0.0, le=1.0)
    top_actors: int = Field(ge=0)


class EmbeddingConfig(Section):
    n_components: int = Field(ge=1)
    health_min_std: float = Field(ge=0.0)
    health_max_mean_cosine: float = Field(gt=0.0, le=1.0)
    neighbours: tuple[int, ...] = Field(min_length=1)
    neighbour_components: int | None = Field(ge=1)   # PCA space of the neighbour search; null: full vectors
    neighbour_exact_max: int | None = Field(ge=1)    # above this many fitted movies: inverted-file search
    neighbour_nprobe: int = Field(ge=1)              # inverted lists scanned per query

    @model_validator(mode="after")
    def _neighbours_positive(self) -> "EmbeddingConfig":
        if min(self.neighbours) < 1:
            raise ValueError("neighbours must be positive numbers of movies")
        return self


class LearnersConfig(Section):
    enabled: tuple[str, ...]
    stacked: tuple[str, ...]
    target: Literal["raw", "level", "level_spread"]
    trend_after: float = Field(ge=0.0, le=1.0)   # share of the era lines' slope continued past the data
    exclude_blocks: tuple[str, ...]      # feature blocks no learner reads (names: pipeline/learners/registry.py)
    params: dict[str, dict[str, Any]]

    @model_validator(mode="after")
    def _stacked_subset(self) -> "LearnersConfig":
        missing = [n for n in self.stacked if n not in self.enabled]
        if missing:
            raise ValueError(f"stacked learners {missing} are not in enabled")
        return self


class StackingConfig(Section):
    method: Literal["ridge", "lgbm"]
    alpha: float = Field(ge=0.0)
    sum_to_one: bool                     # ridge: learner weights sum to 1 (a convex blend: no stretching)
    raw_features: tuple[str, ...]
    recency_half_life: float | None = Field(gt=0.0)   # years; needs `year` among raw_features
    lgbm_params: dict[str, Any]

    @model_validator(mode="after")
    def _recency_needs_year(self) -> "StackingConfig":
        if self.recency_half_life is not None and "year" not in self.raw_features:
            raise ValueError("recency_half_life weighs movies by release year: add year to raw_features")
        return self


class TuningConfig(Section):
    enabled: bool
    storage: str | None                  # null: a journal file in artifacts/tuning/; else a database URL
    inner_folds: int = Field(ge=2)
    trials: dict[str, int]               # learner -> trial budget (absent or 0: not tuned)
    stacker_trials: int = Field(ge=0)
    timeout_seconds: float | None = Field(gt=0)
    round_size: int = Field(ge=1)        # trials planned together: the most that run at once
    stale_seconds: float = Field(gt=0)   # a RUNNING trial older than this (or whose local process is gone) is re-queued
    worker_wait_seconds: float = Field(gt=0)   # a tune-worker with nothing to do for this long moves on


class AblationConfig(Section):
    enabled: bool
    drop: dict[str, tuple[str, ...]]     # row label -> feature blocks removed from every stacked learner


class WhatIfConfig(Section):
    movies: tuple[int, ...]              # movie_ids answered in the report
    top: int = Field(ge=1)               # single edits listed
    max_edits: int = Field(ge=1)         # simultaneous edits in the combined answer
    min_films: int = Field(ge=1)         # entities with fewer training films are never offered
    active_within_years: int = Field(ge=0)   # ... nor those with no credit in these last years of the data
    career_gap_years: int = Field(ge=1)  # credits after a longer silence, if no more than
    archive_credits: int = Field(ge=0)   # ... this many, are archive footage (not activity)
    silent_credits: float = Field(ge=0.0)    # ... nor names silent so long their pace predicts this many films
    max_career_years: int = Field(ge=1)  # ... nor people whose first credit is this long before the film
    kind_films: int = Field(ge=0)        # films at the film's age rating a name must have made
    kind_share: float = Field(ge=0.0, le=1.0)  # share of films at the film's age rating (names, story neighbours)
    neighbours: int = Field(ge=1)        # training movies with the most similar story: the film's kind
    pool_size: int = Field(ge=1)         # best-encoded candidates offered per entity kind
    runtime_steps: tuple[int, ...]       # minutes added to the runtime
    combo_choices: int = Field(ge=1)     # best single values per field searched in combination
    trials: int = Field(ge=1)            # Optuna trials for the combined edit
    rounds: int = Field(ge=1)            # ask/tell rounds the trials are split into (each one batch)
    batch: int = Field(ge=1)             # candidates predicted per model call


class UltimateConfig(Section):
    age_ratings: tuple[str, ...]         # the story's film was released in cinemas with one of these
    cast_size: tuple[int, int]           # actors, billing order matters
    runtime: tuple[int, int]
    years: tuple[int, int]
    trials: int = Field(ge=1)


class EvaluationConfig(Section):
    bootstrap: int = Field(ge=10)
    ci: float = Field(gt=0.0, lt=1.0)
    year_bands: tuple[int, ...]          # holdout scores also per band of release years, cut at these years


class IntervalConfig(Section):
    levels: tuple[float, ...] = Field(min_length=1)   # nominal coverage of each interval, e.g. 0.8 and 0.95
    scale: Literal["residual_line", "era_spread"]     # sigma's year line: of |residuals|, or of the ratings' spread
    difficulty: tuple[str, ...]          # what sigma reads besides the era spread (pipeline/training/intervals.py)
    log_floor: float = Field(gt=0.0)     # g fits log(|residual| / spread + log_floor)

    @model_validator(mode="after")
    def _levels_are_probabilities(self) -> "IntervalConfig":
        if not all(0.0 < lv < 1.0 for lv in self.levels):
            raise ValueError("levels must lie strictly between 0 and 1")
        return self


class PredictConfig(Section):
    batch: int = Field(ge=1)


class ReportConfig(Section):
    shap_rows: int = Field(ge=10)
    umap_rows: int = Field(ge=10)
    umap_neighbors: int = Field(ge=2)
    umap_min_dist: float = Field(ge=0.0)
    umap_clusters: int = Field(ge=1)
    top_features: int = Field(ge=1)


class TrackingConfig(Section):
    mlflow_uri: str | None               # e.g. sqlite:///mlflow.db or http://host:5000; null: no MLflow
    experiment: str


class SigningConfig(Section):
    key_file: str | None                 # HMAC key that signs the model folder (env MOVIE_RATING_SIGNING_KEY wins)


class Config(Section):
    seed: int
    data: DataConfig
    clean: CleanConfig
    split: SplitConfig
    entities: EntityConfig
    embeddings: EmbeddingConfig
    learners: LearnersConfig
    stacking: StackingConfig
    tuning: TuningConfig
    ablation: AblationConfig
    whatif: WhatIfConfig
    ultimate: UltimateConfig
    evaluation: EvaluationConfig
    intervals: IntervalConfig
    predict: PredictConfig
    report: ReportConfig
    tracking: TrackingConfig
    signing: SigningConfig
    profiles: dict[str, dict[str, Any]]

    def model_inputs(self) -> dict:
        """The settings every fitted unit (tuning trial, out-of-fold run, refit) depends on besides its own
        learner's parameters: a change to any of them invalidates checkpoints and starts fresh studies."""
        return self.model_dump(mode="json", include={
            "seed": True, "data": True, "clean": True, "split": True, "entities": True, "embeddings": True,
            "learners": {"target", "trend_after", "exclude_blocks"}})


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """["a.b=1", "c=[x, y]"] -> {"a": {"b": 1}, "c": ["x", "y"]}: dotted keys, values in YAML."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key or any(not part for part in key.split(".")):
            raise InputError(f"-S {pair}", "expected KEY=VALUE with a dotted key, e.g. "
                             "learners.params.tabular_catboost.depth=8")
        try:
            parsed = yaml.safe_load(value)
        except yaml.YAMLError:
            raise InputError(f"-S {pair}", "the value is not valid YAML") from None
        *parents, leaf = key.split(".")
        node = out
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise InputError(f"-S {pair}", f"'{part}' is set to a value by an earlier -S")
        node[leaf] = parsed
    return out


def _check_known(raw: dict[str, Any], overrides: dict[str, Any], prefix: str = "") -> None:
    """An override may only set a key params.yaml has: a typo is refused, with the closest key."""
    for key, value in overrides.items():
        path = f"{prefix}{key}"
        if not isinstance(raw, dict) or key not in raw:
            close = difflib.get_close_matches(key, list(raw) if isinstance(raw, dict) else [], n=1)
            hint = f"; did you mean '{prefix}{close[0]}'?" if close else " (add it to params.yaml to set it)"
            raise InputError(f"-S {path}", f"params.yaml has no such parameter{hint}")
        if isinstance(value, dict) and isinstance(raw[key], dict) and value:
            _check_known(raw[key], value, f"{path}.")


def parse_config(raw: dict[str, Any], *, profile: str | None = None, source: str = "params.yaml",
                 overrides: dict[str, Any] | None = None, known_only: bool = False) -> Config:
    """Validate a raw mapping; `profile` (e.g. "fast") is merged over the base first, `overrides` last
    (`known_only`: each must set a key the merged mapping has, as the command line's -S)."""
    if profile is not None:
        profiles = raw.get("profiles") or {}
        if profile not in profiles:
            raise InputError(source, f"profile '{profile}' is not defined under 'profiles'")
        raw = deep_merge(raw, profiles[profile])
    if known_only:
        _check_known(raw, overrides or {})
    raw = deep_merge(raw, overrides or {})
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise InputError(source, f"parameter '{key}': {first['msg']}") from None


def project_config(overrides: dict[str, Any] | None = None) -> Config:
    """The project's params.yaml with `overrides` merged over it (tests, notebooks)."""
    raw = yaml.safe_load(PACKAGED_PARAMS.read_text(encoding="utf-8"))
    return parse_config(raw, overrides=overrides)


def load_config(path: Path, *, profile: str | None = None, overrides: dict[str, Any] | None = None,
                known_only: bool = False) -> Config:
    if not path.is_file():
        raise InputError(str(path), "parameter file not found")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError(str(path), f"not valid YAML ({type(exc).__name__})") from None
    if not isinstance(raw, dict):
        raise InputError(str(path), "top level must be a mapping of sections")
    return parse_config(raw, profile=profile, source=str(path), overrides=overrides, known_only=known_only)
