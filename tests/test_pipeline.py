"""The whole pipeline on a tiny demo dataset: artifacts, metrics, report, predict, model safety."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.cli import main
from pipeline.io import sha256_file
from pipeline.model.registry import REGISTRY


@pytest.fixture(scope="module")
def run_out(tiny_run: Path) -> Path:
    return tiny_run


def test_artifacts_follow_the_layout(run_out: Path) -> None:
    art = run_out / "artifacts"
    for rel in ("run.json", "cleaning_log.json", "folds.csv", "metrics.json", "oof/stack.parquet",
                "oof/tabular_catboost.parquet", "importance/tabular_catboost.csv", "model/manifest.json",
                "explain/shap_values.parquet", "explain/umap.parquet"):
        assert (art / rel).is_file(), rel
    assert not list(art.rglob("*.tmp")), "no temporary files may be left behind"
    run = json.loads((art / "run.json").read_text())
    assert set(run["timings"]) >= {"load", "clean", "learners", "stack", "evaluate", "refit", "explain", "report"}


def test_metrics_shape_and_stack_beats_baselines(run_out: Path) -> None:
    metrics = json.loads((run_out / "artifacts" / "metrics.json").read_text())
    names = {"stack", "baseline_mean", "baseline_year_trend", "tabular_catboost", "text_ridge", "image_ridge"}
    assert names <= set(metrics["holdout"]) and names <= set(metrics["cv"])
    assert set(metrics["holdout"]["stack"]) >= {"rmse", "mae", "r2", "spearman"}
    assert set(metrics["cv"]["stack"]) >= {"rmse_mean", "rmse_sd", "r2_mean"}
    assert metrics["modalities"] == {"tabular": "used", "text": "used", "image": "used"}
    hold = {k: v["rmse"] for k, v in metrics["holdout"].items()}
    assert hold["stack"] < min(hold["baseline_mean"], hold["baseline_year_trend"])
    assert all(metrics["stacker"]["weights"][n] >= 0 for n in metrics["learners"] if n in REGISTRY
               and metrics["learners"][n]["stacked"])


def test_the_reported_holdout_is_the_shipped_recipe(run_out: Path, demo_dir: Path, tmp_path: Path) -> None:
    """The stack's holdout predictions (metrics, report, stack.parquet) are what the shipped model's recipe
    predicts through ModelBundle.predict when fitted on the training rows: the model folder's own config
    (tuned parameters), learners and stacker, refitted here independently of the run."""
    from pipeline.data.clean import drop_duplicate_movies
    from pipeline.data.load import load_folder
    from pipeline.model.bundle import ModelBundle
    from pipeline.training.refit import fit_bundle
    art = run_out / "artifacts"
    shipped = ModelBundle.load(art / "model")
    folds = pd.read_csv(art / "folds.csv")
    train_ids = folds.loc[folds["fold"] >= 0, "movie_id"].to_numpy()
    raw, _ = drop_duplicate_movies(load_folder(demo_dir, shipped.cfg.data, require_rating=True))
    recipe = fit_bundle(raw, shipped.cfg, train_ids, list(shipped.learners), shipped.stacker, tmp_path / "cache")
    stack = pd.read_parquet(art / "oof" / "stack.parquet")
    reported = stack[stack["part"] == "holdout"].set_index("movie_id")["prediction"]
    again = recipe.predict(raw.subset(reported.index.to_numpy()), tmp_path / "cache").set_index("movie_id")
    again = again.loc[reported.index, "predicted_rating"].clip(*shipped.cfg.data.rating_range)
    np.testing.assert_allclose(again, reported, atol=1e-6)
    metrics = json.loads((art / "metrics.json").read_text())
    y = raw.movies.loc[reported.index, "rating"].to_numpy()
    assert metrics["holdout"]["stack"]["rmse"] == pytest.approx(float(np.sqrt(np.mean((reported - y) ** 2))))
    bag = pd.read_parquet(art / "oof" / "stack_fold_mean.parquet")
    assert not np.allclose(bag[bag["part"] == "holdout"]["prediction"], reported.to_numpy())   # can fail
    assert [b["band"] for b in metrics["bands"]["stack"]][0] == "all"
    report = (run_out / "reports" / "report.md").read_text()
    assert "### The holdout by release year" in report
    assert f"{metrics['holdout']['stack']['rmse']:.4f}" in report


def test_oof_covers_every_training_row_once(run_out: Path) -> None:
    folds = pd.read_csv(run_out / "artifacts" / "folds.csv")
    oof = pd.read_parquet(run_out / "artifacts" / "oof" / "tabular_catboost.parquet")
    train = oof[oof["part"] == "oof"]
    assert sorted(train["movie_id"]) == sorted(folds.loc[folds["fold"] >= 0, "movie_id"])
    assert train["prediction"].notna().all()


def test_report_renders_from_artifacts_only(run_out: Path, tmp_path: Path) -> None:
    report = (run_out / "reports" / "report.md").read_text()
    # the first page, then the order a data scientist expects, then the appendix
    headings = ["## The answer, in plain words", "## 1. The data", "### The data, explored", "## 2. Cleaning",
                "## 3. Features", "## 4. Models by kind of input", "## 5. The stack", "## 6. Before it is made",
                "## 7. Validation", "### The holdout by release year", "### How sure: prediction intervals",
                "## 8. What drives the ratings", "## 9. What if?", "## Appendix", "### Tuning", "### Run time",
                "### Parameters"]
    positions = [report.index(h) for h in headings]
    assert positions == sorted(positions)
    for said in ("**Age rating.** By age rating,", "**Correlations with the rating**", "share of the blend's movement",
                 "region (its most telling words)", "[`artifacts/params.yaml`](../artifacts/params.yaml)",
                 "(`learners.exclude_blocks`): entities.", "`_hist_` columns encode the credited actors",
                 "**Who raises and lowers a prediction.**", "| story (tagline and description) | `word=…` |"):
        assert said in report, said
    assert "```yaml" not in report and str(run_out) not in report     # no parameter dump, no machine paths
    assert (run_out / "artifacts" / "params.yaml").is_file()
    metrics = json.loads((run_out / "artifacts" / "metrics.json").read_text())
    best = min((n for n, i in metrics["learners"].items() if i["modality"] != "baseline"),
               key=lambda n: metrics["holdout"][n]["rmse"])
    paired = metrics["stack_minus"][best]           # the stack against the best learner, paired by film
    assert paired["difference"] == pytest.approx(metrics["holdout"]["stack"]["rmse"] - metrics["holdout"][best]["rmse"])
    assert paired["ci_low"] <= paired["difference"] <= paired["ci_high"]
    said = f"{paired['difference']:+.4f} [{paired['ci_low']:+.4f}, {paired['ci_high']:+.4f}] (95% paired interval"
    assert f"against the best single learner, `{best}`" in report and said in report
    reference = metrics["stack_minus"]["reference_catboost"]      # and against the reference fitted in the run
    assert f"against the simple reference ({metrics['reference']['rmse']:.4f}): {reference['difference']:+.4f}" in report
    for figure in re.findall(r"\(figures/([^)]+)\)", report):
        assert (run_out / "reports" / "figures" / figure).is_file(), figure
    copy = tmp_path / "copy"
    shutil.copytree(run_out / "artifacts", copy / "artifacts")
    assert main(["report", "--out-dir", str(copy)]) == 0       # no data folder, no models refitted
    assert (copy / "reports" / "report.md").read_text() == report


def _new_movies(demo_dir: Path, folder: Path) -> Path:
    shutil.copytree(demo_dir, folder)
    movies = pd.read_csv(folder / "movies.csv")
    movies.drop(columns="rating").to_csv(folder / "movies.csv", index=False)
    return folder


def test_predict_new_movies(run_out: Path, demo_dir: Path, tmp_path: Path, capsys) -> None:
    new = _new_movies(demo_dir, tmp_path / "new")
    out = tmp_path / "pred.csv"
    assert main(["predict", "--model", str(run_out / "artifacts" / "model"), "--data-dir", str(new),
                 "--out", str(out)]) == 0
    pred = pd.read_csv(out)
    truth = pd.read_csv(demo_dir / "movies.csv")
    assert list(pred["movie_id"]) == list(truth["movie_id"])
    shipped = json.loads((run_out / "artifacts" / "model" / "stacker" / "stacker.json").read_text())["learners"]
    assert list(pred.columns) == ["movie_id", "name", "year", "predicted_rating", "lower_80", "upper_80", "lower_95",
                                  "upper_95", "in_training_data", "actual_rating", "unknown_names", *shipped]
    assert "tabular_catboost" in shipped and list(pred["name"]) == list(truth["name"])
    assert np.corrcoef(pred["predicted_rating"], truth["rating"])[0, 1] > 0.5
    assert pred["in_training_data"].all()                # the demo's own movies: their ratings come back
    assert pred["unknown_names"].isna().all()            # ... and their people ("" in the table, empty in the CSV)
    np.testing.assert_allclose(pred["actual_rating"], truth["rating"])


def test_predict_names_the_missing_input(run_out: Path, demo_dir: Path, tmp_path: Path, capsys) -> None:
    """The demo's text vectors come from no encoder this tool can run: a folder without them is refused,
    saying so (tests/test_new_movie.py covers vectors the model can compute)."""
    new = _new_movies(demo_dir, tmp_path / "new")
    (new / "tagline_embeddings.npy").unlink()
    code = main(["predict", "--model", str(run_out / "artifacts" / "model"), "--data-dir", str(new),
                 "--out", str(tmp_path / "p.csv")])
    err = capsys.readouterr().err
    assert code == 2 and "supply tagline_embeddings.npy" in err and "match no text encoder" in err
    assert not (tmp_path / "p.csv").exists()


def test_predict_in_chunks_equals_one_pass(run_out: Path, demo_dir: Path, tmp_path: Path) -> None:
    from pipeline.config import PredictConfig
    from pipeline.data.load import load_folder
    from pipeline.model.bundle import ModelBundle
    bundle = ModelBundle.load(run_out / "artifacts" / "model")
    data = load_folder(_new_movies(demo_dir, tmp_path / "new"), bundle.cfg.data, require_rating=False)
    whole = bundle.predict(data, tmp_path / "cache")
    bundle.cfg = bundle.cfg.model_copy(update={"predict": PredictConfig(batch=97)})
    chunked = bundle.predict(data, tmp_path / "cache")
    # BLAS sums depend on the array's shape (seen: 3e-8 apart on another CPU of this kind): the promise is
    # agreement within 1e-6 rating points, far below the file's 3 decimals, not bit-identity
    pd.testing.assert_frame_equal(chunked, whole, check_exact=False, rtol=0, atol=1e-6)


def test_predict_refuses_vectors_of_another_dimension(run_out: Path, demo_dir: Path, tmp_path: Path, capsys) -> None:
    new = _new_movies(demo_dir, tmp_path / "new")
    vectors = np.load(new / "description_embeddings.npy")
    np.save(new / "description_embeddings.npy", vectors[:, :-2])
    code = main(["predict", "--model", str(run_out / "artifacts" / "model"), "--data-dir", str(new),
                 "--out", str(tmp_path / "p.csv")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "description_embeddings.npy" in err and f"trained on {vectors.shape[1]}" in err
    assert not (tmp_path / "p.csv").exists()


def test_predict_movies_with_unseen_names_and_categories(run_out: Path, demo_dir: Path, tmp_path: Path) -> None:
    """Never-seen actors, directors, studios and age ratings still get a prediction (from the priors)."""
    new = _new_movies(demo_dir, tmp_path / "new")
    movies = pd.read_csv(new / "movies.csv")
    movies["theatrical_release_age_rating"] = "X-99"
    movies.to_csv(new / "movies.csv", index=False)
    for kind, column in [("actors", "actor_name"), ("directors", "director_name"), ("studios", "studio")]:
        links = pd.read_csv(new / f"{kind}.csv")
        links[column] = "Nobody " + links.index.astype(str)
        links.to_csv(new / f"{kind}.csv", index=False)
    out = tmp_path / "pred.csv"
    assert main(["predict", "--model", str(run_out / "artifacts" / "model"), "--data-dir", str(new),
                 "--out", str(out)]) == 0
    pred = pd.read_csv(out)
    assert len(pred) == len(movies) and pred["predicted_rating"].between(0.0, 5.0).all()


@pytest.mark.parametrize("damage", ["alter", "remove", "add"])
def test_tampered_model_is_refused(run_out: Path, demo_dir: Path, tmp_path: Path, damage: str, capsys) -> None:
    model = Path(shutil.copytree(run_out / "artifacts" / "model", tmp_path / "model"))
    target = model / "learners" / "tabular_catboost" / "model.cbm"
    if damage == "alter":
        data = target.read_bytes()
        target.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))
    elif damage == "remove":
        target.unlink()
    else:
        (model / "learners" / "evil.pkl").write_bytes(b"not a model")
    code = main(["predict", "--model", str(model), "--data-dir", str(_new_movies(demo_dir, tmp_path / "new")),
                 "--out", str(tmp_path / "p.csv")])
    err = capsys.readouterr().err
    assert code == 2 and "manifest.json" in err and len(err.strip().splitlines()) == 1


def test_a_parameter_missing_without_its_migration_is_refused(run_out: Path, demo_dir: Path, tmp_path: Path,
                                                             capsys) -> None:
    """A consistent folder of today's format whose config lacks a key (a parameter added without bumping the
    format and writing its migration) is refused in one line naming the key."""
    model = Path(shutil.copytree(run_out / "artifacts" / "model", tmp_path / "model"))
    config = json.loads((model / "config.json").read_text())
    del config["learners"]["target"]
    (model / "config.json").write_text(json.dumps(config))
    manifest = json.loads((model / "manifest.json").read_text())
    manifest["files"]["config.json"] = sha256_file(model / "config.json")
    (model / "manifest.json").write_text(json.dumps(manifest))
    code = main(["predict", "--model", str(model), "--data-dir", str(_new_movies(demo_dir, tmp_path / "new")),
                 "--out", str(tmp_path / "p.csv")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "config.json" in err and "learners.target" in err and "without a migration" in err
    assert not (tmp_path / "p.csv").exists()


def test_model_folder_of_another_format_is_refused(run_out: Path, demo_dir: Path, tmp_path: Path, capsys) -> None:
    """A folder from before the oldest format read (no format recorded: format 1) says so in one line."""
    model = Path(shutil.copytree(run_out / "artifacts" / "model", tmp_path / "model"))
    manifest = json.loads((model / "manifest.json").read_text())
    del manifest["format"]
    (model / "manifest.json").write_text(json.dumps(manifest))
    code = main(["predict", "--model", str(model), "--data-dir", str(_new_movies(demo_dir, tmp_path / "new")),
                 "--out", str(tmp_path / "p.csv")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "format 1" in err and "retrain" in err
    assert not (tmp_path / "p.csv").exists()


def test_top_share_hit_counts_the_true_top_fifth() -> None:
    from pipeline.report.front import top_share_hit
    rating = pd.Series(range(10), dtype=float).to_numpy()
    assert top_share_hit(rating, rating) == (1.0, 1.0)
    assert top_share_hit(rating, -rating) == (0.0, 0.0)
    assert top_share_hit(rating, rating[[1, 0, 2, 3, 4, 5, 6, 7, 9, 8]]) == (1.0, 1.0)
