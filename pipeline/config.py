"""params.yaml -> one frozen, validated Config. Unknown keys are an error.

Every number a user may want to change lives in params.yaml; the defaults here
only mirror it so that tests can build a Config without a file.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pipeline.errors import InputError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataConfig(Section):
    dir: str = "data/filtered"
    posters_zip: str = "posters/posters.zip"
    image_checkpoint: str | None = None
    text_backend: Literal["tfidf-svd", "sentence-transformers"] = "tfidf-svd"
    text_model: str | None = None
    tfidf_dim: int = Field(64, ge=2)
    rating_range: tuple[float, float] = (0.0, 5.0)
    year_range: tuple[int, int] = (1870, 2100)


class CleanConfig(Section):
    min_runtime: int = Field(40, ge=0)
    runtime_clip_quantiles: tuple[float, float] = (0.005, 0.995)
    min_text_chars: int = Field(3, ge=0)
    placeholder_texts: tuple[str, ...] = ("no description", "no tagline", "n/a", "tba", "none", "-")
    age_ratings: tuple[str, ...] = ("G", "PG", "PG-13", "R", "NC-17", "NR")
    missing_age_rating: str = "missing"

    @model_validator(mode="after")
    def _quantiles_ordered(self) -> "CleanConfig":
        lo, hi = self.runtime_clip_quantiles
        if not 0.0 <= lo < hi <= 1.0:
            raise ValueError("runtime_clip_quantiles must satisfy 0 <= low < high <= 1")
        return self


class SplitConfig(Section):
    holdout_fraction: float = Field(0.15, gt=0.0, lt=1.0)
    n_folds: int = Field(5, ge=2)


class EntityConfig(Section):
    kinds: tuple[str, ...] = ("actor", "director", "studio")
    smoothing: float = Field(10.0, gt=0.0)
    inner_folds: int = Field(5, ge=2)
    billing_decay: float = Field(0.85, gt=0.0, le=1.0)
    top_actors: int = Field(3, ge=0)


class EmbeddingConfig(Section):
    n_components: int = Field(32, ge=1)
    health_min_std: float = Field(0.0001, ge=0.0)
    health_max_mean_cosine: float = Field(0.98, gt=0.0, le=1.0)


class LearnersConfig(Section):
    enabled: tuple[str, ...] = ("tabular_catboost", "tabular_lgbm", "text_ridge", "text_lgbm",
                                "image_ridge", "image_lgbm", "all_lgbm")
    stacked: tuple[str, ...] = ("tabular_catboost", "text_ridge", "text_lgbm", "image_ridge", "image_lgbm")
    params: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _stacked_subset(self) -> "LearnersConfig":
        missing = [n for n in self.stacked if n not in self.enabled]
        if missing:
            raise ValueError(f"stacked learners {missing} are not in enabled")
        return self


class StackingConfig(Section):
    method: Literal["ridge", "lgbm"] = "ridge"
    alpha: float = Field(0.001, ge=0.0)
    raw_features: tuple[str, ...] = ("year",)
    lgbm_params: dict[str, Any] = Field(default_factory=dict)


class EvaluationConfig(Section):
    bootstrap: int = Field(1000, ge=10)
    ci: float = Field(0.95, gt=0.0, lt=1.0)


class ReportConfig(Section):
    shap_rows: int = Field(1000, ge=10)
    umap_rows: int = Field(4000, ge=10)
    umap_neighbors: int = Field(15, ge=2)
    umap_min_dist: float = Field(0.1, ge=0.0)
    top_features: int = Field(20, ge=1)


class Config(Section):
    seed: int = 42
    data: DataConfig = DataConfig()
    clean: CleanConfig = CleanConfig()
    split: SplitConfig = SplitConfig()
    entities: EntityConfig = EntityConfig()
    embeddings: EmbeddingConfig = EmbeddingConfig()
    learners: LearnersConfig = LearnersConfig()
    stacking: StackingConfig = StackingConfig()
    evaluation: EvaluationConfig = EvaluationConfig()
    report: ReportConfig = ReportConfig()
    profiles: dict[str, dict[str, Any]] = Field(default_factory=dict)


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def parse_config(raw: dict[str, Any], *, profile: str | None = None, source: str = "params.yaml") -> Config:
    """Validate a raw mapping; `profile` (e.g. "fast") is merged over the base first."""
    if profile is not None:
        profiles = raw.get("profiles") or {}
        if profile not in profiles:
            raise InputError(source, f"profile '{profile}' is not defined under 'profiles'")
        raw = _deep_merge(raw, profiles[profile])
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise InputError(source, f"parameter '{key}': {first['msg']}") from None


def load_config(path: Path, *, profile: str | None = None) -> Config:
    if not path.is_file():
        raise InputError(str(path), "parameter file not found")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError(str(path), f"not valid YAML ({type(exc).__name__})") from None
    if not isinstance(raw, dict):
        raise InputError(str(path), "top level must be a mapping of sections")
    return parse_config(raw, profile=profile, source=str(path))
