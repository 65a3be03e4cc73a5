"""Prediction intervals: calibrated coverage on later years, cross-fitted scales, no rating leaks in."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline.config import Config
from pipeline.model.intervals import IntervalModel, bounds
from pipeline.training.intervals import coverage_table, interval_score, year_bands


def _drifting(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Errors whose spread grows with release year, as the case's do: (table, prediction, rating)."""
    rng = np.random.default_rng(seed)
    years = rng.integers(1950, 2031, n).astype(float)
    prediction = rng.uniform(2.0, 4.0, n)
    scale = 0.15 + 0.006 * np.maximum(years - 1970, 0)
    y = prediction + scale * rng.standard_normal(n)
    table = pd.DataFrame({"year": years, "a": prediction + 0.1 * rng.standard_normal(n), "b": prediction,
                          "n_actor": rng.integers(0, 10, n).astype(float)})
    return table, prediction, y


def test_coverage_holds_on_years_after_the_calibration_rows(tiny_cfg: Config) -> None:
    table, prediction, y = _drifting(12_000, seed=1)
    past = (table["year"] < 2015).to_numpy()
    cfg = tiny_cfg.intervals.model_copy(update={"scale": "residual_line"})
    folds = np.arange(past.sum()) % 5
    model = IntervalModel(cfg, ["a", "b"]).fit(table[past].reset_index(drop=True), prediction[past], y[past], folds)
    future = table[~past].reset_index(drop=True)
    b = model.predict(future, prediction[~past], (0.0, 5.0))
    for level in cfg.levels:
        name = f"{100 * level:g}"
        inside = (y[~past] >= b[f"lower_{name}"]) & (y[~past] <= b[f"upper_{name}"])
        assert abs(inside.mean() - level) < 0.03, (level, inside.mean())
        assert abs(model.cross_coverage(y[past], prediction[past])[name] - level) < 0.02
    # the scale follows the drift past the calibration years: later movies get wider intervals
    width = (b["upper_80"] - b["lower_80"]).to_numpy()
    assert width[future["year"].to_numpy() >= 2025].mean() > width[future["year"].to_numpy() < 2020].mean()
    # a flat scale (plain residuals) undercovers those years: the check can fail
    plain = bounds(np.abs(y[past] - prediction[past]), prediction[~past], np.ones((~past).sum()), (0.8,), (0, 5))
    assert ((y[~past] >= plain["lower_80"]) & (y[~past] <= plain["upper_80"])).mean() < 0.75


def test_a_rows_scale_is_never_fitted_on_its_own_residual(tiny_cfg: Config) -> None:
    table, prediction, y = _drifting(3_000, seed=2)
    cfg = tiny_cfg.intervals.model_copy(update={"difficulty": ("disagreement", "n_actor")})
    folds = np.arange(len(y)) % 4
    before = IntervalModel(cfg, ["a", "b"]).fit(table, prediction, y, folds)
    y2 = y.copy()
    y2[7] += 3.0                                     # one rating far off: its own sigma must not move
    after = IntervalModel(cfg, ["a", "b"]).fit(table, prediction, y2, folds)
    assert before.oof_sigma_[7] == after.oof_sigma_[7]
    others = folds != folds[7]
    assert not np.allclose(before.oof_sigma_[others], after.oof_sigma_[others])   # the check bites


def test_saved_parts_give_the_same_bounds(tiny_cfg: Config) -> None:
    table, prediction, y = _drifting(2_000, seed=3)
    cfg = tiny_cfg.intervals.model_copy(update={"difficulty": ("disagreement", "position")})
    model = IntervalModel(cfg, ["a", "b"]).fit(table, prediction, y, np.arange(len(y)) % 3)
    again = IntervalModel.from_parts(tiny_cfg.intervals, model.to_dict(), model.arrays())
    pd.testing.assert_frame_equal(again.predict(table, prediction, (0, 5)), model.predict(table, prediction, (0, 5)))


def test_bounds_are_nested_ordered_and_on_the_scale(tiny_cfg: Config) -> None:
    table, prediction, y = _drifting(2_000, seed=4)
    model = IntervalModel(tiny_cfg.intervals, ["a", "b"]).fit(table, prediction, y, np.arange(len(y)) % 3)
    b = model.predict(table, prediction + 1.5, (0.0, 5.0))            # some predictions near the top
    assert (b["lower_95"] <= b["lower_80"]).all() and (b["lower_80"] <= prediction + 1.5).all()
    assert (b["upper_80"] <= b["upper_95"]).all() and b.to_numpy().max() <= 5.0 and b.to_numpy().min() >= 0.0


def test_interval_score_rewards_honest_width() -> None:
    y = np.random.default_rng(5).standard_normal(20_000)
    z80 = 1.2816
    honest = interval_score(y, np.full(y.shape, -z80), np.full(y.shape, z80), 0.8)
    assert honest < interval_score(y, np.full(y.shape, -0.6 * z80), np.full(y.shape, 0.6 * z80), 0.8)
    assert honest < interval_score(y, np.full(y.shape, -1.6 * z80), np.full(y.shape, 1.6 * z80), 0.8)


def test_year_bands_and_coverage_table() -> None:
    years = np.array([2014, 2015, 2018, 2019, 2022, 2023, 2024])
    assert [label for label, _ in year_bands(years, (2019, 2023))] == ["all", "2014-18", "2019-22", "2023+"]
    assert [label for label, _ in year_bands(years, (1990,))] == ["all"]        # edges outside the years
    y = np.zeros(7)
    b = pd.DataFrame({"lower_80": -np.ones(7), "upper_80": np.r_[np.ones(6), -0.5]})
    rows = coverage_table(y, np.zeros(7), b, years, year_bands(years, (2019, 2023)), (0.8,))
    assert rows[0]["coverage_80"] == pytest.approx(6 / 7) and rows[3]["coverage_80"] == 0.5
