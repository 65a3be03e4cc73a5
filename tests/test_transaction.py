"""A run is a transaction: killed between the refit and the report, it leaves the previous run's model,
metrics and report exactly as they were; the next run finishes and publishes its outputs together."""
from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.io import Transaction, sha256_file, write_text
from pipeline.stages import explain

QUICK = ["-S", "tuning.enabled=false", "-S", "ablation.enabled=false"]
OUTPUTS = ["artifacts/model/manifest.json", "artifacts/metrics.json", "artifacts/run.json", "artifacts/whatif.json",
           "artifacts/params.yaml", "reports/report.md"]


def digests(out: Path) -> dict[str, str]:
    return {rel: sha256_file(out / rel) for rel in OUTPUTS}


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs, no except-clause catches it."""


def test_a_run_killed_after_its_refit_changes_nothing(demo_dir, tiny_params, tmp_path, monkeypatch):
    out = tmp_path / "out"
    run = ["run", "--params", str(tiny_params), "--profile", "tiny", "--data-dir", str(demo_dir),
           "--out-dir", str(out), *QUICK]
    assert main(run) == 0
    before = digests(out)
    (out / "reports" / "README.md").write_text("the user's own file")

    def explain_then_die(*args, **kwargs):
        raise Killed()
    monkeypatch.setattr(explain, "explain_model", explain_then_die)
    with pytest.raises(Killed):     # another model: a different stacker penalty
        main([*run, "-S", "stacking.alpha=3.0"])
    assert (out / "artifacts" / ".staging" / "artifacts" / "model" / "manifest.json").is_file()   # it got that far
    assert digests(out) == before

    monkeypatch.undo()
    assert main([*run, "-S", "stacking.alpha=3.0"]) == 0
    after = digests(out)
    assert all(after[rel] != before[rel] for rel in OUTPUTS if rel != "artifacts/whatif.json"), after
    assert not any((out / "artifacts" / ".staging").rglob("*.json"))
    assert (out / "reports" / "README.md").read_text() == "the user's own file"
    assert main(["predict", "--model", str(out), "--data-dir", str(demo_dir), "--out", str(tmp_path / "p.csv")]) == 0


def test_a_commit_cut_short_is_finished_by_the_next_start(tmp_path):
    out = tmp_path / "out"
    for rel, text in (("artifacts/metrics.json", "old"), ("artifacts/model/a", "old"), ("reports/report.md", "old")):
        write_text(out / rel, text)
    tx = Transaction(out)
    for rel in ("artifacts/metrics.json", "artifacts/model/a", "reports/report.md"):
        write_text(tx.path(out / rel), "new")
    finals = [out / "artifacts" / "metrics.json", out / "artifacts" / "model", out / "reports" / "report.md"]
    write_text(tx.journal, "\n".join(str(p.relative_to(out)) for p in finals))   # journal written, then cut
    tx.stage.joinpath("artifacts", "metrics.json").replace(out / "artifacts" / "metrics.json")   # one move done
    Transaction(out).recover()
    assert [(out / rel).read_text() for rel in ("artifacts/metrics.json", "artifacts/model/a", "reports/report.md")] \
        == ["new"] * 3
    assert not tx.journal.exists() and not (out / "artifacts" / ".model.old").exists()


def test_what_is_written_gets_the_usual_modes(tmp_path):
    """Temporary files are private (mkstemp: 0600, mkdtemp: 0700); once renamed into place, a model folder
    and its files must be readable as the umask allows, or a colleague cannot load a shared model."""
    import os

    from pipeline.io import UMASK, atomic_dir, write_json
    write_json(tmp_path / "metrics.json", {"rmse": 0.45})
    with atomic_dir(tmp_path / "model") as folder:
        write_json(folder / "manifest.json", {})
    assert os.stat(tmp_path / "metrics.json").st_mode & 0o777 == 0o666 & ~UMASK
    assert os.stat(tmp_path / "model").st_mode & 0o777 == 0o777 & ~UMASK
    assert os.stat(tmp_path / "model" / "manifest.json").st_mode & 0o777 == 0o666 & ~UMASK
