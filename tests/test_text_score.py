"""The cross-fitted text score (pipeline/features/text_score.py) and the learner that reads it."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline.config import Config
from pipeline.data.load import load_folder
from pipeline.features.prepare import prepare
from pipeline.features.text_score import TextScore
from pipeline.model.blocks import TEXT_SCORE
from pipeline.model.registry import Learner, blocks_used, make_learner


def test_a_rows_own_rating_never_reaches_its_own_score():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(300, 20)), rng.normal(size=300)
    base = TextScore((0.1, 1.0, 10.0), 5, 0).fit_transform(X, y)
    y2 = y.copy()
    y2[17] += 100.0
    moved = TextScore((0.1, 1.0, 10.0), 5, 0).fit_transform(X, y2)
    assert moved[17] == base[17]
    assert not np.allclose(np.delete(moved, 17), np.delete(base, 17))   # the others do see it: the test can fail


def test_story_catboost_reads_the_score_and_round_trips(demo_dir: Path, tiny_cfg: Config, tmp_path: Path):
    data = load_folder(demo_dir, tiny_cfg.data, require_rating=True)
    ids = data.movies.index.to_numpy()
    frame = prepare(data, tiny_cfg, ids[:1000], tmp_path / "cache").frame(tiny_cfg)
    y = data.movies["rating"].to_numpy()
    cfg = tiny_cfg.model_copy(update={"learners": tiny_cfg.learners.model_copy(update={"params": {
        **tiny_cfg.learners.params, "story_catboost": {**tiny_cfg.learners.params["tabular_catboost"],
                                                       "text_alphas": [1.0, 10.0]}}})})
    assert TEXT_SCORE in blocks_used("story_catboost", cfg, frame)
    learner = make_learner("story_catboost", cfg).fit(frame.take(np.arange(1000)), y[:1000])
    assert "text_score" in learner.columns_
    rest = frame.take(np.arange(1000, len(ids)))
    learner.save(tmp_path / "story")
    again = Learner.load(tmp_path / "story", cfg)
    np.testing.assert_allclose(again.predict(rest), learner.predict(rest), atol=1e-9)
    assert TEXT_SCORE not in make_learner("story_catboost", cfg, frozenset({"text"})).spec.blocks


@pytest.mark.parametrize("chunk", [50_000, 97])
def test_the_gram_ridge_is_scikit_learns_ridgecv(chunk: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Same penalty, coefficients and predictions as RidgeCV on embedding-like data (correlated columns, a
    non-zero mean), whether the leave-one-out pass takes the rows at once or in chunks."""
    from sklearn.linear_model import RidgeCV

    from pipeline.features.text_score import GramRidgeCV
    monkeypatch.setattr(GramRidgeCV, "CHUNK", chunk)
    rng = np.random.default_rng(0)
    X = 0.3 + rng.normal(size=(600, 40)) @ rng.normal(size=(40, 40)) * 0.1
    y = 3 + X @ rng.normal(0, 0.5, 40) + rng.normal(0, 0.4, 600)
    alphas = tuple(np.logspace(-3, 3, 13))
    theirs, mine = RidgeCV(alphas=alphas).fit(X, y), GramRidgeCV(alphas=alphas).fit(X, y)
    assert mine.alpha_ == theirs.alpha_ and alphas[0] < mine.alpha_ < alphas[-1]       # an interior choice
    np.testing.assert_allclose(mine.coef_, theirs.coef_, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(mine.predict(X), theirs.predict(X), atol=1e-9)
