"""Same data, same params.yaml, same seed: a second full run (tuning from scratch, ablation, refit) gives
the same predictions and metrics, and run.json records what is needed to repeat it."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.cli import main
from tests.test_pipeline import _new_movies

TOLERANCE = 1e-9


def _numbers(tree: object, prefix: str = "") -> dict[str, float]:
    """Every number in a JSON tree, by path (fit times excluded: they measure the machine)."""
    if isinstance(tree, dict):
        return {k: v for key, value in tree.items() if not key.endswith("seconds")
                for k, v in _numbers(value, f"{prefix}/{key}").items()}
    if isinstance(tree, list):
        return {k: v for i, value in enumerate(tree) for k, v in _numbers(value, f"{prefix}/{i}").items()}
    if isinstance(tree, (int, float)) and not isinstance(tree, bool):
        return {prefix: float(tree)}
    return {}


def test_two_runs_agree(tiny_run: Path, demo_dir: Path, tiny_params: Path, tmp_path: Path) -> None:
    second = tmp_path / "second"
    assert main(["run", "--params", str(tiny_params), "--profile", "tiny", "--data-dir", str(demo_dir),
                 "--out-dir", str(second)]) == 0
    first_art, second_art = tiny_run / "artifacts", second / "artifacts"
    assert json.loads((first_art / "metrics.json").read_text())["tuning"], "tuning must be on in this test"

    for path in sorted((first_art / "oof").glob("*.parquet")):
        a, b = pd.read_parquet(path), pd.read_parquet(second_art / "oof" / path.name)
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=0, atol=TOLERANCE, obj=path.name)
    a, b = (_numbers(json.loads((art / "metrics.json").read_text())) for art in (first_art, second_art))
    assert a.keys() == b.keys()
    diff = {k: (a[k], b[k]) for k in a if not np.isclose(a[k], b[k], rtol=0, atol=TOLERANCE)}
    assert not diff, diff

    new = _new_movies(demo_dir, tmp_path / "new")
    preds = []
    for art in (first_art, second_art):
        out = tmp_path / f"pred_{len(preds)}.csv"
        assert main(["predict", "--model", str(art / "model"), "--data-dir", str(new), "--out", str(out)]) == 0
        preds.append(pd.read_csv(out))
    pd.testing.assert_frame_equal(preds[0], preds[1], check_exact=False, rtol=0, atol=TOLERANCE)


def test_run_json_records_how_to_repeat(tiny_run: Path) -> None:
    info = json.loads((tiny_run / "artifacts" / "run.json").read_text())
    assert info["seed"] == info["params"]["seed"]
    assert {"numpy", "pandas", "scikit-learn", "catboost", "lightgbm", "xgboost", "optuna"} <= info["versions"].keys()
    assert info["data_fingerprint"] and all(len(d) == 64 for d in info["data_fingerprint"].values())
    assert "git_commit" in info
