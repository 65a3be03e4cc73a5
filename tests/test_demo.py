"""The synthetic demo dataset: deterministic, in the case layout, with detectable planted effects."""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from pipeline.synthetic.demo import (
    MIN_MOVIES,
    MOVIE_COLUMNS,
    STAR_MIN_FILMS,
    DemoTruth,
    _person_names,
    _studio_names,
    generate_demo,
)

N = 1500
TEXT_DIM, IMAGE_DIM = 32, 16
CSV_FILES = ("movies.csv", "actors.csv", "directors.csv", "studios.csv")
NPY_FILES = ("tagline_embeddings.npy", "description_embeddings.npy", "poster_embeddings.npy")
ALL_FILES = CSV_FILES + NPY_FILES + ("truth.json",)
NAME_RE = re.compile(r"^[A-Z][A-Za-z]+ (?:[A-Z]\. )*[A-Z][A-Za-z]+$")


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoTruth]:
    out = tmp_path_factory.mktemp("demo")
    return out, generate_demo(out, N, seed=0, text_dim=TEXT_DIM, image_dim=IMAGE_DIM)


@pytest.fixture(scope="module")
def tables(demo: tuple[Path, DemoTruth]) -> dict[str, pd.DataFrame]:
    out, _ = demo
    return {name: pd.read_csv(out / name) for name in CSV_FILES}


def _ridge_r2(x: np.ndarray, y: np.ndarray, alpha: float = 1.0, train_share: float = 0.7) -> float:
    """Held-out R^2 of a closed-form ridge regression (intercept unpenalised via centring)."""
    cut = int(len(y) * train_share)
    xm, ym = x[:cut].mean(0), y[:cut].mean()
    xt = x[:cut] - xm
    w = np.linalg.solve(xt.T @ xt + alpha * np.eye(x.shape[1]), xt.T @ (y[:cut] - ym))
    pred = (x[cut:] - xm) @ w + ym
    return 1.0 - np.sum((y[cut:] - pred) ** 2) / np.sum((y[cut:] - y[cut:].mean()) ** 2)


# ----------------------------------------------------------------------- determinism
def test_same_seed_is_byte_identical_and_other_seed_differs(demo, tmp_path: Path) -> None:
    out, _ = demo
    again, other = tmp_path / "again", tmp_path / "other"
    generate_demo(again, N, seed=0, text_dim=TEXT_DIM, image_dim=IMAGE_DIM)
    generate_demo(other, N, seed=1, text_dim=TEXT_DIM, image_dim=IMAGE_DIM)
    ref = _digests(out)
    assert sorted(ref) == sorted(ALL_FILES)
    assert _digests(again) == ref
    different = _digests(other)
    assert all(different[f] != ref[f] for f in ALL_FILES if f != "truth.json")


def test_embedding_dims_do_not_change_tables(demo, tmp_path: Path) -> None:
    out, _ = demo
    generate_demo(tmp_path, N, seed=0, text_dim=8, image_dim=4)
    ref, small = _digests(out), _digests(tmp_path)
    assert all(small[f] == ref[f] for f in CSV_FILES)
    assert np.load(tmp_path / "tagline_embeddings.npy").shape == (N, 8)


def test_rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        generate_demo(tmp_path, MIN_MOVIES - 1)
    with pytest.raises(ValueError):
        generate_demo(tmp_path, N, text_dim=0)


def test_truth_json_round_trips(demo) -> None:
    out, truth = demo
    assert DemoTruth.load(out) == truth
    assert 0.6 <= truth.ideal_r2 <= 0.75
    assert truth.runtime_slope > 0 and truth.year_slope < 0 and truth.spread_slope > 0
    assert truth.best_actor != truth.best_director


# ----------------------------------------------------------------------- layout
def test_movies_layout(tables) -> None:
    m = tables["movies.csv"]
    assert tuple(m.columns) == MOVIE_COLUMNS
    assert (m["movie_id"].to_numpy() == np.arange(N)).all()
    assert m["original_id"].is_unique and m["original_id"].is_monotonic_increasing
    for col in ("date", "minute"):
        assert pd.api.types.is_integer_dtype(m[col])
    assert m["date"].between(1930, 2024).all()
    assert (m["date"] >= 2000).sum() > (m["date"] < 1960).sum()          # more recent movies
    assert m["minute"].between(80, 150).mean() > 0.8
    assert (m["minute"] < 40).sum() > 0 and (m["minute"] > 240).sum() > 0
    ages = m["theatrical_release_age_rating"]
    assert set(ages.dropna()) <= {"G", "PG", "PG-13", "R", "NC-17", "NR"}
    assert 0.18 < ages.isna().mean() < 0.32
    r = m["rating"]
    assert r.between(0.5, 5.0).all() and np.allclose(r, r.round(2))
    assert 2.95 < r.mean() < 3.25
    assert m["description"].notna().all() and m["tagline"].isna().sum() > 0   # a few empty taglines
    dup_names = m["name"].duplicated().mean()
    assert 0 < dup_names < 0.1                                             # a few remakes


def test_embeddings_layout(demo) -> None:
    out, _ = demo
    for name, dim in zip(NPY_FILES, (TEXT_DIM, TEXT_DIM, IMAGE_DIM)):
        arr = np.load(out / name)
        assert arr.shape == (N, dim) and arr.dtype == np.float32 and np.isfinite(arr).all()
    for name in NPY_FILES[:2]:
        assert np.allclose(np.linalg.norm(np.load(out / name), axis=1), 1.0, atol=1e-5)


