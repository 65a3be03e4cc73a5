"""Bad input: exit code 2, one line naming file, column and line, no traceback, nothing written."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pytest

from pipeline.cli import main


def _edit_movies(edit: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        df = pd.read_csv(folder / "movies.csv", dtype=str, keep_default_na=False)
        edit(df).to_csv(folder / "movies.csv", index=False)
    return apply


def _set(col: str, row: int, value: str) -> Callable[[Path], None]:
    def edit(df: pd.DataFrame) -> pd.DataFrame:
        df.loc[row, col] = value
        return df
    return _edit_movies(edit)


def _write_bytes(name: str, data: bytes) -> Callable[[Path], None]:
    return lambda folder: (folder / name).write_bytes(data)


def _non_utf8(folder: Path) -> None:
    raw = (folder / "movies.csv").read_bytes().splitlines(keepends=True)
    raw[4] = raw[4].replace(b",", b",\xff", 1)
    (folder / "movies.csv").write_bytes(b"".join(raw))


def _semicolons(folder: Path) -> None:
    df = pd.read_csv(folder / "movies.csv", dtype=str, keep_default_na=False)
    df.to_csv(folder / "movies.csv", index=False, sep=";")


def _embedding(transform: Callable[[np.ndarray], np.ndarray]) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        path = folder / "tagline_embeddings.npy"
        np.save(path, transform(np.load(path)))
    return apply


def _nan_row(a: np.ndarray) -> np.ndarray:
    a = a.copy()
    a[7, 3] = np.nan
    return a


# name -> (mutation of a demo copy, substrings the error line must contain)
CASES: dict[str, tuple[Callable[[Path], None], tuple[str, ...]]] = {
    "movies.csv missing": (lambda f: (f / "movies.csv").unlink(), ("movies.csv", "not found")),
    "movies.csv empty": (_write_bytes("movies.csv", b""), ("movies.csv", "empty")),
    "required column missing": (_edit_movies(lambda d: d.drop(columns="minute")), ("movies.csv", "'minute'")),
    "duplicate movie_id": (_set("movie_id", 9, "3"), ("movies.csv", "'movie_id'", "line 11", "duplicate")),
    "negative movie_id": (_set("movie_id", 4, "-4"), ("movies.csv", "'movie_id'", "line 6")),
    "non-integer movie_id": (_set("movie_id", 4, "4.5"), ("movies.csv", "'movie_id'", "line 6", "integer")),
    "non-numeric year": (_set("date", 2, "nineteen"), ("movies.csv", "'date'", "line 4", "not a number")),
    "non-numeric runtime": (_set("minute", 12, "long"), ("movies.csv", "'minute'", "line 14", "not a number")),
    "non-numeric rating": (_set("rating", 5, "good"), ("movies.csv", "'rating'", "line 7", "not a number")),
    "rating out of range": (_set("rating", 8, "47"), ("movies.csv", "'rating'", "line 10", "above")),
    "all ratings missing": (_edit_movies(lambda d: d.assign(rating="")), ("movies.csv", "'rating'", "no movie")),
    "text column empty": (_edit_movies(lambda d: d.assign(description="")), ("movies.csv", "'description'")),
    "non-UTF-8 bytes": (_non_utf8, ("movies.csv", "UTF-8", "line 5")),
    "column named twice": (_edit_movies(lambda d: d.assign(again=d["rating"]).rename(columns={"again": "rating"})),
                           ("movies.csv", "'rating'", "line 1", "twice")),
    "wrong delimiter": (_semicolons, ("movies.csv", "delimiter")),
    "embedding wrong row count": (_embedding(lambda a: a[:-3]), ("tagline_embeddings.npy", "rows")),
    "embedding NaN": (_embedding(_nan_row), ("tagline_embeddings.npy", "row 7", "NaN")),
    "embedding infinite": (_embedding(lambda a: np.where(np.arange(len(a))[:, None] == 11, np.inf, a)),
                           ("tagline_embeddings.npy", "row 11")),
    "embedding wrong dtype": (_embedding(lambda a: (a * 100).astype(np.int32)), ("tagline_embeddings.npy", "dtype")),
    "embedding not 2-D": (_embedding(lambda a: a[:, 0]), ("tagline_embeddings.npy", "2-D")),
    "link movie_id not a number": (lambda f: (f / "studios.csv").write_text("movie_id,studio\nx,Acme\n"),
                                   ("studios.csv", "'movie_id'", "line 2")),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_bad_data_folder(case: str, demo_copy: Path, tiny_params: Path, tmp_path: Path, capsys) -> None:
    mutate, needles = CASES[case]
    mutate(demo_copy)
    out = tmp_path / "out"
    code = main(["run", "--params", str(tiny_params), "--profile", "tiny", "--data-dir", str(demo_copy),
                 "--out-dir", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, f"{needle!r} not in {err!r}"
    assert not out.exists(), "nothing may be written for bad input"


PARAM_CASES: dict[str, tuple[dict | str, tuple[str, ...]]] = {
    "unknown key": ({"split": {"holdout": 0.2}}, ("split.holdout", "Extra")),
    "wrong type": ({"seed": "many"}, ("'seed'",)),
    "one fold": ({"split": {"n_folds": 1}}, ("split.n_folds",)),
    "holdout fraction 1": ({"split": {"holdout_fraction": 1.0}}, ("split.holdout_fraction",)),
    "impossible quantiles": ({"clean": {"runtime_clip_quantiles": [0.9, 0.1]}}, ("clean",)),
    "unknown learner": ({"learners": {"enabled": ["tabular_catboost", "magic_box"], "stacked": ["tabular_catboost"]}},
                        ("magic_box",)),
    "stacked not enabled": ({"learners": {"enabled": ["text_ridge"], "stacked": ["tabular_catboost"]}},
                            ("stacked",)),
    "no neighbours": ({"embeddings": {"neighbours": []}}, ("embeddings.neighbours",)),
    "zero neighbours": ({"embeddings": {"neighbours": [0, 10]}}, ("embeddings",)),
    "zero neighbour components": ({"embeddings": {"neighbour_components": 0}}, ("embeddings.neighbour_components",)),
    "unreachable tuning storage": ({"tuning": {"storage": "postgresql://nobody@127.0.0.1:1/none"}},
                                   ("tuning.storage", "cannot open")),
    "tuning storage not a URL": ({"tuning": {"storage": "my database"}}, ("tuning.storage", "cannot open")),
    "not YAML": ("seed: [1,\n", ("YAML",)),
    "misspelt learner parameter": ({"learners": {"params": {"tabular_lgbm": {"learnig_rate": 0.1}}}},
                                   ("learners.params.tabular_lgbm.learnig_rate", "did you mean 'learning_rate'")),
    "signing key file missing": ({"signing": {"key_file": "/nonexistent/signing.key"}},
                                 ("/nonexistent/signing.key", "not found")),
}


@pytest.mark.parametrize("case", list(PARAM_CASES), ids=list(PARAM_CASES))
def test_bad_params(case: str, demo_dir: Path, tmp_path: Path, capsys) -> None:
    import yaml

    from pipeline.config import PROJECT_ROOT, deep_merge
    edit, needles = PARAM_CASES[case]
    params = tmp_path / "params.yaml"
    if isinstance(edit, str):
        params.write_text(edit)
    else:
        base = yaml.safe_load((PROJECT_ROOT / "params.yaml").read_text())
        params.write_text(yaml.safe_dump(deep_merge(base, edit)))
    out = tmp_path / "out"
    code = main(["run", "--params", str(params), "--data-dir", str(demo_dir), "--out-dir", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert "params.yaml" in err
    for needle in needles:
        assert needle in err, f"{needle!r} not in {err!r}"
    assert not out.exists()


def test_missing_parameter_is_named(tmp_path: Path) -> None:
    from pipeline.config import load_config
    from pipeline.errors import InputError
    params = tmp_path / "params.yaml"
    params.write_text("seed: 1\n")
    with pytest.raises(InputError, match="data.*Field required"):
        load_config(params)


def test_unknown_movies_and_duplicate_credits_are_dropped_and_counted(demo_copy: Path, tiny_cfg) -> None:
    from pipeline.data.load import load_folder
    actors = pd.read_csv(demo_copy / "actors.csv")
    extra = pd.DataFrame({"movie_id": [99_999, 99_999], "original_id": [0, 0], "actor_name": ["Ghost", "Ghost 2"]})
    pd.concat([actors, actors.head(4), extra]).to_csv(demo_copy / "actors.csv", index=False)
    data = load_folder(demo_copy, tiny_cfg.data, require_rating=True)
    assert data.counts["actor links to unknown movies (dropped)"] == 2
    assert data.counts["actor duplicate links (dropped)"] >= 4
    assert not data.credits["actor"]["movie_id"].isin([99_999]).any()


def test_an_out_dir_that_is_a_file(demo_dir: Path, tiny_params: Path, tmp_path: Path, capsys) -> None:
    target = tmp_path / "notes.txt"
    target.write_text("keep me")
    for extra in ([], ["--demo"]):
        code = main(["run", "--params", str(tiny_params), "--profile", "tiny", "--data-dir", str(demo_dir),
                     "--out-dir", str(target), *extra])
        err = capsys.readouterr().err.strip()
        assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, err
        assert str(target) in err and "is a file" in err
    assert target.read_text() == "keep me"


def test_a_run_that_would_not_fit_in_memory_is_refused_up_front(demo_dir: Path, tiny_params: Path, tmp_path: Path,
                                                               capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.data import memory
    needed = memory.BASE_MB + memory.PEAK_PER_INPUT_BYTE * memory.input_mb(demo_dir)
    assert memory.input_mb(demo_dir) > 1                          # the estimate reads the folder's files
    monkeypatch.setattr(memory, "available_mb", lambda: needed - 1)
    out = tmp_path / "out"
    code = main(["run", "--params", str(tiny_params), "--profile", "tiny", "--data-dir", str(demo_dir),
                 "--out-dir", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert str(demo_dir) in err and f"{needed / 1024:,.1f} GB" in err and "available" in err
    assert not out.exists(), "nothing may be written when the run is refused"
