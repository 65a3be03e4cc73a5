"""Every door is as strict as the command line: the Python API gives a frame the verdict the same values get
in a CSV file (one reader for both), and `--out` paths are refused in one line before any work."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.api import Model
from pipeline.cli import main
from pipeline.data.load import LINK_FILES, MOVIE_COLUMNS
from pipeline.errors import InputError

# hostile and ordinary cells per column of the data contract (no pandas NA spellings: a user reading a
# file with pandas' defaults would turn "NA" into a missing value, which is another value, not another door)
IDS = ["0", "1", "2", "3", "7", "-1", "1.0", "2.5", "x", "", " 4", "1e2", "99999999999999999999", "0x1"]
YEARS = ["1999", "2026", "2031", "1700", "2200", "20.5", "soon", "", "2026.0", "-5"]
MINUTES = ["90", "118.5", "", "-3", "long", "0", "inf", "1e3", "9" * 30]
RATINGS = ["PG-13", "R", "", "=cmd()", "NR", "G", " PG "]
WORDS = ["Alpha", "=1+1", "-x", "@SUM(A1)", "+7", "\x1b[31m", "\u202e", ",", '"', "\n", " ", "é", "|", "[a](b)",
         "<b>", "\t", "3", "4.5"]
COLUMN_CELLS = {"movie_id": IDS, "date": YEARS, "minute": MINUTES, "theatrical_release_age_rating": RATINGS}


def cells(column: str) -> st.SearchStrategy[str]:
    if column in COLUMN_CELLS:
        return st.sampled_from(COLUMN_CELLS[column])
    return st.lists(st.sampled_from(WORDS), max_size=3).map("".join)


@st.composite
def folders(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame]:
    """movies.csv and actors.csv as tables of strings, now and then with a column missing, doubled or extra."""
    n = draw(st.integers(0, 4))
    columns = list(MOVIE_COLUMNS)
    shape = draw(st.sampled_from(["ok"] * 6 + ["drop", "extra", "twice"]))
    if shape == "drop":
        columns.remove(draw(st.sampled_from(columns)))
    movies = pd.DataFrame({c: [draw(cells(c)) for _ in range(n)] for c in columns}, dtype=object)
    if shape == "extra":
        movies["notes"] = "x"
    if shape == "twice":
        movies = pd.concat([movies, movies[["date"]]], axis=1)
    k = draw(st.integers(0, 4))
    actors = pd.DataFrame({"movie_id": [draw(cells("movie_id")) for _ in range(k)],
                           "actor_name": [draw(cells("name")) for _ in range(k)]}, dtype=object)
    return movies, actors


def verdict(load) -> tuple:
    """What a door says: the refusal's place and message, or what was loaded."""
    try:
        data = load()
    except InputError as exc:
        assert "\n" not in str(exc)
        return ("refused", exc.where, exc.column, exc.line, str(exc))
    return ("loaded", data.movies.to_csv(), {k: v.to_csv() for k, v in data.credits.items()})


@pytest.fixture(scope="module")
def model(tiny_run: Path) -> Model:
    return Model.load(tiny_run)


def write(folder: Path, movies: pd.DataFrame, actors: pd.DataFrame) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    movies.to_csv(folder / "movies.csv", index=False)
    actors.to_csv(folder / LINK_FILES["actor"][0], index=False)
    return folder


@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(tables=folders())
def test_the_api_gives_a_frame_the_verdict_its_file_gets(tables, model: Model, tmp_path_factory) -> None:
    movies, actors = tables
    folder = write(tmp_path_factory.mktemp("door"), movies, actors)
    by_file = verdict(lambda: model.folder_movies(folder))
    # the frames the file was written from (its cells as text): the same verdict, word for word
    assert verdict(lambda: model.movies(movies, actors=actors)) == by_file
    if movies.columns.duplicated().any():
        return              # pandas renames a doubled column when it reads one (date -> date.1): no typed twin
    # the frames as pandas reads the file by default (numbers typed, empty cells NaN): refused at the same place
    typed = {f: pd.read_csv(folder / f) for f in ("movies.csv", "actors.csv")}
    by_typed = verdict(lambda: model.movies(typed["movies.csv"], actors=typed["actors.csv"]))
    assert by_typed[:4] == by_file[:4] if by_file[0] == "refused" else by_typed[0] == "loaded"


MOVIE = {"movie_id": [0, 1], "name": ["A", "B"], "date": [2026, 2027], "tagline": ["t", "u"],
         "description": ["d", "e"], "minute": [100.0, 95.0], "theatrical_release_age_rating": ["PG", "R"]}


