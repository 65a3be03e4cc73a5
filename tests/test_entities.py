"""The sparse entity encoder against a hand-written loop, and its leak-freedom."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import KFold

from pipeline.features.entities import Credits, EntityEncoder
from tests.reference import naive_entity_encoding

SMOOTHING, DECAY = 3.0, 0.7


def _toy(seed: int = 0, n_movies: int = 40, n_names: int = 12) -> tuple[dict[str, Credits], np.ndarray, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    rows = []
    for movie in range(n_movies):
        k = rng.integers(0, 5)     # some movies have no credits at all
        for billing, name in enumerate(rng.choice(n_names, size=k, replace=False), 1):
            rows.append({"movie_id": movie, "name": f"e{name}", "billing": billing})
    links = pd.DataFrame(rows)
    y = rng.normal(3.0, 0.5, n_movies)
    return {"actor": Credits.from_links(links, np.arange(n_movies))}, y, links


def _naive(links: pd.DataFrame, y: np.ndarray, fit_movies: np.ndarray, enc_movies: np.ndarray) -> pd.DataFrame:
    return naive_entity_encoding(links, y, fit_movies, enc_movies, SMOOTHING, DECAY)


def _encoder() -> EntityEncoder:
    return EntityEncoder(("actor",), SMOOTHING, inner_folds=4, billing_decay=DECAY, random_state=7)


def test_transform_equals_naive_loop() -> None:
    credits, y, links = _toy()
    fit = np.arange(25)
    enc = _encoder().fit({"actor": credits["actor"].take(fit)}, y[fit])
    got = enc.transform(credits).add_prefix("").rename(columns=lambda c: c.removeprefix("actor_te_"))
    want = _naive(links, y, fit, np.arange(len(y)))
    pd.testing.assert_frame_equal(got[want.columns], want, check_dtype=False, atol=1e-12)


def test_fit_transform_equals_naive_cross_fitting() -> None:
    credits, y, links = _toy(seed=3)
    got = _encoder().fit_transform(credits, y).rename(columns=lambda c: c.removeprefix("actor_te_"))
    parts = []
    for fit, enc in KFold(4, shuffle=True, random_state=7).split(y):
        parts.append(_naive(links, y, fit, enc).set_index(enc))
    want = pd.concat(parts).sort_index().drop(columns="n_known")      # label-free counts: see the next test
    pd.testing.assert_frame_equal(got[want.columns], want.reset_index(drop=True), check_dtype=False, atol=1e-12)
    others = [_naive(links, y, np.delete(np.arange(len(y)), i), np.array([i]))["n_known"].iloc[0]
              for i in range(len(y))]
    np.testing.assert_array_equal(got["n_known"].to_numpy(), others)


def test_label_free_counts_are_the_same_in_fit_and_predict() -> None:
    """A fitted row's counts (names known, their popularity) are what a new movie with the same credits would
    be told by the encoder fitted on the other rows: no shift between training and prediction."""
    credits, y, _ = _toy(seed=11, n_movies=60)
    fitted = _encoder().fit_transform(credits, y)
    counts = ["actor_te_n_known", "actor_te_popularity"]
    for movie in (0, 13, 27, 59):
        others = np.delete(np.arange(len(y)), movie)
        alone = _encoder().fit({"actor": credits["actor"].take(others)}, y[others])
        new = alone.transform({"actor": credits["actor"].take(np.array([movie]))})
        np.testing.assert_allclose(fitted.loc[movie, counts].to_numpy(np.float64),
                                   new.loc[0, counts].to_numpy(np.float64), atol=1e-12)
    refit = _encoder().fit(credits, y).transform(credits)               # counting themselves: one more each
    credited = fitted["actor_te_popularity"].notna()
    assert (refit["actor_te_popularity"][credited] > fitted["actor_te_popularity"][credited]).all()


def test_own_rating_never_reaches_own_encoding() -> None:
    """Changing one movie's rating leaves that movie's cross-fitted features unchanged."""
    credits, y, _ = _toy(seed=5)
    base = _encoder().fit_transform(credits, y)
    for movie in (0, 7, 19):
        bumped = y.copy()
        bumped[movie] += 100.0
        again = _encoder().fit_transform(credits, bumped)
        pd.testing.assert_series_equal(base.iloc[movie], again.iloc[movie])
        assert not base.drop(index=movie).equals(again.drop(index=movie))   # the bump does reach others


def test_unseen_entities_get_the_prior() -> None:
    credits, y, links = _toy()
    enc = _encoder().fit({"actor": credits["actor"].take(np.arange(10))}, y[:10])
    strangers = pd.DataFrame({"movie_id": [0, 0], "name": ["nobody", "noone"], "billing": [1, 2]})
    out = enc.transform({"actor": Credits.from_links(strangers, np.array([0]))})
    assert out["actor_te_mean"].iloc[0] == pytest.approx(y[:10].mean())
    assert out["actor_te_n_known"].iloc[0] == 0


def test_save_load_roundtrip(tmp_path) -> None:
    credits, y, _ = _toy()
    enc = _encoder().fit(credits, y)
    enc.save(tmp_path / "e.npz")
    again = EntityEncoder.load(tmp_path / "e.npz", kinds=("actor",), smoothing=SMOOTHING, billing_decay=DECAY)
    pd.testing.assert_frame_equal(enc.transform(credits), again.transform(credits))


def test_history_equals_naive_loop_over_strictly_earlier_movies(tmp_path) -> None:
    """A movie's history features come only from fitted movies of strictly earlier years."""
    from pipeline.features.history import HistoryEncoder
    credits, y, links = _toy(seed=4)
    years = np.random.default_rng(4).integers(1990, 2000, len(y))
    fit = np.arange(30)                                   # the last ten movies are "new": never fitted
    enc = HistoryEncoder(("actor",), SMOOTHING, DECAY).fit({"actor": credits["actor"].take(fit)}, years[fit], y[fit])
    got = enc.transform(credits, years)
    prior = y[fit].mean()
    for movie in range(len(y)):
        names = list(links.loc[links["movie_id"] == movie].sort_values("billing")["name"])
        if not names:
            assert np.isnan(got.loc[movie, "actor_hist_mean"])
            continue
        devs, films = [], []
        for name in names:
            past = [j for j in fit
                    if years[j] < years[movie] and name in set(links.loc[links["movie_id"] == j, "name"])]
            devs.append(sum(y[j] - prior for j in past) / (len(past) + SMOOTHING))
            films.append(len(past))
        assert got.loc[movie, "actor_hist_mean"] == pytest.approx(prior + np.mean(devs))
        assert got.loc[movie, "actor_hist_max"] == pytest.approx(prior + max(devs))
        assert got.loc[movie, "actor_hist_min"] == pytest.approx(prior + min(devs))
        assert got.loc[movie, "actor_hist_lead"] == pytest.approx(prior + devs[0])     # names in billing order
        assert got.loc[movie, "actor_hist_films_max"] == max(films)
        assert got.loc[movie, "actor_hist_films_mean"] == pytest.approx(np.mean(films))
    enc.save(tmp_path / "h.npz")
    loaded = HistoryEncoder.load(tmp_path / "h.npz", kinds=("actor",), smoothing=SMOOTHING, billing_decay=DECAY)
    pd.testing.assert_frame_equal(loaded.transform(credits, years), got)


def test_history_support_equals_the_encoders_stats_over_all_fitted_films() -> None:
    """The what-if's candidate pools read either encoder: over all fitted films they must agree."""
    from pipeline.features.history import HistoryEncoder
    credits, y, _ = _toy(seed=5)
    years = np.random.default_rng(5).integers(1990, 2000, len(y))
    history = HistoryEncoder(("actor",), SMOOTHING, DECAY).fit(credits, years, y).support()["actor"]
    stats = _encoder().fit(credits, y).support()["actor"]
    order = np.argsort(history.names.astype(str))
    np.testing.assert_array_equal(history.names[order].astype(str), stats.names.astype(str))
    np.testing.assert_allclose(history.count[order], stats.count)
    np.testing.assert_allclose(history.deviation[order], stats.deviation)
