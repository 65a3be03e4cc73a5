"""Property-based tests (hypothesis): the loader never lets a bad cell through or crashes otherwise, and the
entity and neighbour encoders keep their contracts on arbitrary credits and ratings."""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.config import project_config
from pipeline.data.load import load_folder
from pipeline.errors import InputError
from pipeline.features.entities import Credits, EntityEncoder
from pipeline.features.neighbours import NeighbourEncoder
from tests.test_entities import SMOOTHING, _naive

CFG = project_config({})
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
AGE = st.sampled_from(["G", "PG", "PG-13", "R", "NC-17", "NR", ""])
TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=0, max_size=40)


@st.composite
def movie_tables(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(min_value=1, max_value=12))
    ids = draw(st.lists(st.integers(0, 10_000), min_size=n, max_size=n, unique=True))
    return pd.DataFrame({
        "movie_id": ids,
        "name": draw(st.lists(TEXT, min_size=n, max_size=n)),
        "date": draw(st.lists(st.integers(1890, 2030), min_size=n, max_size=n)),
        "tagline": [f"tag {t}" for t in draw(st.lists(TEXT, min_size=n, max_size=n))],
        "description": [f"about {t}" for t in draw(st.lists(TEXT, min_size=n, max_size=n))],
        "minute": draw(st.lists(st.integers(1, 400), min_size=n, max_size=n)),
        "theatrical_release_age_rating": draw(st.lists(AGE, min_size=n, max_size=n)),
        "rating": draw(st.lists(st.floats(0.5, 5.0).map(lambda r: round(r, 2)), min_size=n, max_size=n)),
    })


def _write(folder: Path, movies: pd.DataFrame, first: int) -> None:
    """movies.csv plus one credited movie (`first`) in each link file."""
    movies.to_csv(folder / "movies.csv", index=False)
    pd.DataFrame({"movie_id": [first, first], "actor_name": ["A", "B"]}).to_csv(folder / "actors.csv", index=False)
    pd.DataFrame({"movie_id": [first], "director_name": ["D"]}).to_csv(folder / "directors.csv", index=False)
    pd.DataFrame({"movie_id": [first], "studio": ["S"]}).to_csv(folder / "studios.csv", index=False)


@SETTINGS
@given(movies=movie_tables())
def test_valid_tables_load_and_keep_every_movie(movies: pd.DataFrame) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        _write(Path(tmp), movies, int(movies["movie_id"].iloc[0]))
        data = load_folder(Path(tmp), CFG.data, require_rating=True)
    assert sorted(data.movies.index) == sorted(movies["movie_id"])
    np.testing.assert_allclose(data.movies.loc[movies["movie_id"], "rating"], movies["rating"])
    assert data.credits["actor"]["billing"].tolist() == [1, 2]


@SETTINGS
@given(movies=movie_tables(), data=st.data())
def test_one_bad_numeric_cell_is_named_by_column_and_line(movies: pd.DataFrame, data: st.DataObject) -> None:
    column = data.draw(st.sampled_from(["movie_id", "date", "minute", "rating"]))
    row = data.draw(st.integers(0, len(movies) - 1))
    bad = data.draw(st.sampled_from(["abc", "1,5", "--", "nan?", "1e999x"]))
    first = int(movies["movie_id"].iloc[0])
    movies = movies.astype({column: object})
    movies.loc[row, column] = bad
    with tempfile.TemporaryDirectory() as tmp:
        _write(Path(tmp), movies, first)
        try:
            load_folder(Path(tmp), CFG.data, require_rating=True)
        except InputError as err:
            text = str(err)
            assert "movies.csv" in text and f"'{column}'" in text and f"line {row + 2}" in text, text
        else:
            raise AssertionError(f"{bad!r} in column {column} was accepted")


@st.composite
def credit_sets(draw: st.DrawFn) -> tuple[pd.DataFrame, np.ndarray]:
    n_movies = draw(st.integers(min_value=6, max_value=30))
    rows = []
    for movie in range(n_movies):
        names = draw(st.lists(st.integers(0, 9), max_size=4, unique=True))
        rows += [{"movie_id": movie, "name": f"e{name}", "billing": b} for b, name in enumerate(names, 1)]
    links = pd.DataFrame(rows, columns=["movie_id", "name", "billing"])
    y = np.array(draw(st.lists(st.floats(0.5, 5.0), min_size=n_movies, max_size=n_movies)))
    return links, y


@SETTINGS
@given(credits=credit_sets(), data=st.data())
def test_entity_encoder_equals_the_naive_loop(credits: tuple[pd.DataFrame, np.ndarray], data: st.DataObject) -> None:
    links, y = credits
    n_fit = data.draw(st.integers(1, len(y)))
    matrix = {"actor": Credits.from_links(links, np.arange(len(y)))}
    fit = np.arange(n_fit)
    enc = EntityEncoder(("actor",), SMOOTHING, inner_folds=2, billing_decay=0.7)
    got = enc.fit({"actor": matrix["actor"].take(fit)}, y[fit]).transform(matrix)
    got = got.rename(columns=lambda c: c.removeprefix("actor_te_"))
    want = _naive(links, y, fit, np.arange(len(y)))
    pd.testing.assert_frame_equal(got[want.columns], want, check_dtype=False, atol=1e-9)


@SETTINGS
@given(credits=credit_sets(), data=st.data())
def test_cross_fitted_encodings_ignore_the_rows_own_rating(credits: tuple[pd.DataFrame, np.ndarray],
                                                           data: st.DataObject) -> None:
    links, y = credits
    row = data.draw(st.integers(0, len(y) - 1))
    shift = data.draw(st.floats(-3.0, 3.0).filter(lambda s: abs(s) > 1e-3))
    matrix = {"actor": Credits.from_links(links, np.arange(len(y)))}
    y2 = y.copy()
    y2[row] += shift
    first = EntityEncoder(("actor",), SMOOTHING, inner_folds=3, random_state=5).fit_transform(matrix, y)
    second = EntityEncoder(("actor",), SMOOTHING, inner_folds=3, random_state=5).fit_transform(matrix, y2)
    np.testing.assert_allclose(first.iloc[row].to_numpy(), second.iloc[row].to_numpy(), equal_nan=True)


@SETTINGS
@given(n=st.integers(8, 40), dim=st.integers(2, 6), seed=st.integers(0, 10_000), data=st.data())
def test_neighbour_ratings_stay_within_the_fitted_ratings(n: int, dim: int, seed: int, data: st.DataObject) -> None:
    rng = np.random.default_rng(seed)
    vectors, y = rng.normal(size=(n, dim)), rng.uniform(0.5, 5.0, n)
    ks = tuple(sorted(data.draw(st.lists(st.integers(1, 60), min_size=1, max_size=3, unique=True))))
    out = NeighbourEncoder(ks, inner_folds=2).fit_transform({"text": vectors}, y)
    knn = out.filter(like="_knn").drop(columns="text_knn_similarity")
    assert knn.notna().all().all()
    assert (knn.to_numpy() >= y.min() - 1e-9).all() and (knn.to_numpy() <= y.max() + 1e-9).all()
    assert out["text_knn_similarity"].between(-1.0 - 1e-6, 1.0 + 1e-6).all()