@pytest.mark.parametrize("odd, says", [
    (lambda m: m.assign(movie_id=[0.0, np.nan]), "column 'movie_id', line 3: value nan is empty"),
    (lambda m: m.assign(movie_id=[1, 1]), "column 'movie_id', line 3: duplicate movie_id 1"),
    (lambda m: m.assign(movie_id=[True, False]), "column 'movie_id', line 2: value 'True' is not a number"),
    (lambda m: m.assign(date=pd.to_datetime(["2026-01-01", "2027-05-01"])), "column 'date', line 2"),
    (lambda m: m.assign(minute=["long", 95]), "column 'minute', line 2: value 'long' is not a number"),
    (lambda m: m.assign(date=pd.Categorical(["2026", "x"])), "column 'date', line 3: value 'x' is not a number"),
    (lambda m: m.assign(minute=[[100], 95]), "column 'minute', line 2: value '[100]' is not a number"),
    (lambda m: m.drop(columns="movie_id").set_index(pd.Index([0, 1], name="movie_id")), "'movie_id'"),
    (lambda m: m.assign(movie_id=[0, 10 ** 20]), "column 'movie_id', line 3: value '100000000000000000000' is above"),
])
def test_odd_frames_get_the_verdict_of_the_file_they_would_write(odd, says, model: Model, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture) -> None:
    movies = odd(pd.DataFrame(MOVIE))
    with pytest.raises(InputError) as raised:
        model.predict(movies)
    assert says in str(raised.value) and "\n" not in str(raised.value)
    folder = tmp_path / "same"
    folder.mkdir()
    movies.to_csv(folder / "movies.csv", index=False)
    assert main(["predict", "--model", str(model.folder), "--data-dir", str(folder),
                 "--out", str(tmp_path / "p.csv")]) == 2
    assert capsys.readouterr().err.strip() == f"error: {raised.value}"


@pytest.mark.parametrize("given", [
    [{"movie_id": 0, "name": "A", "date": 2026}],
    {"movie_id": [0], "name": ["A"], "date": [2026]},
    "movies.csv",
    None,
])
def test_what_is_not_a_frame_is_a_type_error_in_one_line(given, model: Model) -> None:
    with pytest.raises(TypeError) as raised:
        model.predict(given)
    assert "movies.csv: expected a pandas DataFrame" in str(raised.value) and "\n" not in str(raised.value)
    with pytest.raises(TypeError, match="actors.csv: expected a pandas DataFrame"):
        model.predict(pd.DataFrame(MOVIE), actors=[{"movie_id": 0, "actor_name": "X"}])
    with pytest.raises(TypeError, match="embeddings: expected a dict"):
        model.predict(pd.DataFrame(MOVIE), embeddings=[np.zeros((2, 4))])
    two_rows_of_header = pd.DataFrame(MOVIE).set_axis(pd.MultiIndex.from_product([["a"], list(MOVIE)]), axis=1)
    with pytest.raises(TypeError, match="movies.csv: expected one header row, got 2 column levels"):
        model.predict(two_rows_of_header)


def test_a_list_of_dicts_made_a_frame_predicts(model: Model) -> None:
    rows = [dict(zip(MOVIE, values)) for values in zip(*MOVIE.values())]
    vectors = {name: np.full((2, dim), 0.1, np.float32) for name, dim in model.bundle.spec.dims.items()}
    table = model.predict(pd.DataFrame(rows), embeddings=vectors)
    assert table["predicted_rating"].between(0.5, 5).all() and len(table) == 2


@pytest.mark.parametrize("where, says", [
    ("folder", "is a folder; name a file in it, e.g."),
    ("missing/p.csv", "does not exist; create it first"),
    ("file/p.csv", "is a file, not a folder"),
    ("/proc/p.csv", "cannot write in /proc"),
])
def test_an_out_path_that_cannot_be_written_is_refused_before_any_work(where: str, says: str, model: Model,
                                                                      tmp_path: Path, capsys) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "file").write_text("x")
    out = Path(where) if where.startswith("/") else tmp_path / where
    folder = tmp_path / "new"
    folder.mkdir()
    pd.DataFrame(MOVIE).to_csv(folder / "movies.csv", index=False)
    for args in (["predict", "--model", str(model.folder), "--data-dir", str(folder), "--out", str(out)],
                 ["ultimate", "--model", str(model.folder), "--out", str(out)],
                 ["explain", "--model", str(model.folder), "--data-dir", str(folder), "--movie-id", "0",
                  "--figure", str(out)]):
        assert main(args) == 2
        err = capsys.readouterr().err.strip()
        assert says in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "folder", "new"]


def test_the_date_column_as_dates_is_read_as_the_file_would_be(model: Model) -> None:
    """A datetime column writes as '2026-01-01' in a CSV, which is not a release year: the file's verdict."""
    movies = pd.DataFrame(MOVIE).assign(date=[dt.date(2026, 1, 1), dt.date(2027, 1, 1)])
    with pytest.raises(InputError, match="column 'date', line 2: value '2026-01-01' is not a number"):
        model.predict(movies)
