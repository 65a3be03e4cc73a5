"""benchmarks/backtest.py: which windows it scores, and one origin end to end on the demo data, where no film
of the window reaches the model or the reference except as a folder without ratings."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmarks.backtest import Window, backtest_origin, windows
from pipeline.config import Config, project_config
from pipeline.data.clean import drop_duplicate_movies
from pipeline.data.load import MovieData, load_folder
from pipeline.errors import InputError
from pipeline.training.reference import reference_predictions
from tests.conftest import TINY

YEARS = pd.Series(np.repeat(np.arange(1990, 2025), 3))      # rated films 1990-2024, the holdout from 2014


def test_named_origins_end_before_the_holdout_or_follow_it_to_the_end_of_the_data() -> None:
    selection = windows(["selection"], YEARS, 2014)
    assert [(w.origin, w.first, w.last, w.role) for w in selection] == [
        (2006, 2006, 2007, "selection"), (2008, 2008, 2009, "selection"), (2010, 2010, 2011, "selection"),
        (2012, 2012, 2013, "selection")]
    reporting = windows(["reporting"], YEARS, 2014)
    # the lone last year (2024) joins the last window, as the 2022-2024
    assert [(w.first, w.last, w.role) for w in reporting] == [
        (2016, 2017, "reporting"), (2018, 2019, "reporting"), (2020, 2021, "reporting"), (2022, 2024, "reporting")]
    assert windows(["selection", "reporting"], YEARS, 2014) == selection + reporting
    assert [(w.first, w.last, w.role) for w in windows(["2012"], YEARS, 2014)] == [
        (2012, 2013, "selection")]
    # a window reaching into the holdout is reported, never chosen on
    assert windows(["2013"], YEARS, 2014)[0].role == "reporting"


@pytest.mark.parametrize("origins, message", [
    (["2010", "2011"], "windows overlap"), (["1980"], "no rated film"), (["soon"], "expected years")])
def test_origins_that_overlap_hold_no_film_or_are_not_years_are_refused(origins: list[str], message: str) -> None:
    with pytest.raises(InputError, match=message):
        windows(origins, YEARS, 2014)


def rated_films(folder: Path, cfg: Config) -> tuple[MovieData, MovieData]:
    raw = load_folder(folder, cfg.data, require_rating=True)
    rated, _ = drop_duplicate_movies(raw)
    return raw, rated.subset(rated.movies.index[rated.has_rating].to_numpy())


def test_one_origin_predicts_its_window_from_films_before_it_alone(demo_dir: Path, tmp_path: Path) -> None:
    cfg = project_config(TINY | {"tuning": {"enabled": False}, "ablation": {"enabled": False},
                                 "learners": TINY["learners"] | {"enabled": ["tabular_catboost", "all_ridge"],
                                                                 "stacked": ["tabular_catboost", "all_ridge"]}})
    raw, rated = rated_films(demo_dir, cfg)
    last = int(rated.movies["date"].max())
    window = Window(last - 1, last - 1, last, "reporting")
    films, seconds = backtest_origin(window, demo_dir, raw, rated, {"tiny": cfg}, tmp_path)

    in_window = rated.movies.index[rated.movies["date"] >= last - 1]
    assert sorted(films["movie_id"]) == sorted(in_window) and set(films["variant"]) == {"tiny"}
    assert np.allclose(films["rating"], rated.movies.loc[films["movie_id"], "rating"])
    assert films[["stack", "reference", "lower_80", "upper_95"]].notna().all().all()
    assert ((films["lower_80"] <= films["stack"]) & (films["stack"] <= films["upper_80"])).all()
    assert [c for c in films if c.startswith("learner_")] and seconds["tiny"] > 0
    # the model saw only films released before the origin; the window came without its ratings
    assert pd.read_csv(tmp_path / str(window.origin) / "train" / "movies.csv")["date"].max() < window.origin
    assert "rating" not in pd.read_csv(tmp_path / str(window.origin) / "window" / "movies.csv").columns


def test_the_reference_reads_no_rating_of_its_window(demo_dir: Path, tiny_cfg: Config) -> None:
    _, rated = rated_films(demo_dir, tiny_cfg)
    years = rated.movies["date"]
    train, window = (rated.movies.index[years < 2020].to_numpy(), rated.movies.index[years >= 2020].to_numpy())

    def with_ratings(ids: np.ndarray) -> np.ndarray:
        changed = rated.movies.copy()
        changed.loc[ids, "rating"] = np.random.default_rng(0).permutation(changed.loc[ids, "rating"].to_numpy())
        data = MovieData(changed, rated.credits, rated.embeddings, rated.source)
        return reference_predictions(data, train, window, tiny_cfg.evaluation, seed=0)

    before = reference_predictions(rated, train, window, tiny_cfg.evaluation, seed=0)
    assert np.array_equal(with_ratings(window), before)          # the window's own ratings are never read
    assert not np.allclose(with_ratings(train), before)          # the check bites: the training ratings are
