"""Fuzzing the loaders: hypothesis-generated corruptions of every file kind a model folder and a data
folder hold (truncation, bit flips, object arrays, wrong dtypes, wrong shapes). Each must give a refusal
in one line (InputError, exit 2) or a usable result: never another exception, a crash or a hang.

The model folder's manifest is rehashed after each corruption (anyone who can edit a file can), so the
corrupted bytes reach the parsers instead of stopping at the sha256 check. Budget and seed are fixed
below: `derandomize=True` makes every CI run try the same examples."""
from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.data.load import load_folder
from pipeline.errors import InputError
from pipeline.model.bundle import ModelBundle
from tests.test_trust import rehash

BUDGET = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                  suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
CORRUPTIONS = ["truncate", "bitflip", "object_array", "wrong_dtype", "wrong_shape", "empty"]


def corrupt(path: Path, how: str, where: float) -> None:
    raw = path.read_bytes()
    at = int(where * max(len(raw) - 1, 0))
    if how == "truncate":
        path.write_bytes(raw[:at])
    elif how == "bitflip" and raw:
        path.write_bytes(raw[:at] + bytes([raw[at] ^ (1 << int(where * 97) % 8)]) + raw[at + 1:])
    elif how == "empty":
        path.write_bytes(b"")
    else:
        array = {"object_array": np.array([{"a": 1}, None], dtype=object),
                 "wrong_dtype": np.array(["x", "y"]), "wrong_shape": np.zeros((3, 1, 2))}[how]
        buffer = io.BytesIO()
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                keys = list(z.files)
            np.savez(buffer, **{keys[int(where * (len(keys) - 1))] if keys else "x": array}, allow_pickle=True)
        else:
            np.save(buffer, array, allow_pickle=True)
        path.write_bytes(buffer.getvalue())


@pytest.fixture(scope="module")
def model_files(tiny_run: Path) -> list[str]:
    folder = tiny_run / "artifacts" / "model"
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and p.name != "manifest.json")


def test_every_model_folder_file_kind_is_covered(model_files):
    kinds = {Path(f).suffix for f in model_files}
    assert {".json", ".npz", ".skops", ".txt", ".cbm"} <= kinds, kinds


@BUDGET
@given(data=st.data())
def test_a_corrupted_model_folder_is_refused_or_works(data, model_files, tiny_run, demo_dir, tmp_path_factory):
    rel = data.draw(st.sampled_from(model_files), label="file")
    how = data.draw(st.sampled_from(CORRUPTIONS), label="corruption")
    where = data.draw(st.floats(0.0, 1.0), label="where")
    folder = Path(shutil.copytree(tiny_run / "artifacts" / "model", tmp_path_factory.mktemp("fuzz") / "model"))
    corrupt(folder / rel, how, where)
    rehash(folder)
    try:
        bundle = ModelBundle.load(folder)
        raw = load_folder(demo_dir, bundle.cfg.data, require_rating=False)
        out = bundle.predict(raw.subset(raw.movies.index[:20].to_numpy()), folder.parent / "cache")
    except InputError as exc:
        assert "\n" not in str(exc)
        return
    assert len(out) == 20 and np.isfinite(out["predicted_rating"]).all()


DATA_FILES = ["movies.csv", "actors.csv", "directors.csv", "studios.csv", "tagline_embeddings.npy",
              "description_embeddings.npy"]


@settings(BUDGET, max_examples=150)
@given(data=st.data())
def test_a_corrupted_data_folder_is_refused_or_loads(data, demo_dir, tiny_cfg, tmp_path_factory):
    name = data.draw(st.sampled_from(DATA_FILES), label="file")
    how = data.draw(st.sampled_from(CORRUPTIONS), label="corruption")
    where = data.draw(st.floats(0.0, 1.0), label="where")
    folder = Path(shutil.copytree(demo_dir, tmp_path_factory.mktemp("fuzzdata") / "data"))
    corrupt(folder / name, how, where)
    try:
        loaded = load_folder(folder, tiny_cfg.data, require_rating=True)
    except InputError as exc:
        assert "\n" not in str(exc)
        return
    assert len(loaded.movies) > 0
