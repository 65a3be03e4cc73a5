"""A model folder is untrusted input: hostile files inside it are refused in one line (exit 2), never a
crash, a traceback or a payload run; with a signing key, an unsigned or altered folder is refused."""
from __future__ import annotations

import json
import multiprocessing
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from pipeline.cli import main
from pipeline.io import sha256_file
from pipeline.model import trust

KEY = "correct horse battery staple"


def model_copy(tiny_run: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(tiny_run / "artifacts" / "model", tmp_path / "model"))


def rehash(folder: Path) -> None:
    """What anyone who can edit a file can do: bring manifest.json in line with the edited files."""
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"] = {rel: sha256_file(folder / rel) for rel in manifest["files"]}
    (folder / "manifest.json").write_text(json.dumps(manifest))


def predict(model: Path, data: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> tuple[int, str]:
    code = main(["predict", "--model", str(model), "--data-dir", str(data), "--out", str(tmp_path / "p.csv")])
    return code, capsys.readouterr().err.strip()


def assert_refused(code: int, err: str, names: str) -> None:
    assert code == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert names in err, err


def test_a_truncated_booster_is_refused_not_a_crash(tiny_run, demo_dir, tmp_path, capsys):
    model = model_copy(tiny_run, tmp_path)
    booster = next(model.glob("learners/*/model.txt"))
    booster.write_bytes(booster.read_bytes()[: booster.stat().st_size // 2])
    rehash(model)
    code, err = predict(model, demo_dir, tmp_path, capsys)
    assert_refused(code, err, str(booster.relative_to(tmp_path)))
    assert "LightGBM cannot read it" in err
    assert not (tmp_path / "p.csv").exists()


def test_a_crashing_parser_is_reported_with_its_signal(tmp_path, monkeypatch):
    """The throwaway process dies the way a segfaulting parser does: the file is named with the signal."""
    path = tmp_path / "learners" / "x" / "model.txt"
    path.parent.mkdir(parents=True)
    path.write_text("not a booster")
    monkeypatch.setattr(trust, "_parse", _segfault)
    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("needs fork: the monkeypatched parser must reach the child process")
    fork = multiprocessing.get_context("fork")
    monkeypatch.setattr(trust.mp, "get_context", lambda method: fork)
    with pytest.raises(trust.InputError, match=r"model.txt: LightGBM cannot read it: the parser crashed \(signal SIG"):
        trust.probe_native([path])


def _segfault(library: str, path: str) -> None:
    import faulthandler
    import os
    import signal
    faulthandler.disable()      # pytest's handler would print every thread's stack from the child
    os.kill(os.getpid(), signal.SIGSEGV)


def test_a_pickle_payload_in_an_npz_is_refused_unread(tiny_run, demo_dir, tmp_path, capsys):
    model = model_copy(tiny_run, tmp_path)
    marker = tmp_path / "payload_ran"
    np.savez(model / "intervals.npz", evil=np.array([Payload(marker)], dtype=object), allow_pickle=True)
    rehash(model)
    code, err = predict(model, demo_dir, tmp_path, capsys)
    assert_refused(code, err, "intervals.npz: cannot be read (Object arrays cannot be loaded")
    assert not marker.exists()


class Payload:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_skops_file_with_an_untrusted_function_is_refused_unread(tiny_run, demo_dir, tmp_path, capsys):
    import skops.io as sio
    model = model_copy(tiny_run, tmp_path)
    target = next(model.rglob("*.skops"))
    sio.dump({"f": shutil.rmtree}, target)
    rehash(model)
    code, err = predict(model, demo_dir, tmp_path, capsys)
    assert_refused(code, err, f"{target.name}: holds types outside the allowlist, refused unread: shutil.rmtree")


def test_a_folder_checked_once_is_remembered(tiny_run, tmp_path, monkeypatch):
    model = model_copy(tiny_run, tmp_path)
    rehash(model)             # same files: a manifest this machine never saw (key order, spacing)
    calls = []
    real = trust.probe_native
    monkeypatch.setattr(trust, "probe_native", lambda paths: calls.append(paths) or real(paths))
    trust.verify(model, None)
    trust.verify(model, None)
    assert len(calls) == 1 and all(p.name in trust.NATIVE for p in calls[0]) and calls[0]


def test_signed_mode_end_to_end(demo_dir, tiny_params, tiny_run, tmp_path, capsys, monkeypatch):
    """Train with a key, predict with it; refuse a tampered (rehashed) folder, an unsigned one, another key."""
    monkeypatch.setenv(trust.KEY_ENV, KEY)
    out = tmp_path / "signed"
    assert main(["run", "--params", str(tiny_params), "--profile", "tiny", "--data-dir", str(demo_dir),
                 "--out-dir", str(out), "-S", "tuning.enabled=false", "-S", "ablation.enabled=false"]) == 0
    model = out / "artifacts" / "model"
    assert (model / "manifest.sig").is_file()
    capsys.readouterr()
    assert predict(model, demo_dir, tmp_path, capsys)[0] == 0

    tampered = Path(shutil.copytree(model, tmp_path / "tampered"))
    (tampered / "reference.json").write_text(json.dumps({"year": 1900.0}))
    rehash(tampered)
    assert_refused(*predict(tampered, demo_dir, tmp_path, capsys), "manifest.sig: does not match manifest.json")

    unsigned = tiny_run / "artifacts" / "model"
    assert_refused(*predict(unsigned, demo_dir, tmp_path, capsys), "manifest.sig: missing: the folder is unsigned")

    monkeypatch.setenv(trust.KEY_ENV, "another key")
    assert_refused(*predict(model, demo_dir, tmp_path, capsys), "signed with another key")

    monkeypatch.delenv(trust.KEY_ENV)        # no key: as unsigned (sha256 checks only), the folder loads
    assert predict(model, demo_dir, tmp_path, capsys)[0] == 0


def test_a_key_file_named_in_params_signs_and_checks(tmp_path, monkeypatch):
    monkeypatch.delenv(trust.KEY_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert trust.configured_key() is None or Path("params.yaml").exists()
    (tmp_path / "key").write_text(KEY + "\n")
    (tmp_path / "params.yaml").write_text("signing:\n  key_file: key\n")
    assert trust.configured_key() == KEY.encode()
    (tmp_path / "key").write_text("")
    with pytest.raises(trust.InputError, match="signing key file is empty"):
        trust.configured_key()


def test_a_zip_bomb_of_an_npz_is_only_a_refusal(tiny_run, demo_dir, tmp_path, capsys):
    model = model_copy(tiny_run, tmp_path)
    with zipfile.ZipFile(model / "catalogue_vectors.npz", "w") as z:
        z.writestr("tagline.npy", b"\x93NUMPY garbage")
    rehash(model)
    assert_refused(*predict(model, demo_dir, tmp_path, capsys), "catalogue_vectors.npz: cannot be read")
