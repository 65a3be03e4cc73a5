"""Shared fixtures: a tiny demo dataset and a small, fast config."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from benchmarks.common import CASE_DIR  # noqa: F401  (the case data's one address, for the tests too)
from pipeline.config import PROJECT_ROOT, Config, load_config, project_config
from pipeline.synthetic.demo import generate_demo

TINY_LEARNERS = {
    "tabular_catboost": {"iterations": 60, "learning_rate": 0.15, "depth": 4},
    "tabular_lgbm": {"n_estimators": 60, "learning_rate": 0.1, "num_leaves": 15},
    "tabular_xgboost": {"n_estimators": 60, "learning_rate": 0.1, "max_depth": 4},
    "words_ridge": {"n_components": 16, "alpha": 10.0},
    "text_ridge": {"n_components": 16, "alpha": 10.0},
    "text_lgbm": {"n_components": 8, "n_estimators": 40, "learning_rate": 0.1, "num_leaves": 7},
    "image_ridge": {"n_components": 8, "alpha": 10.0},
    "image_lgbm": {"n_components": 8, "n_estimators": 40, "learning_rate": 0.1, "num_leaves": 7},
    "all_lgbm": {"n_components": 4, "n_estimators": 60, "learning_rate": 0.1, "num_leaves": 15},
    "all_ridge": {"alpha": 10.0, "max_words": 2000, "n_knots": 5},
    "seed_net": {"n_components": 8, "epochs": 5, "batch_size": 128, "learning_rate": 0.003, "dropout": 0.1,
                 "weight_decay": 0.0001, "patience": 2, "validation_fraction": 0.1},
}
TINY = {"split": {"n_folds": 3}, "entities": {"inner_folds": 3},
        "learners": {"params": TINY_LEARNERS},
        "tuning": {"trials": {name: 2 for name in TINY_LEARNERS if name != "seed_net"},   # as params.yaml: untuned
                   "stacker_trials": 3, "inner_folds": 2},
        "whatif": {"pool_size": 25, "trials": 40, "rounds": 4},
        "ultimate": {"trials": 60},
        "evaluation": {"bootstrap": 100, "reference_iterations": 100, "reference_learning_rate": 0.3},
        "report": {"shap_rows": 100, "umap_rows": 200, "top_features": 10}}


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1,500 synthetic movies in the case layout (read-only by convention: copy before mutating).

    Seed 0 at this size plants a best actor and director that the data make recoverable (the what-if
    oracles); at 600 movies the best actor has too few films to stand out from noise."""
    path = tmp_path_factory.mktemp("demo") / "data"
    generate_demo(path, n_movies=1500, seed=0)
    return path


@pytest.fixture()
def demo_copy(demo_dir: Path, tmp_path: Path) -> Path:
    """A private, mutable copy of the demo folder."""
    return Path(shutil.copytree(demo_dir, tmp_path / "data"))


@pytest.fixture(scope="session")
def tiny_cfg() -> Config:
    return project_config(TINY)


@pytest.fixture(scope="session")
def tiny_params(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """params.yaml with the tiny budget merged in, as a file the CLI can read."""
    import yaml
    raw = yaml.safe_load((PROJECT_ROOT / "params.yaml").read_text())
    raw["profiles"]["tiny"] = TINY
    path = tmp_path_factory.mktemp("params") / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    load_config(path, profile="tiny")   # fail early if the project's params.yaml is broken
    return path


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("CI", "true")   # no live progress bars inside tests
    # model folders the tests write or check are remembered here, not in the user's ~/.cache
    os.environ.setdefault("MOVIE_RATING_CACHE", tempfile.mkdtemp(prefix="movie-rating-cache-"))


@pytest.fixture(scope="session")
def tiny_run(demo_dir: Path, tiny_params: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The whole pipeline, run once on the demo data with the tiny budget; its out-dir."""
    from pipeline.cli import main
    out = tmp_path_factory.mktemp("run")
    assert main(["run", "--params", str(tiny_params), "--profile", "tiny", "--data-dir", str(demo_dir),
                 "--out-dir", str(out)]) == 0
    return out


@pytest.fixture(scope="session")
def minilm_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """600 demo movies whose text vectors are all-MiniLM-L6-v2's (as the case's are: new films get theirs
    computed) and no poster vectors, fitted with the tiny budget (no tuning, no ablation); (data folder, out-dir)."""
    import numpy as np
    import pandas as pd
    import yaml

    from pipeline.cli import main
    from pipeline.config import deep_merge
    from pipeline.features.embeddings import sentence_vectors
    root = tmp_path_factory.mktemp("minilm")
    data = root / "data"
    generate_demo(data, n_movies=600, seed=1)
    (data / "poster_embeddings.npy").unlink()
    movies = pd.read_csv(data / "movies.csv", dtype=str, keep_default_na=False)
    for field in ("tagline", "description"):
        np.save(data / f"{field}_embeddings.npy", sentence_vectors(movies[field], None, None))
    raw = yaml.safe_load((PROJECT_ROOT / "params.yaml").read_text())
    raw["profiles"]["quick"] = deep_merge(TINY, {"tuning": {"enabled": False}, "ablation": {"enabled": False}})
    params = root / "params.yaml"
    params.write_text(yaml.safe_dump(raw))
    out = root / "run"
    assert main(["run", "--params", str(params), "--profile", "quick", "--data-dir", str(data),
                 "--out-dir", str(out)]) == 0
    return data, out
