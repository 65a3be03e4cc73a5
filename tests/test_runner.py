"""The stage runner: each stage gets the values it names, must make what its table row says, and a
skipped stage leaves what its row says it makes when skipped; a unit of work is reused only when its
fingerprint and files are unchanged."""
from __future__ import annotations

import weakref
from pathlib import Path

import pytest

from pipeline.config import Config, project_config
from pipeline.io import write_text
from pipeline.progress import StageTimer
from pipeline.runner import Stage, Units, run_stages
from pipeline.training.checkpoint import Checkpoints
from pipeline.workflow import STAGES


def test_stages_pass_values_by_name_and_are_checked_against_their_row() -> None:
    cfg = project_config({})
    double = Stage("double", lambda x: {"y": 2 * x}, makes=("y",))
    add = Stage("add", lambda x, y: {"z": x + y}, makes=("z",))
    assert run_stages((double, add), {"cfg": cfg, "x": 3}, StageTimer(), keep=("z",))["z"] == 9
    with pytest.raises(TypeError, match="reads y, which no earlier stage makes"):
        run_stages((add,), {"cfg": cfg, "x": 3}, StageTimer())
    with pytest.raises(TypeError, match="made \\['w'\\], its table entry says \\['y'\\]"):
        run_stages((Stage("double", lambda x: {"w": 2 * x}, makes=("y",)),), {"cfg": cfg, "x": 3}, StageTimer())
    skipped = Stage("double", lambda x: {"y": 2 * x}, makes=("y",), skip=lambda cfg: "off", when_skipped={"y": 0})
    assert run_stages((skipped, add), {"cfg": cfg, "x": 3}, StageTimer(), keep=("z",))["z"] == 3


def test_a_value_is_let_go_after_the_last_stage_that_reads_it() -> None:
    """What no later stage reads is not held (a run's frames of every row, through the refit and after)."""
    class Frames:
        pass

    held = []
    stages = (Stage("make", lambda: {"frames": Frames()}, makes=("frames",)),
              Stage("read", lambda frames: {"ref": weakref.ref(frames)}, makes=("ref",)),
              Stage("later", lambda ref: held.append(ref() is not None) or {"n": 1}, makes=("n",)))
    final = run_stages(stages, {"cfg": project_config({}), "unread": 1}, StageTimer(), keep=("n",))
    assert held == [False] and final.keys() == {"cfg", "n"}


def test_the_table_is_consistent() -> None:
    """Every value a stage reads is made by the run or an earlier stage; every section it reads exists."""
    made = {"cfg", "data_dir", "params_source", "folders", "timer", "sign_key"}
    sections = set(Config.model_fields)
    for stage in STAGES:
        assert set(stage.needs) <= made, (stage.name, set(stage.needs) - made)
        assert set(stage.reads) <= sections, stage.name
        made |= set(stage.makes) | set(stage.when_skipped)


def test_a_unit_is_reused_only_when_its_key_and_files_are_unchanged(tmp_path: Path) -> None:
    units, calls = Units(Checkpoints(tmp_path, "data")), []

    def compute(text: str) -> tuple[str, list[Path]]:
        calls.append(text)
        write_text(tmp_path / "out.txt", text)
        return text, [tmp_path / "out.txt"]

    def reuse(text: str) -> str:
        return units.reuse("unit", units.key(text), lambda: compute(text),
                           lambda: (tmp_path / "out.txt").read_text())
    assert reuse("a") == "a" and reuse("a") == "a" and calls == ["a"]
    assert reuse("b") == "b" and calls == ["a", "b"]                   # another key: redone
    write_text(tmp_path / "out.txt", "edited")
    assert reuse("b") == "b" and calls == ["a", "b", "b"]              # a file changed: redone