def test_link_tables(tables) -> None:
    m = tables["movies.csv"]
    orig = m.set_index("movie_id")["original_id"]
    for name, col in (("actors.csv", "actor_name"), ("directors.csv", "director_name"), ("studios.csv", "studio")):
        df = tables[name]
        assert list(df.columns) == ["movie_id", "original_id", col]
        assert df["movie_id"].isin(m["movie_id"]).all()
        assert (df["original_id"].to_numpy() == orig.loc[df["movie_id"]].to_numpy()).all()
        assert df["movie_id"].is_monotonic_increasing                       # grouped by movie
    actors = tables["actors.csv"]
    per_movie = actors.drop_duplicates().groupby("movie_id").size()
    assert per_movie.between(1, 16).all()                                   # 2-15 drawn (+ star, - repeats)
    assert per_movie.median() >= 4
    assert 0 < N - per_movie.size < 0.08 * N                               # a few movies without cast
    assert 1 <= actors.duplicated().sum() <= 20                              # a few exact duplicate rows
    directors = tables["directors.csv"].groupby("movie_id").size()
    assert 0.35 < 1 - directors.size / N < 0.65 and (directors == 2).sum() > 0
    studios = tables["studios.csv"].groupby("movie_id").size()
    assert studios.size == N and (studios == 2).sum() > 0


def test_names_are_readable_and_unique(tables) -> None:
    actors = set(tables["actors.csv"]["actor_name"])
    directors = set(tables["directors.csv"]["director_name"])
    assert all(NAME_RE.match(n) for n in actors | directors)
    assert not actors & directors                                            # one person, one role
    assert all(re.match(r"^[A-Z][a-z]+ [A-Z]", s) for s in set(tables["studios.csv"]["studio"]))


@pytest.mark.parametrize("n", [100, 30_000])
def test_name_pools_stay_unique_beyond_plain_names(n: int) -> None:
    rng = np.random.default_rng(0)
    people, studios = _person_names(rng, n), _studio_names(rng, n)
    assert len(set(people)) == n and len(set(studios)) == n
    assert all(NAME_RE.match(p) for p in people[:1000])


def test_popularity_is_skewed(tables) -> None:
    films = tables["actors.csv"].drop_duplicates().groupby("actor_name").size()
    assert films.max() > 10 * films.median()
    assert (films == 1).sum() > 0.1 * films.size                             # many obscure actors


def test_stars_have_films_and_the_best_actor_usually_leads(demo, tables) -> None:
    _, truth = demo
    actors = tables["actors.csv"].drop_duplicates().copy()
    actors["billing"] = actors.groupby("movie_id").cumcount()
    star = actors[actors["actor_name"] == truth.best_actor]
    assert len(star) == truth.best_actor_films >= STAR_MIN_FILMS
    assert (star["billing"] == 0).mean() >= 0.6
    directed = tables["directors.csv"]
    assert (directed["director_name"] == truth.best_director).sum() == truth.best_director_films >= STAR_MIN_FILMS


# ----------------------------------------------------------------------- planted effects
def test_best_director_and_actor_rate_clearly_higher(demo, tables) -> None:
    _, truth = demo
    m = tables["movies.csv"]
    overall = m["rating"].mean()
    by_dir = tables["directors.csv"].query("director_name == @truth.best_director")["movie_id"]
    by_actor = tables["actors.csv"].query("actor_name == @truth.best_actor")["movie_id"]
    assert m.loc[m["movie_id"].isin(by_dir), "rating"].mean() > overall + 0.3
    assert m.loc[m["movie_id"].isin(by_actor), "rating"].mean() > overall + 0.15


def test_runtime_effect_has_planted_sign(demo, tables) -> None:
    _, truth = demo
    m = tables["movies.csv"]
    rho = spearmanr(m["minute"], m["rating"]).statistic
    assert np.sign(rho) == np.sign(truth.runtime_slope) and abs(rho) > 0.1


def test_year_drift_lowers_mean_and_widens_spread(tables) -> None:
    m = tables["movies.csv"]
    assert spearmanr(m["date"], m["rating"]).statistic < -0.1
    old, new = m[m["date"] < 1960]["rating"], m[m["date"] >= 2000]["rating"]
    assert old.mean() > new.mean() + 0.2
    assert new.std() > 1.5 * old.std()


def test_description_embeddings_carry_signal(demo, tables) -> None:
    out, _ = demo
    y = tables["movies.csv"]["rating"].to_numpy()
    assert _ridge_r2(np.load(out / "description_embeddings.npy").astype(np.float64), y) > 0.05
    assert _ridge_r2(np.load(out / "tagline_embeddings.npy").astype(np.float64), y) > 0.02


def test_description_text_carries_signal(tables) -> None:
    feature_extraction = pytest.importorskip("sklearn.feature_extraction.text")
    m = tables["movies.csv"]
    x = feature_extraction.TfidfVectorizer(min_df=3).fit_transform(m["description"]).toarray()
    assert _ridge_r2(x, m["rating"].to_numpy(), alpha=3.0) > 0.05


def test_genre_words_survive_in_text(tables) -> None:
    text = tables["movies.csv"]["description"].str.lower()
    assert text.str.contains("horror film").sum() > 0 and text.str.contains("documentary").sum() > 0
