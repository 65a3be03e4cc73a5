"""How `tests/fixtures/` was written: a small model folder of one format and what it predicted when written.

    python -m tests.model_fixture tests/fixtures/format_3     # once, when a format is frozen; never again

The folder is a historical record, not a build product: `tests/test_format.py` loads it with today's code and
expects what it predicted when it was written (`expected.csv`, unrounded: within 1e-6 with the pinned packages).
Rewriting it would make that test pass by definition, so a new format gets a new folder beside the old ones.
"""
from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

TRAINING_MOVIES, NEW_MOVIES = 300, 12


def write_fixture(out: Path) -> None:
    from pipeline.cli import main
    from pipeline.synthetic.demo import generate_demo
    from tests.conftest import TINY

    if out.exists():
        raise SystemExit(f"{out} exists: a fixture is written once (see this module's docstring)")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        generate_demo(tmp / "data", n_movies=TRAINING_MOVIES, seed=3)
        generate_demo(tmp / "later", n_movies=TRAINING_MOVIES, seed=4)
        overrides = ["tuning.enabled=false", "ablation.enabled=false", "split.n_folds=3", "entities.inner_folds=3",
                     f"learners.params={TINY['learners']['params']}", "report.shap_rows=50", "report.umap_rows=100",
                     "whatif.pool_size=10", "whatif.trials=10", "whatif.rounds=2", "ultimate.trials=10",
                     "evaluation.bootstrap=50"]
        args = ["run", "--data-dir", str(tmp / "data"), "--out-dir", str(tmp / "run")]
        assert main(args + [a for o in overrides for a in ("-S", o)]) == 0
        new = out / "new_movies"
        new.mkdir(parents=True)
        _later_movies(tmp / "later", new)
        shutil.copytree(tmp / "run" / "artifacts" / "model", out / "model")
        assert main(["predict", "--model", str(out / "model"), "--data-dir", str(new),
                     "--out", str(out / "cli_predictions.csv"), "--explain", "3"]) == 0
        expected(out).to_csv(out / "expected.csv", index=False)


def expected(fixture: Path) -> pd.DataFrame:
    """The model's unrounded answers for the fixture's new films: the stack, each learner, the interval bounds
    and the reasons (`cli_predictions.csv` holds the same, rounded as `predict` writes them; not named
    `predictions.csv`, which .gitignore keeps out of the repository)."""
    from pipeline.api import Model
    model = Model.load(fixture / "model")
    data = model.folder_movies(fixture / "new_movies")
    raw, reasons = model.bundle.predict_with_reasons(data, fixture / "cache")
    return raw.merge(reasons, on="movie_id")


def _later_movies(source: Path, new: Path) -> None:
    """NEW_MOVIES films of another demo draw, without their ratings, some dated after the training data."""
    movies = pd.read_csv(source / "movies.csv").head(NEW_MOVIES).drop(columns="rating")
    movies.loc[movies.index[-3:], "date"] = [2027, 2028, 2030]
    movies.to_csv(new / "movies.csv", index=False)
    for file in ("actors.csv", "directors.csv", "studios.csv"):
        links = pd.read_csv(source / file)
        links[links["movie_id"].isin(movies["movie_id"])].to_csv(new / file, index=False)
    for file in ("tagline_embeddings.npy", "description_embeddings.npy", "poster_embeddings.npy"):
        if (source / file).is_file():
            np.save(new / file, np.load(source / file)[: movies["movie_id"].max() + 1])


if __name__ == "__main__":
    write_fixture(Path(sys.argv[1]))
