"""Every command on a missing or empty folder, parameter overrides (-S) and the options' rules:
exit code 2, one line naming what is wrong, no traceback, nothing written."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.cli import build_parser, main, run_config
from pipeline.config import PROJECT_ROOT

# command line -> what the error line must name; {x}: the missing or empty folder, {m}: a trained model
FOLDER_CASES = {
    "run": (["run", "--data-dir", "{x}"], "{x}"),
    "tune-worker": (["tune-worker", "--data-dir", "{x}"], "{x}"),
    "predict, model": (["predict", "--model", "{x}", "--data-dir", "{x}"], "{x}"),
    "predict, data": (["predict", "--model", "{m}", "--data-dir", "{x}"], "{x}"),
    "explain, model": (["explain", "--model", "{x}", "--data-dir", "{x}", "--movie-id", "0"], "{x}"),
    "explain, data": (["explain", "--model", "{m}", "--data-dir", "{x}", "--movie-id", "0"], "{x}"),
    "whatif, model": (["whatif", "--model", "{x}", "--data-dir", "{x}", "--name", "A"], "{x}"),
    "whatif, data": (["whatif", "--model", "{m}", "--data-dir", "{x}", "--name", "A"], "{x}"),
    "ultimate": (["ultimate", "--model", "{x}"], "{x}"),
    "report": (["report", "--out-dir", "{x}"], "{x}"),
    "runs": (["runs", "--out-dir", "{x}"], "{x}"),
}


@pytest.mark.parametrize("state", ["missing", "empty"])
@pytest.mark.parametrize("case", list(FOLDER_CASES), ids=list(FOLDER_CASES))
def test_every_command_on_a_missing_or_empty_folder(case: str, state: str, tiny_run: Path, tmp_path: Path,
                                                    monkeypatch, capsys) -> None:
    folder = tmp_path / "folder"
    if state == "empty":
        folder.mkdir()
    monkeypatch.chdir(tmp_path)                  # anything a command wrongly writes lands here
    argv, needle = FOLDER_CASES[case]
    fill = {"{x}": str(folder), "{m}": str(tiny_run / "artifacts" / "model")}
    code = main([fill.get(a, a) for a in argv])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert fill[needle] in err, err
    left = sorted(p.name for p in tmp_path.rglob("*"))
    assert left == (["folder"] if state == "empty" else []), f"a failed command wrote {left}"


def _args(*argv: str):
    return build_parser().parse_args(["run", "--params", str(PROJECT_ROOT / "params.yaml"), *argv])


def test_set_overrides_a_parameter_after_the_profile() -> None:
    cfg, source = run_config(_args("--fast", "-S", "learners.params.tabular_catboost.depth=8",
                                   "-S", "stacking.raw_features=[]", "-S", "split.n_folds=4"))
    assert cfg.learners.params["tabular_catboost"]["depth"] == 8
    assert cfg.learners.params["tabular_catboost"]["iterations"] == 200       # the rest of the fast profile stays
    assert cfg.stacking.raw_features == () and cfg.split.n_folds == 4
    assert "profile fast" in source and "-S split.n_folds=4" in source


@pytest.mark.parametrize("pair, needles", [
    ("learners.params.tabular_catboost.dpth=8", ("dpth", "did you mean 'learners.params.tabular_catboost.depth'")),
    ("splitt.n_folds=3", ("splitt", "did you mean 'split'")),
    ("split.n_folds=one", ("split.n_folds",)),
    ("split.n_folds", ("KEY=VALUE",)),
    ("learners.target=[", ("YAML",)),
])
def test_a_bad_override_is_one_line(pair: str, needles: tuple[str, ...], demo_dir: Path, tmp_path: Path,
                                    capsys) -> None:
    out = tmp_path / "out"
    code = main(["run", "--data-dir", str(demo_dir), "--out-dir", str(out), "-S", pair])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    for needle in needles:
        assert needle in err, err
    assert not out.exists()


def test_fast_and_profile_together_are_refused(demo_dir: Path, tmp_path: Path, capsys) -> None:
    code = main(["run", "--fast", "--profile", "fast", "--data-dir", str(demo_dir), "--out-dir", str(tmp_path / "o")])
    assert code == 2 and "not both" in capsys.readouterr().err


def test_verbose_before_or_after_the_command() -> None:
    parser = build_parser()
    assert parser.parse_args(["-v", "report"]).verbose
    assert parser.parse_args(["report", "-v"]).verbose
    assert not parser.parse_args(["report"]).verbose


def test_run_all_help_names_itself() -> None:
    shown = subprocess.run([sys.executable, str(PROJECT_ROOT / "run_all.py"), "--help"], capture_output=True,
                           text=True, check=True).stdout
    assert shown.startswith("usage: run_all.py") and "-S KEY=VALUE" in shown


def test_dvc_stage_reads_what_run_all_reads() -> None:
    """dvc.yaml's stage: run_all.py, every params.yaml section the run reads, and the metrics file it writes."""
    import yaml

    from pipeline.config import Config
    from pipeline.workflow import AROUND_STAGES, STAGES
    stage = yaml.safe_load((PROJECT_ROOT / "dvc.yaml").read_text())["stages"]["run"]
    params = yaml.safe_load((PROJECT_ROOT / "params.yaml").read_text())
    assert stage["cmd"] == "python run_all.py"
    read = {section for s in STAGES for section in s.reads} | set(AROUND_STAGES)
    assert set(stage["params"]) == read == set(Config.model_fields) - {"predict", "serve", "profiles"}
    assert set(stage["params"]) <= set(params)
    assert [next(iter(m)) for m in stage["metrics"]] == ["artifacts/metrics.json"]
    assert params["data"]["dir"] in stage["deps"]


@pytest.mark.skipif(__import__("shutil").which("dvc") is None, reason="dvc is not installed (pip install dvc)")
def test_dvc_reads_the_stage(tmp_path: Path) -> None:
    shown = subprocess.run(["dvc", "stage", "list"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    assert "run" in shown.stdout


def test_live_bars_nest_and_close(monkeypatch) -> None:
    """On a terminal, an inner loop's bar sits inside the outer one's display, and the display closes with it."""
    from pipeline import progress
    monkeypatch.setattr(progress, "live", lambda: True)
    seen = [(outer, inner) for outer in progress.track(["a", "b"], "learners")
            for inner in progress.track(range(3), f"{outer} folds", announce=False)]
    assert seen == [(o, i) for o in "ab" for i in range(3)] and progress._display is None


def test_a_skipped_stage_says_so(caplog) -> None:
    from pipeline.progress import StageTimer
    with caplog.at_level("INFO", logger="pipeline"):
        StageTimer().skip("tune", "tuning.enabled is false")
    assert "stage tune skipped (tuning.enabled is false)" in caplog.text
