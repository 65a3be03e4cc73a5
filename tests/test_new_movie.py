"""A movie not yet made, end to end: trained on a folder whose text vectors are all-MiniLM-L6-v2's (as the
case's are), then given only the four CSVs of a new movie: prediction, intervals, reasons, the Python API."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.api import Model
from pipeline.cli import main
from pipeline.config import PROJECT_ROOT
from pipeline.errors import InputError
from pipeline.features.embeddings import sentence_vectors
from pipeline.model.catalogue import NEWCOMERS

NEW_MOVIE = {"movie_id": [0], "name": ["Paper Moons"], "date": [2026], "minute": [104],
             "tagline": ["Every secret has a price."], "theatrical_release_age_rating": ["PG-13"],
             "description": ["A journalist returns to the island where her father vanished and finds his diaries."]}


def _four_csvs(folder: Path, data: Path) -> Path:
    """One brand-new movie as movies.csv, actors.csv, directors.csv, studios.csv: no vectors, no rating; a
    cast of one known and one never-seen actor, a known director, an unknown studio."""
    folder.mkdir(parents=True)
    known_actor = pd.read_csv(data / "actors.csv")["actor_name"].value_counts().index[0]
    known_director = pd.read_csv(data / "directors.csv")["director_name"].value_counts().index[0]
    pd.DataFrame(NEW_MOVIE).to_csv(folder / "movies.csv", index=False)
    pd.DataFrame({"movie_id": [0, 0], "actor_name": [known_actor, "Someone Never Seen"]}).to_csv(
        folder / "actors.csv", index=False)
    pd.DataFrame({"movie_id": [0], "director_name": [known_director]}).to_csv(folder / "directors.csv", index=False)
    pd.DataFrame({"movie_id": [0], "studio": ["A Studio Nobody Knows"]}).to_csv(folder / "studios.csv", index=False)
    return folder


def test_the_model_records_the_encoder_of_the_supplied_vectors(minilm_run) -> None:
    _, out = minilm_run
    model = Model.load(out)
    encoders = model.bundle.spec.encoders
    assert encoders["tagline"]["encoder"] == "all-MiniLM-L6-v2" and encoders["description"]["normalize"] is True
    report = (out / "reports" / "report.md").read_text()
    assert "reproduced offline by the sentence encoder all-MiniLM-L6-v2" in report
    # no poster vectors, ablation off: both said, not left out
    assert "| image_ridge | poster |  | skipped: no poster vectors (poster_embeddings.npy)" in report
    assert "**What each group of inputs is worth.** The ablation was off for this run." in report


def test_a_brand_new_movie_from_its_csvs_alone(minilm_run, tmp_path: Path, capsys) -> None:
    data, out = minilm_run
    new = _four_csvs(tmp_path / "new", data)
    csv = tmp_path / "predictions.csv"
    assert main(["predict", "--model", str(out), "--data-dir", str(new), "--out", str(csv), "--explain", "5"]) == 0
    printed = capsys.readouterr().out
    assert re.search(r"Paper Moons \(2026\): predicted \d\.\d\d  80%: \d\.\d\d-\d\.\d\d  95%: \d\.\d\d-\d\.\d\d  "
                     r"\(not in the training data\)", printed), printed
    assert len(re.findall(r"^    \S.* [+-]\d\.\d{3}$", printed, flags=re.M)) == 5
    row = pd.read_csv(csv).iloc[0]
    assert list(pd.read_csv(csv).columns[:10]) == ["movie_id", "name", "year", "predicted_rating", "lower_80",
                                                  "upper_80", "lower_95", "upper_95", "in_training_data",
                                                  "actual_rating"]
    assert 0.0 <= row["lower_95"] <= row["lower_80"] <= row["predicted_rating"] <= row["upper_80"] <= row["upper_95"]
    assert row["predicted_rating"] == round(row["predicted_rating"], 3) and not row["in_training_data"]
    assert pd.isna(row["actual_rating"]) and all(isinstance(row[f"reason_{k}"], str) for k in range(1, 6))
    last = int(Model.load(out).bundle.catalogue.movies["year"].max())
    assert last < 2026 and printed.count(f"Release years after {last} ") == 1      # the level 2026 is read at

    # the vectors predict computed are the ones the training folder's encoder gives: same prediction
    movies = pd.read_csv(new / "movies.csv", dtype=str, keep_default_na=False)
    for field in ("tagline", "description"):
        np.save(new / f"{field}_embeddings.npy", sentence_vectors(movies[field], None, None))
    assert main(["predict", "--model", str(out), "--data-dir", str(new), "--out", str(tmp_path / "b.csv")]) == 0
    assert abs(pd.read_csv(tmp_path / "b.csv").iloc[0]["predicted_rating"] - row["predicted_rating"]) <= 0.001


def test_reasons_sum_to_the_prediction(minilm_run, tmp_path: Path) -> None:
    data, out = minilm_run
    model = Model.load(out)
    new = model.folder_movies(_four_csvs(tmp_path / "new", data))
    why = model.explain(new)
    raw = model.bundle.predict(new, model.cache_dir)["predicted_rating"].iloc[0]
    assert why.unclipped == pytest.approx(raw, abs=1e-9)            # baseline + contributions
    assert why.intervals["80"][0] <= why.predicted_rating <= why.intervals["80"][1]
    assert why.contributions["contribution"].abs().is_monotonic_decreasing
    # over every training movie too (trees, linear terms, era lines and the stacker's year column)
    movies = model.folder_movies(data)
    parts = model.bundle.contributions(movies, model.cache_dir)
    total = parts.drop(columns="movie_id").sum(axis=1).to_numpy()
    np.testing.assert_allclose(total, model.bundle.predict(movies, model.cache_dir)["predicted_rating"], atol=1e-6)
    assert parts["baseline"].nunique() == 1            # one baseline for every movie
    assert (parts["cast"].abs() > 0).mean() > 0.5 and (parts["release year"].abs() > 0).all()


def test_explain_command_prints_reasons_and_writes_a_waterfall(minilm_run, tmp_path: Path, capsys) -> None:
    data, out = minilm_run
    new = _four_csvs(tmp_path / "new", data)
    figure = tmp_path / "why.png"
    assert main(["explain", "--model", str(out / "artifacts" / "model"), "--data-dir", str(new),
                 "--name", "paper moons", "--figure", str(figure)]) == 0
    printed = capsys.readouterr().out
    assert "Paper Moons (2026): predicted" in printed and "cast:" in printed
    last = int(Model.load(out).bundle.catalogue.movies["year"].max())
    assert re.search(rf"baseline \d\.\d{{3}} \(a movie of {last}, every feature at its expected value\)", printed)
    assert re.search(r"read on its era line continued: \d\.\d\d in 2026 against \d\.\d\d in \d{4}", printed)
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_year_after_the_data_is_read_at_a_stated_level(minilm_run) -> None:
    data, out = minilm_run
    model = Model.load(out)
    bundle, last = model.bundle, int(model.bundle.catalogue.movies["year"].max())
    # the level of the last training year is the reasons' baseline: every learner at its average, the year alone
    assert bundle.reference["year"] == last
    one = model.folder_movies(data)
    baseline = bundle.contributions(one.subset(one.movies.index[:1]), model.cache_dir)["baseline"].iloc[0]
    assert bundle.era_level(np.array([bundle.reference["year"]]), model.cache_dir)[0] == pytest.approx(baseline,
                                                                                                        abs=1e-9)
    # a film of 2026 is moved from the last training year's level along the era lines and the stacker's year
    level = bundle.era_level(np.array([last, last + 2]), model.cache_dir)
    lines = next(iter(bundle.learners.values())).target_
    note = model.after_the_data([last + 2, 1990])
    assert note.startswith(f"Release years after {last} (the last the model was fitted on)")
    assert f"{lines.level(np.array([last + 2.0]))[0]:.2f} in {last + 2} against" in note
    assert f"move a prediction by {level[1] - level[0]:+.2f} for {last + 2}" in note
    rated = bundle.catalogue.movies.query("year >= @last - 2")["rating"].mean()
    assert f"The films of {last - 2}-{last} were rated {rated:.2f} on average" in note
    assert model.after_the_data([last, 1990]) == ""                  # nothing to say inside the training years


def test_readme_python_example_runs(minilm_run, monkeypatch, capsys) -> None:
    """The README's notebook example, as written, against a trained model in the working directory."""
    _, out = minilm_run
    readme = (PROJECT_ROOT / "README.md").read_text()
    code = re.search(r"<!-- api-example -->\s*```python\n(.*?)```", readme, flags=re.S).group(1)
    assert len([line for line in code.splitlines() if line.strip()]) <= 10
    monkeypatch.chdir(out)
    exec(compile(code, "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert "predicted_rating" in printed and "lower_80" in printed and "holdout_rmse" in printed


@pytest.mark.parametrize("case", ["date not a number", "duplicate movie_id", "rating out of range",
                                  "missing column", "actor movie_id not an integer"])
def test_a_bad_dataframe_raises_the_error_the_cli_prints(minilm_run, tmp_path: Path, case: str, capsys) -> None:
    _, out = minilm_run
    movies = pd.DataFrame({k: v * 3 for k, v in NEW_MOVIE.items()}).assign(movie_id=[0, 1, 2])
    actors = pd.DataFrame({"movie_id": [0, 1], "actor_name": ["A", "B"]})
    if case == "date not a number":
        movies["date"] = ["2026", "soon", "2026"]
    elif case == "duplicate movie_id":
        movies.loc[2, "movie_id"] = 0
    elif case == "rating out of range":
        movies["rating"] = [3.0, 7.5, 2.0]
    elif case == "missing column":
        movies = movies.drop(columns="minute")
    else:
        actors["movie_id"] = [0, 1.5]
    folder = tmp_path / "bad"
    folder.mkdir()
    movies.to_csv(folder / "movies.csv", index=False)
    actors.to_csv(folder / "actors.csv", index=False)
    assert main(["predict", "--model", str(out), "--data-dir", str(folder), "--out", str(tmp_path / "p.csv")]) == 2
    printed = capsys.readouterr().err.strip()
    with pytest.raises(InputError) as raised:
        Model.load(out).predict(movies, actors=actors)
    assert f"error: {raised.value}" == printed and len(printed.splitlines()) == 1
    assert not (tmp_path / "p.csv").exists()


def test_names_the_model_does_not_know_are_said_with_the_nearest_known_one(minilm_run, tmp_path: Path,
                                                                          capsys) -> None:
    """A typo and a casing slip in the cast are newcomers to the model: predict says so and offers the name it
    knows; a truly new name gets no suggestion; a known name is not listed."""
    data, out = minilm_run
    counts = pd.read_csv(data / "actors.csv")["actor_name"].value_counts()
    known, typo_of, cased_of = counts.index[0], counts.index[1], counts.index[2]
    typo = typo_of[:3] + typo_of[4:]                    # one letter dropped
    folder = tmp_path / "new"
    folder.mkdir()
    pd.DataFrame(NEW_MOVIE).to_csv(folder / "movies.csv", index=False)
    pd.DataFrame({"movie_id": [0] * 4, "actor_name": [known, typo, cased_of.lower(), "Zyx Qwv"]}).to_csv(
        folder / "actors.csv", index=False)
    csv = tmp_path / "p.csv"
    assert main(["predict", "--model", str(out), "--data-dir", str(folder), "--out", str(csv)]) == 0
    expected = (f"{typo} (actor; did you mean {typo_of}?); {cased_of.lower()} (actor; did you mean {cased_of}?); "
                "Zyx Qwv (actor)")
    assert pd.read_csv(csv).iloc[0]["unknown_names"] == expected
    assert f"    new to the model (read as newcomers): {expected}\n" in capsys.readouterr().out
    model = Model.load(out)
    assert model.whatif(model.folder_movies(folder), movie_id=0)["unknown_names"] == expected
    explanation = model.explain(model.folder_movies(folder))
    assert explanation.unknown_names == expected and f"\n  {NEWCOMERS}: {expected}\n" in str(explanation)


def test_a_training_movie_says_so_with_its_rating(minilm_run) -> None:
    data, out = minilm_run
    model = Model.load(out)
    movies = pd.read_csv(data / "movies.csv")
    first = movies.head(3).drop(columns="rating")
    table = model.predict(first.assign(movie_id=[0, 1, 2]))
    assert table["in_training_data"].all() and (table["unknown_names"] == "").all()
    np.testing.assert_allclose(table["actual_rating"], movies["rating"].head(3))
    renamed = model.predict(first.assign(movie_id=[0, 1, 2], name=["x1", "x2", "x3"]))
    assert not renamed["in_training_data"].any() and renamed["actual_rating"].isna().all()


def test_leaderboard_and_feature_importance(minilm_run) -> None:
    _, out = minilm_run
    model = Model.load(out)
    board = model.leaderboard()
    assert board["holdout_rmse"].is_monotonic_increasing and "stack" in set(board["learner"])
    assert set(board.loc[board["shipped"], "learner"]) == set(model.bundle.learners) | {"stack"}
    assert (board.dropna(subset=["fit_seconds"])["predict_seconds_per_1000"] > 0).all()
    imp = model.feature_importance()
    assert set(imp["learner"]) == set(model.bundle.learners)
    assert np.allclose(imp.groupby("learner")["share"].sum(), 1.0)
    assert {"cast", "release year"} <= set(imp["group"])
    with pytest.raises(InputError, match="not a shipped learner"):
        model.feature_importance("nope")


def test_model_folder_is_found_from_the_run_folder_and_refused_elsewhere(minilm_run, tmp_path: Path) -> None:
    _, out = minilm_run
    assert Model.load(out).folder == Model.load(out / "artifacts").folder == out / "artifacts" / "model"
    with pytest.raises(InputError, match="not a model folder"):
        Model.load(tmp_path)


def test_console_script_runs_the_same_commands() -> None:
    exe = shutil.which("movie-rating")
    assert exe, "the console script is missing: install the project with `pip install -e .`"
    import subprocess
    done = subprocess.run([exe, "predict", "--help"], capture_output=True, text=True, check=True)
    assert "--explain" in done.stdout and "usage: movie-rating predict" in done.stdout


def test_whatif_and_ultimate_for_a_movie_not_yet_made(minilm_run, tmp_path: Path, capsys) -> None:
    """The producer's question about a film known only by its CSVs: answered from the model alone (its
    catalogue of training movies), with intervals and each name's credited years; and the ultimate movie
    without any data folder."""
    data, out = minilm_run
    new = _four_csvs(tmp_path / "new", data)
    assert main(["whatif", "--model", str(out), "--data-dir", str(new), "--name", "paper moons",
                 "--top", "3"]) == 0
    printed = capsys.readouterr().out
    assert "### Paper Moons (2026)" in printed and "not in the training data" in printed
    assert re.search(r"Predicted \*\*\d\.\d\d\*\*, 80% interval \[\d\.\d\d, \d\.\d\d\]", printed), printed
    edit_row = r"^\| .+ → .+ \| \d\.\d{3} \[\d\.\d\d, \d\.\d\d\] \| [+-]\d\.\d{3}"
    assert len(re.findall(edit_row, printed, flags=re.M)) == 3
    assert "tagline" not in printed.split("Offered:")[1].split("\n\n", 1)[1].lower()      # text is never edited
    assert main(["ultimate", "--model", str(out)]) == 0
    card = capsys.readouterr().out
    assert "### The ultimate movie" in card and "Story of *" in card
    with pytest.raises(InputError, match=r"no movie named 'Paper Moon' .*did you mean 'Paper Moons'\?"):
        Model.load(out).whatif(pd.DataFrame(NEW_MOVIE), name="Paper Moon")
