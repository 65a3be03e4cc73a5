"""Ratings relative to their era: the hinge lines, the round trip, and extrapolation past the training years."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline.config import Config
from pipeline.data.clean import drop_duplicate_movies
from pipeline.data.load import load_folder
from pipeline.features.prepare import prepare
from pipeline.model.registry import make_learner
from pipeline.model.target import EraTarget, fit_hinge, hinge


def drifting(n: int = 6000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Flat at 3.3 until 1970, then -0.01 a year; spread 0.2 growing by 0.005 a year after 1950."""
    rng = np.random.default_rng(seed)
    years = rng.integers(1920, 2014, size=n).astype(float)
    level = 3.3 - 0.01 * np.maximum(years - 1970, 0)
    spread = 0.2 + 0.005 * np.maximum(years - 1950, 0)
    return years, level + spread * rng.laplace(size=n)   # Laplace: E|noise| = 1, so spread is the mean |deviation|


def test_hinge_recovers_a_planted_breakpoint() -> None:
    years, y = drifting()
    knot, a, b = fit_hinge(years, 3.3 - 0.01 * np.maximum(years - 1970, 0))
    assert abs(knot - 1970) <= 3 and a == pytest.approx(3.3, abs=0.02) and b == pytest.approx(-0.01, abs=0.001)
    flat = fit_hinge(years, np.full(len(years), 2.0))
    assert hinge(flat, np.array([1900.0, 2100.0])) == pytest.approx([2.0, 2.0])


def test_level_and_spread_follow_the_drift_and_continue_it() -> None:
    years, y = drifting()
    target = EraTarget("level_spread").fit(years, y)
    future = np.array([1930.0, 1990.0, 2030.0])
    assert target.level(future) == pytest.approx([3.3, 3.1, 2.7], abs=0.05)
    assert target.spread(future) == pytest.approx([0.2, 0.4, 0.6], abs=0.06)
    z = target.transform(years, y)
    assert np.std(z[years < 1950]) == pytest.approx(np.std(z[years > 1990]), rel=0.2)   # era spread removed
    assert target.inverse(years, z) == pytest.approx(y)
    restored = EraTarget.from_dict(target.to_dict())
    assert restored.inverse(future, np.ones(3)) == pytest.approx(target.inverse(future, np.ones(3)))


@pytest.mark.parametrize("after, expected", [(1.0, 2.67), (0.5, 2.77), (0.0, 2.87)])
def test_trend_after_the_data_is_continued_damped_or_held(after: float, expected: float) -> None:
    """Fitted up to 2013 (level 2.87 there), 2033 is 20 years on: the full slope, half of it, or none."""
    years, y = drifting()
    target = EraTarget("level_spread", after).fit(years, y)
    assert target.level(np.array([2033.0]))[0] == pytest.approx(expected, abs=0.03)
    assert target.level(np.array([1990.0]))[0] == pytest.approx(3.1, abs=0.05)     # inside the data: unchanged
    restored = EraTarget.from_dict(target.to_dict())
    assert restored.level(np.array([2033.0])) == pytest.approx(target.level(np.array([2033.0])))


def test_raw_mode_is_the_identity() -> None:
    years, y = drifting(500)
    target = EraTarget("raw").fit(years, y)
    assert np.array_equal(target.transform(years, y), y) and np.array_equal(target.inverse(years, y), y)


def test_spread_never_reaches_zero() -> None:
    """A spread line falling through zero inside the prediction years is floored, never divided by."""
    years = np.repeat(np.arange(1950.0, 2000.0), 20)
    y = 3.0 + (2000 - years) / 100 * np.tile([-1.0, 1.0], len(years) // 2)   # spread shrinks to 0 at 2000
    target = EraTarget("level_spread").fit(years, y)
    assert target.spread(np.array([2050.0])) > 0
    assert np.isfinite(target.transform(np.array([2050.0]), np.array([3.0]))).all()


@pytest.mark.parametrize("name", ["tabular_lgbm", "all_ridge"])
def test_a_tree_learner_extrapolates_the_drift_with_the_era_target(demo_dir: Path, tiny_cfg: Config,
                                                                    tmp_path: Path, name: str) -> None:
    """Fitted on movies up to 1999 whose ratings fall with year, a movie of 2030 is predicted lower than
    the same movie in its own year, by about the planted drift; trees on raw ratings cannot."""
    raw, _ = drop_duplicate_movies(load_folder(demo_dir, tiny_cfg.data, require_rating=True))
    movies = raw.movies
    train_ids = movies.index[movies["date"] < 2000].to_numpy()
    prep = prepare(raw, tiny_cfg, train_ids, tmp_path)
    frame = prep.frame(tiny_cfg, train_ids)
    years = frame.tabular["year"].to_numpy()
    y = 3.5 - 0.02 * (years - years.min()) + 0.1 * np.random.default_rng(0).normal(size=len(years))
    late = frame.take(np.array([int(np.argmax(years))]))
    future = late.take(np.array([0]))
    future.tabular.loc[0, "year"] = 2030.0
    gaps = {}
    for mode in ("raw", "level_spread"):
        cfg = tiny_cfg.model_copy(update={"learners": tiny_cfg.learners.model_copy(update={"target": mode})})
        learner = make_learner(name, cfg).fit(frame, y)
        gaps[mode] = float(learner.predict(late)[0] - learner.predict(future)[0])
    assert gaps["level_spread"] == pytest.approx(0.02 * (2030 - years.max()), rel=0.25)
    if name == "tabular_lgbm":   # trees on raw ratings carry the last years' level forward
        assert gaps["raw"] < 0.1
