"""Model folders survive upgrades: a folder written by an earlier version loads and predicts what it predicted
when it was written (tests/model_fixture.py wrote each one, once, with the code of its day)."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.api import Model

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
    written = pd.read_csv(folder / "predictions.csv")
    np.testing.assert_allclose(table["predicted_rating"], written["predicted_rating"], atol=1e-6)
    assert table["reason_1"].tolist() == written["reason_1"].tolist()
