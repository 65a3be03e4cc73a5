"""Model folders survive upgrades: a folder written by an earlier version loads and predicts what it predicted
when it was written (tests/model_fixture.py wrote each one, once, with the code of its day)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.api import Model
from pipeline.model import format as model_format

FIXTURES = Path(__file__).parent / "fixtures"
FORMATS = sorted(p.name for p in FIXTURES.glob("format_*"))


@pytest.mark.parametrize("fixture", FORMATS)
def test_an_earlier_model_folder_predicts_what_it_predicted_when_written(fixture: str, tmp_path: Path) -> None:
    folder = Path(shutil.copytree(FIXTURES / fixture, tmp_path / fixture))   # loading must not need to write
    model = Model.load(folder / "model")
    raw, reasons = model.bundle.predict_with_reasons(model.folder_movies(folder / "new_movies"), tmp_path / "cache")
    now = raw.merge(reasons, on="movie_id")
    then = pd.read_csv(folder / "expected.csv")
    assert list(now.columns) == list(then.columns)
    np.testing.assert_allclose(now.to_numpy(np.float64), then.to_numpy(np.float64), rtol=0, atol=1e-6)
    # and through the command line's own table, as a user reads it
    table = model.predict(model.folder_movies(folder / "new_movies"), explain=3)
    written = pd.read_csv(folder / "cli_predictions.csv")
    np.testing.assert_allclose(table["predicted_rating"], written["predicted_rating"], atol=1e-6)
    assert table["reason_1"].tolist() == written["reason_1"].tolist()


def test_every_format_since_the_oldest_read_has_its_fixture_and_its_migration() -> None:
    """Bumping the format means adding its migration and, once it is frozen, its fixture folder."""
    assert sorted(model_format.MIGRATIONS) == list(range(model_format.OLDEST, model_format.FORMAT))
    assert [f"format_{v}" for v in range(model_format.OLDEST, model_format.FORMAT + 1)] == FORMATS


def test_a_migrated_folder_gets_the_old_behaviour_and_a_new_one_records_its_writer(tiny_run: Path) -> None:
    old = Model.load(FIXTURES / "format_3" / "model")
    assert old.bundle.cfg.whatif.actor_billing is None          # format 3 offered any actor, whatever the billing
    four = Model.load(FIXTURES / "format_4" / "model").bundle  # format 4: no ascent, no disagreement note, and
    assert four.cfg.ultimate.sweeps == 0 and four.cfg.whatif.strong_disagreement is None
    assert four.reference["year"] != int(four.reference["year"])  # its reasons' baseline, the mean year, kept
    five = Model.load(FIXTURES / "format_5" / "model").bundle
    assert five.reference["year"] == five.catalogue.movies["year"].max()     # from format 5: the last year
    manifest = json.loads((tiny_run / "artifacts" / "model" / "manifest.json").read_text())
    assert manifest["format"] == model_format.FORMAT and manifest["writer"] == model_format.writer()
    assert Model.load(tiny_run).bundle.cfg.whatif.actor_billing == 3


@pytest.mark.parametrize("found, writer, says", [
    (99, "movie-rating-pipeline 9.0.0", "written by movie-rating-pipeline 9.0.0; this version"),
    (2, None, "written by a version of movie-rating-pipeline older than format 3's"),
    ("3", None, "model folder format 3, written by"),
])
def test_a_format_this_version_cannot_read_is_refused_in_one_line(found, writer, says, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture) -> None:
    from pipeline.cli import main
    folder = Path(shutil.copytree(FIXTURES / "format_3", tmp_path / "fixture"))
    manifest = json.loads((folder / "model" / "manifest.json").read_text())
    manifest["format"] = found
    manifest.pop("writer", None)
    if writer:
        manifest["writer"] = writer
    (folder / "model" / "manifest.json").write_text(json.dumps(manifest))
    assert main(["predict", "--model", str(folder / "model"), "--data-dir", str(folder / "new_movies"),
                 "--out", str(tmp_path / "p.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and says in err and f"reads formats {model_format.OLDEST}-{model_format.FORMAT}" in err
    assert ("pip install -U" in err) == (found == 99) and not (tmp_path / "p.csv").exists()
