"""Kill the run with SIGKILL during each expensive stage in turn (each rerun is killed in the next stage),
then let it finish: every rerun reuses the work that had finished (nothing is half-written), and the
final predictions, metrics and what-if answers equal those of an uninterrupted run. A kill during
tuning is tested in tests/test_tuning.py; the other stages take well under a second on this data."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from pipeline.cli import main
from pipeline.config import PROJECT_ROOT
from tests.test_pipeline import _new_movies
from tests.test_reproducible import TOLERANCE, _numbers

# stage -> the log line after which the kill lands (past the stage's first unit of work where it has several)
KILL_AFTER = {"learners": "learners 3/", "ablation": "ablation 2/", "refit": "stage refit ...",
              "whatif": "stage whatif ...", "explain": "stage explain ..."}
ENV = os.environ | {"CI": "true"}


def _kill_after(cmd: list[str], marker: str) -> str:
    """Run until `marker` is logged, then SIGKILL; the log up to then."""
    proc = subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if marker in line:
            time.sleep(0.3)            # inside the stage, not at its first instruction
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, f"the run ended before '{marker}'"
    return "".join(seen)


def test_killed_in_every_stage_then_resumed(tiny_run: Path, demo_dir: Path, tiny_params: Path,
                                            tmp_path: Path) -> None:
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "pipeline", "run", "--params", str(tiny_params), "--profile", "tiny",
           "--data-dir", str(demo_dir), "--out-dir", str(out)]
    for i, marker in enumerate(KILL_AFTER.values()):
        log = _kill_after(cmd, marker)
        assert not (out / "artifacts" / "run.json").exists()
        if i > 0:
            assert "unchanged since the last run, reused" in log, f"finished work was redone before '{marker}'"
    done = subprocess.run(cmd, cwd=PROJECT_ROOT, env=ENV, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "refit: unchanged since the last run, reused" in done.stderr

    for name in ["stack.parquet", "tabular_catboost.parquet"]:
        pd.testing.assert_frame_equal(pd.read_parquet(out / "artifacts" / "oof" / name),
                                      pd.read_parquet(tiny_run / "artifacts" / "oof" / name),
                                      check_exact=False, rtol=0, atol=TOLERANCE)
    for file in ["metrics.json", "whatif.json"]:
        a, b = (_numbers(json.loads((o / "artifacts" / file).read_text())) for o in (out, tiny_run))
        assert a.keys() == b.keys() and all(abs(a[k] - b[k]) <= TOLERANCE for k in a), file
    assert (out / "reports" / "report.md").is_file()

    new = _new_movies(demo_dir, tmp_path / "new")
    preds = []
    for model in (out, tiny_run):
        path = tmp_path / f"pred{len(preds)}.csv"
        assert main(["predict", "--model", str(model / "artifacts" / "model"), "--data-dir", str(new),
                     "--out", str(path)]) == 0
        preds.append(pd.read_csv(path))
    pd.testing.assert_frame_equal(preds[0], preds[1], check_exact=False, rtol=0, atol=TOLERANCE)


def test_settings_that_shape_every_learner_invalidate_checkpoints_and_studies(tiny_cfg) -> None:
    """Checkpoints and tuning studies are keyed by Config.model_inputs: what the learners fit (the era
    target) and which blocks they read must change it; report or what-if settings must not."""
    def with_learners(**update):
        return tiny_cfg.model_copy(update={"learners": tiny_cfg.learners.model_copy(update=update)})
    base = tiny_cfg.model_inputs()
    assert with_learners(target="raw" if tiny_cfg.learners.target != "raw" else "level").model_inputs() != base
    assert with_learners(exclude_blocks=(*tiny_cfg.learners.exclude_blocks, "neighbours")).model_inputs() != base
    assert tiny_cfg.model_copy(update={"report": tiny_cfg.report.model_copy(update={"top_features": 3})}
                               ).model_inputs() == base
