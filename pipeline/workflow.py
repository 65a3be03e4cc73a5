"""The training run, stage by stage: load -> clean -> tune -> learners -> stack -> evaluate -> ablation
-> refit -> what-if -> explain -> report. Wiring only; the logic sits in the modules it calls.

Nothing is written until the input folder and the parameters have been validated.
"""
from __future__ import annotations

import difflib
import hashlib
import hmac
import logging
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from pipeline.config import PROJECT_ROOT, Config
from pipeline.data.clean import drop_duplicate_movies, loading_log
from pipeline.data.load import MovieData, load_folder
from pipeline.data.splits import Splits, make_splits
from pipeline.errors import InputError
from pipeline.features.frame import MovieFrame
from pipeline.io import Transaction, read_json, sha256_file, write_json, write_table, write_text
from pipeline.learners.registry import BASELINES, BLOCKS, FEATURE_PARAMS, HEADS, REGISTRY, available, blocks_used
from pipeline.learners.target import EraTarget
from pipeline.progress import StageTimer, track
from pipeline.report.explain import fold_importance, shap_table, umap_map
from pipeline.report.render import STACK, STACK_BAG, render_report
from pipeline.runs import record_run
from pipeline.serving.bundle import ModelBundle, Prepared, fit_bundle, package_versions, prepare, stack_table
from pipeline.serving.trust import signing_key
from pipeline.serving.whatif import ultimate, whatif
from pipeline.tracking import check_tracking, log_run
from pipeline.training.checkpoint import Checkpoints
from pipeline.training.evaluate import band_scores, cold_start_mask, cv_scores, evaluate, paired_difference, scores
from pipeline.training.intervals import IntervalModel, check_difficulty, coverage_table, difficulty_table, year_bands
from pipeline.training.oof import OOFResult, run_oof
from pipeline.training.stacking import Stacker, fit_stack
from pipeline.training.tuning import (
    TuningResult,
    learner_plan,
    storage_for,
    tune_learner,
    tune_stacker,
    tuned_config,
    work,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Labelled:
    """The training and holdout movies, their features and ratings: what every model stage reads."""
    train: MovieFrame
    holdout: MovieFrame
    y: np.ndarray
    y_holdout: np.ndarray
    splits: Splits

    def stack_inputs(self, results: dict[str, OOFResult], learners: list[str],
                     raw_features: tuple[str, ...]) -> tuple[pd.DataFrame, pd.DataFrame]:
        return (stack_table(self.train, {n: results[n].oof.to_numpy() for n in learners}, raw_features),
                stack_table(self.holdout, {n: results[n].holdout.to_numpy() for n in learners}, raw_features))


def skip_reason(modality_status: str) -> str:
    """Why an enabled learner did not run: its modality's status, else its optional library."""
    if modality_status.startswith("skipped"):
        return modality_status
    return "skipped: its optional library is not installed"


def check_learners(cfg: Config) -> None:
    for name in cfg.learners.enabled + tuple(cfg.learners.params) + tuple(cfg.tuning.trials):
        if name not in REGISTRY:
            raise InputError("params.yaml", f"parameter 'learners': unknown learner '{name}'; "
                             f"known: {', '.join(REGISTRY)}")
    for name, params in cfg.learners.params.items():
        known = HEADS[REGISTRY[name].head].parameters() | set(FEATURE_PARAMS)
        for key in sorted(set(params) - known):
            close = difflib.get_close_matches(key, sorted(known), n=1)
            raise InputError("params.yaml", f"parameter 'learners.params.{name}.{key}': {name}'s "
                             f"{REGISTRY[name].head} head has no such parameter"
                             + (f"; did you mean '{close[0]}'?" if close else ""))
    for block in cfg.learners.exclude_blocks:
        if block not in BLOCKS:
            raise InputError("params.yaml", f"parameter 'learners.exclude_blocks': unknown feature block '{block}'; "
                             f"known: {', '.join(BLOCKS)}")


def data_overview(raw: MovieData, splits: Splits) -> pd.DataFrame:
    """One row per movie with what the report's overview and exploration draw (raw, before cleaning)."""
    m = raw.movies
    folds = splits.to_frame().set_index("movie_id")["fold"]
    has = {kind: m.index.isin(links["movie_id"]) for kind, links in raw.credits.items()}
    credits = {kind: links.sort_values(["movie_id", "billing"]).groupby("movie_id")["name"]
               for kind, links in raw.credits.items()}
    title = m["name"].str.strip().str.casefold()
    first_year = m.groupby(title)["date"].transform("min")
    return pd.DataFrame({
        "movie_id": m.index, "year": m["date"], "rating": m["rating"], "minute": m["minute"],
        "fold": folds.reindex(m.index).fillna(-2).astype(int).to_numpy(),
        "age_rating": m["theatrical_release_age_rating"].fillna("").str.strip().to_numpy(),
        "tagline_chars": m["tagline"].str.strip().str.len().to_numpy(),
        "description_chars": m["description"].str.strip().str.len().to_numpy(),
        "remake": (m["date"] > first_year).to_numpy(),   # a title first released in an earlier year
        "missing_age_rating": m["theatrical_release_age_rating"].isna().to_numpy(),
        "missing_tagline": (m["tagline"].str.strip() == "").to_numpy(),
        "missing_description": (m["description"].str.strip() == "").to_numpy(),
        "missing_runtime": m["minute"].isna().to_numpy(),
    } | {f"no_{kind}": ~flag for kind, flag in has.items()}
      | {f"n_{kind}s": g.size().reindex(m.index).fillna(0).astype(int).to_numpy() for kind, g in credits.items()}
      | {f"first_{kind}": g.first().reindex(m.index).to_numpy() for kind, g in credits.items()})


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def data_fingerprint(folder: Path) -> dict[str, str]:
    return {p.name: sha256_file(p) for p in sorted(folder.iterdir()) if p.is_file() and p.suffix in {".csv", ".npy"}}


def split_and_prepare(raw: MovieData, cfg: Config, cache: Path) -> tuple[Splits, Prepared, Labelled]:
    """The temporal split of the rated movies, preprocessing fitted on its training rows, and the
    training and holdout frames."""
    labelled = raw.movies.index[raw.has_rating].to_numpy()
    splits = make_splits(raw.movies.loc[labelled, "date"], cfg.split, cfg.seed)
    prep = prepare(raw, cfg, splits.train_ids, cache)
    position = prep.data.movies.index.get_indexer
    ratings = prep.data.movies["rating"]
    data = Labelled(prep.frame.take(position(splits.train_ids)), prep.frame.take(position(splits.holdout_ids)),
                    ratings.loc[splits.train_ids].to_numpy(), ratings.loc[splits.holdout_ids].to_numpy(), splits)
    return splits, prep, data


def tuned_learners(cfg: Config, data: Labelled) -> list[str]:
    return [n for n in cfg.learners.enabled if available(n, cfg, data.train) and cfg.tuning.trials.get(n, 0) > 0]


def tune(cfg: Config, data: Labelled, storage: Any, art: Path) -> dict[str, TuningResult]:
    """Each base learner with a trial budget, on inner CV of the training rows."""
    results = {}
    for name in track(tuned_learners(cfg, data), "tuning"):
        results[name] = tune_learner(name, cfg, data.train, data.y, storage, cfg.tuning.trials[name])
        write_json(art / "tuning" / f"{name}.json", results[name].to_dict())
    return results


def check_out_dir(out_dir: Path) -> None:
    """The out-dir and the two folders a run writes in it must be folders (or not exist yet)."""
    for path in (out_dir, out_dir / "artifacts", out_dir / "reports"):
        if path.exists() and not path.is_dir():
            raise InputError(str(path), "is a file; --out-dir must name a folder (it is created if missing)")


def tune_worker(cfg: Config, data_dir: Path, out_dir: Path) -> dict[str, int]:
    """`tune-worker`: build the same training rows as the run (same data folder and params.yaml),
    join each learner's study in turn and evaluate trials the run has planned; trials run per learner."""
    if not cfg.tuning.enabled:
        raise InputError("params.yaml", "parameter 'tuning.enabled' is false: there is no study to join")
    check_out_dir(out_dir)
    check_learners(cfg)
    raw, _ = drop_duplicate_movies(load_folder(data_dir, cfg.data, require_rating=True))
    art = out_dir / "artifacts"
    _, _, data = split_and_prepare(raw, cfg, art / "cache")
    storage, names = storage_for(cfg.tuning, art / "tuning"), tuned_learners(cfg, data)
    log.info("%d studies to join (%s); waiting for the run to plan their trials", len(names), ", ".join(names))
    return {name: work(learner_plan(name, cfg, data.train, data.y), cfg.tuning.trials[name], storage,
                       cfg.tuning.worker_wait_seconds) for name in names}


def ablation(cfg: Config, data: Labelled, results: dict[str, OOFResult], stacked: list[str],
             checkpoints: Checkpoints) -> list[dict]:
    """The stack rebuilt with feature blocks removed from every stacked learner (learners left with
    nothing are dropped; learners untouched by the removal reuse their out-of-fold predictions)."""
    rows = []
    for i, (label, blocks) in enumerate(track(list(cfg.ablation.drop.items()), "ablation")):
        drop = frozenset(blocks)
        kept = [n for n in stacked if available(n, cfg, data.train, drop)]
        if not kept:
            continue
        if kept == stacked and all(drop.isdisjoint(blocks_used(n, cfg, data.train)) for n in kept):
            rows.append({"ablation": label, "skipped": "no stacked learner reads these features on this data"})
            continue
        path, key = checkpoints.art / "ablation" / f"{i}.json", checkpoints.key(
            "ablation", label, sorted(drop), cfg.model_inputs(), {n: cfg.learners.params.get(n) for n in kept},
            cfg.stacking.model_dump(mode="json"), [results[n].oof.to_numpy() for n in kept])
        if checkpoints.fresh(f"ablation_{i}", key):
            rows.append(read_json(path))
            continue
        redone = {n: (results[n] if drop.isdisjoint(blocks_used(n, cfg, data.train))
                      else run_oof(n, cfg, data.train, data.y, data.holdout, data.splits, drop)) for n in kept}
        train, holdout = data.stack_inputs(redone, kept, cfg.stacking.raw_features)
        _, cv, hold = fit_stack(cfg.stacking, kept, train, holdout, data.y, data.splits, cfg.seed)
        rows.append({"ablation": label, "learners": kept, "cv": cv_scores(data.y, cv, data.splits.fold),
                     "holdout": scores(data.y_holdout, hold)})
        write_json(path, rows[-1])
        checkpoints.record(f"ablation_{i}", key, [path])
    return rows


def code_fingerprint() -> str:
    """sha256 over the package's source: an edited (even uncommitted) module invalidates every checkpoint."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def run(cfg: Config, data_dir: Path, out_dir: Path, *, params_source: str) -> dict:
    timer = StageTimer()
    art, reports = out_dir / "artifacts", out_dir / "reports"
    cache = art / "cache"
    with timer.stage("load"):
        check_out_dir(out_dir)
        tx = Transaction(out_dir)     # the outputs a user reads are published together, at the end
        tx.recover()
        check_learners(cfg)
        check_tracking(cfg.tracking)
        sign_key = signing_key(cfg.signing.key_file)
        raw = load_folder(data_dir, cfg.data, require_rating=True)
        storage = storage_for(cfg.tuning, art / "tuning") if cfg.tuning.enabled else None

    data_hashes = data_fingerprint(data_dir)
    checkpoints = Checkpoints(art, data_hashes, package_versions(), code_fingerprint())
    with timer.stage("clean"):
        raw, dup_log = drop_duplicate_movies(raw)
        labelled = raw.movies.index[raw.has_rating].to_numpy()
        splits, prep, data = split_and_prepare(raw, cfg, cache)
        unlabelled = [{"step": "rating", "decision": "no rating: not used for training",
                       "count": int((~raw.has_rating).sum())}]
        write_json(art / "cleaning_log.json", loading_log(raw) + dup_log + unlabelled + prep.log)
        write_table(art / "folds.csv", splits.to_frame())
        write_table(art / "dataset.parquet", data_overview(raw, splits))
        check_difficulty(cfg.intervals.difficulty, data.train.tabular)
        names = [n for n in cfg.learners.enabled if available(n, cfg, data.train)]
        if len(names) < len(cfg.learners.enabled):
            log.warning("learners skipped (their modality is absent or their optional library is not installed): "
                        "%s", ", ".join(n for n in cfg.learners.enabled if n not in names))

    tuning: dict[str, TuningResult] = {}
    if cfg.tuning.enabled:
        with timer.stage("tune"):
            tuning = tune(cfg, data, storage, art)
            cfg = tuned_config(cfg, tuning)
    else:
        timer.skip("tune", "tuning.enabled is false")

    with timer.stage("learners"):
        results: dict[str, OOFResult] = {}
        for name in track(names + list(BASELINES), "learners"):
            key = checkpoints.key("oof", name, cfg.model_inputs(), cfg.learners.params.get(name))
            if checkpoints.fresh(f"oof_{name}", key):
                results[name] = OOFResult.load(art, name)
                continue
            results[name] = run_oof(name, cfg, data.train, data.y, data.holdout, splits)
            importance = art / "importance" / f"{name}.csv"
            write_table(importance, fold_importance(results[name].importance))
            checkpoints.record(f"oof_{name}", key, [*results[name].save(art), importance])

    with timer.stage("stack"):
        stacked = [n for n in cfg.learners.stacked if n in results]
        if not stacked:
            raise InputError("params.yaml", "parameter 'learners.stacked': none of its learners could run on this data")
        train_table, holdout_table = data.stack_inputs(results, stacked, cfg.stacking.raw_features)
        if cfg.tuning.enabled and cfg.tuning.stacker_trials > 0 and cfg.stacking.method == "ridge":
            tuning["stacker"] = tune_stacker(cfg, stacked, train_table, data.y, storage)
            write_json(art / "tuning" / "stacker.json", tuning["stacker"].to_dict())
            cfg = tuned_config(cfg, tuning)
        stacker, stack_cv, stack_holdout = fit_stack(cfg.stacking, stacked, train_table, holdout_table, data.y,
                                                     splits, cfg.seed)
        stack_cv, bag_holdout = (np.clip(p, *cfg.data.rating_range) for p in (stack_cv, stack_holdout))
        shipped = stacker.pruned()
        # the holdout as `predict` meets it: the shipped recipe (each stacked learner refitted once, the
        # stacker's weights) fitted on the training rows; the fold models' mean is kept for comparison
        stack_holdout = shipped_holdout(raw, cfg, splits, shipped, cache)
        for name, holdout_pred in ((STACK, stack_holdout), (STACK_BAG, bag_holdout)):
            write_table(art / "oof" / f"{name}.parquet", OOFResult(
                name, pd.Series(stack_cv, index=data.train.ids), pd.Series(holdout_pred, index=data.holdout.ids),
                np.array([]), pd.DataFrame(), 0.0, 0.0).to_frame())
        intervals, interval_metrics = fit_intervals(cfg, data, results, shipped.learners, stack_cv, stack_holdout)

    with timer.stage("evaluate"):
        predictions = {n: (r.oof.to_numpy(), r.holdout.to_numpy()) for n, r in results.items()}
        predictions[STACK] = (stack_cv, stack_holdout)
        cold = cold_start_mask(splits.holdout_ids, splits.train_ids, prep.data.credits)
        metrics = evaluate(predictions, data.y, data.y_holdout, splits.fold, cold,
                           cfg.evaluation.bootstrap, cfg.evaluation.ci, cfg.seed)
        bands = year_bands(data.holdout.tabular["year"].to_numpy(), cfg.evaluation.year_bands)
        metrics |= {
            "shipped": {"recipe": "refit", "bag_holdout": scores(data.y_holdout, bag_holdout),
                        "refit_minus_bag": paired_difference(data.y_holdout, stack_holdout, bag_holdout,
                                                             cfg.evaluation.bootstrap, cfg.evaluation.ci, cfg.seed)},
            "bands": {name: band_scores(data.y_holdout, pred, bands)
                      for name, pred in [(n, p[1]) for n, p in predictions.items()] + [(STACK_BAG, bag_holdout)]},
            "modalities": prep.spec.modalities,
            "skipped_learners": {n: {"modality": REGISTRY[n].modality, "reason": skip_reason(
                prep.spec.modalities.get(REGISTRY[n].modality, ""))} for n in cfg.learners.enabled if n not in names},
            "text_vectors": {"encoders": prep.spec.encoders, "note": prep.spec.text_note()},
            "learners": {n: {"modality": REGISTRY[n].modality, "stacked": n in stacked,
                             "fit_seconds": round(results[n].seconds, 2),
                             "predict_seconds": round(results[n].predict_seconds, 4)} for n in results},
            "stacker": {"method": cfg.stacking.method, "weights": stacker.weights().to_dict(),
                        "intercept": getattr(stacker, "intercept_", None), "alpha": cfg.stacking.alpha},
            "split": {"cutoff_year": splits.cutoff_year, "n_train": len(splits.train_ids),
                      "n_holdout": len(splits.holdout_ids), "n_folds": splits.n_folds,
                      "n_cold_start": int(cold.sum())},
            "tuning": {n: r.to_dict() for n, r in tuning.items()},
            "era_target": EraTarget(cfg.learners.target, cfg.learners.trend_after).fit(
                data.train.tabular["year"].to_numpy(), data.y).to_dict(),
            "intervals": interval_metrics,
        }
        write_json(tx.path(art / "metrics.json"), metrics)

    if cfg.ablation.enabled:
        with timer.stage("ablation"):
            metrics["ablation"] = ablation(cfg, data, results, stacked, checkpoints)
            write_json(tx.path(art / "metrics.json"), metrics)
    else:
        timer.skip("ablation", "ablation.enabled is false")

    with timer.stage("refit"):
        evaluation = leaderboard(metrics)
        refit_key = checkpoints.key("refit", cfg.model_inputs(),
                                    {n: cfg.learners.params.get(n) for n in shipped.learners},
                                    shipped.weights().to_dict(), getattr(shipped, "intercept_", None),
                                    intervals.to_dict(), intervals.scores_, evaluation,
                                    sign_key and hmac.new(sign_key, b"refit checkpoint", "sha256").hexdigest())
        model_dir = tx.path(art / "model")
        if checkpoints.fresh("refit", refit_key):   # published by an earlier run, or staged by one cut short
            model_dir = model_dir if (model_dir / "manifest.json").is_file() else art / "model"
            bundle = ModelBundle.load(model_dir, sign_key)
        else:
            bundle = fit_bundle(raw, cfg, labelled, shipped.learners, shipped, cache, intervals, evaluation)
            bundle.save(model_dir, sign_key)
            checkpoints.record("refit", refit_key, list(model_dir.rglob("*")))

    with timer.stage("whatif"):
        key = checkpoints.key("whatif", refit_key, cfg.whatif.model_dump(mode="json"),
                              cfg.ultimate.model_dump(mode="json"))
        if not checkpoints.fresh("whatif", key):
            answers = answer_whatifs(ModelBundle.load(model_dir, sign_key), raw, cfg, cache)
            write_json(tx.path(art / "whatif.json"), answers)
            checkpoints.record("whatif", key, [tx.path(art / "whatif.json")])

    with timer.stage("explain"):
        key = checkpoints.key("explain", refit_key, cfg.report.model_dump(mode="json"))
        if not checkpoints.fresh("explain", key):
            checkpoints.record("explain", key, explain(bundle, raw, labelled, cfg, art))

    run_info = {"params": cfg.model_dump(mode="json"), "params_source": params_source, "data_dir": str(data_dir),
                "data_dir_shown": os.path.relpath(data_dir, out_dir),
                "data_fingerprint": data_hashes, "seed": cfg.seed, "versions": package_versions(),
                "git_commit": git_commit(), "timings": timer.timings, "peak_memory_mb": timer.peak_mb}
    write_json(tx.path(art / "run.json"), run_info)
    write_text(tx.path(art / "params.yaml"), yaml.safe_dump(run_info["params"], sort_keys=False))
    with timer.stage("report"):
        render_report(art, tx.path(reports), products=tx.path(art))
    run_info |= {"timings": timer.timings, "peak_memory_mb": timer.peak_mb}
    write_json(tx.path(art / "run.json"), run_info)
    tx.commit([art / "model", art / "metrics.json", art / "whatif.json", art / "run.json", art / "params.yaml",
               reports / "figures", reports / "report.md"])
    checkpoints.relocate(str(tx.path(art).relative_to(art)) + "/", "")
    log.info("run kept as %s (movie-rating runs lists and compares runs)", record_run(art, metrics, run_info).name)
    mlflow_run = log_run(cfg.tracking, art, reports / "report.md", metrics, run_info)
    if mlflow_run:
        log.info("logged to MLflow (%s) as run %s", cfg.tracking.mlflow_uri, mlflow_run)
    return metrics


def shipped_holdout(raw: MovieData, cfg: Config, splits: Splits, stacker: Stacker, cache: Path) -> np.ndarray:
    """The holdout predicted through `ModelBundle.predict` by the shipped recipe fitted on the training rows
    only (preprocessing, each stacked learner refitted once, the stacker's weights): what the report scores."""
    bundle = fit_bundle(raw, cfg, splits.train_ids, stacker.learners, stacker, cache)
    preds = bundle.predict(raw.subset(splits.holdout_ids), cache).set_index("movie_id")
    return preds.loc[splits.holdout_ids, "predicted_rating"].clip(*cfg.data.rating_range).to_numpy()


def fit_intervals(cfg: Config, data: Labelled, results: dict[str, OOFResult], learners: list[str],
                  stack_cv: np.ndarray, stack_holdout: np.ndarray) -> tuple[IntervalModel, dict]:
    """The interval model, calibrated on the training rows' out-of-fold predictions of the shipped learners
    and the stack; its coverage cross-validated on those rows and observed on the holdout, per year band."""
    table = difficulty_table(data.train.tabular, {n: results[n].oof.to_numpy() for n in learners})
    model = IntervalModel(cfg.intervals, learners).fit(table, stack_cv, data.y, data.splits.fold)
    holdout_table = difficulty_table(data.holdout.tabular, {n: results[n].holdout.to_numpy() for n in learners})
    bounds = model.predict(holdout_table, stack_holdout, cfg.data.rating_range)
    years = data.holdout.tabular["year"].to_numpy()
    return model, {"levels": list(cfg.intervals.levels), "scale": cfg.intervals.scale,
                   "difficulty": list(cfg.intervals.difficulty),
                   "cv": model.cross_coverage(data.y, stack_cv),
                   "holdout": coverage_table(data.y_holdout, stack_holdout, bounds, years,
                                             year_bands(years, cfg.evaluation.year_bands), cfg.intervals.levels)}


def leaderboard(metrics: dict) -> dict:
    """What the shipped model tells about its learners (Model.leaderboard): scores, weights, timings."""
    weights = metrics["stacker"]["weights"]
    return {"learners": {n: {"modality": info["modality"], "holdout_rmse": metrics["holdout"][n]["rmse"],
                             "cv_rmse": metrics["cv"][n]["rmse_mean"], "stack_weight": weights.get(n, 0.0),
                             "fit_seconds": info["fit_seconds"], "predict_seconds": info["predict_seconds"]}
                         for n, info in metrics["learners"].items()}
            | {STACK: {"modality": STACK, "holdout_rmse": metrics["holdout"][STACK]["rmse"],
                       "cv_rmse": metrics["cv"][STACK]["rmse_mean"], "stack_weight": None,
                       "fit_seconds": None, "predict_seconds": None}},
            "n_holdout": metrics["split"]["n_holdout"], "cutoff_year": metrics["split"]["cutoff_year"]}


def answer_whatifs(bundle: ModelBundle, raw: MovieData, cfg: Config, cache: Path) -> dict:
    """The report's what-if answers (for whatif.movies found in the data) and the ultimate movie, from the
    model folder as `predict` loads it, so the CLI gives the same answers."""
    movies = [m for m in cfg.whatif.movies if m in raw.movies.index]
    return {"movies": [whatif(bundle, raw, m, cfg.whatif, cfg.seed, cache) for m in track(movies, "what-if")],
            "missing": [m for m in cfg.whatif.movies if m not in raw.movies.index],
            "ultimate": ultimate(bundle, cfg.ultimate, cfg.whatif, cfg.seed, cache)}


def explain(bundle: ModelBundle, raw: MovieData, labelled: np.ndarray, cfg: Config, art: Path) -> list[Path]:
    """Shipped-model importances, SHAP values of the tabular learner, and the description map; the files."""
    frame = bundle.frame(raw.subset(labelled), art / "cache")
    written = []
    for name, learner in bundle.learners.items():
        imp = learner.head_.importance()
        written.append(art / "importance" / f"{name}_shipped.csv")
        write_table(written[-1], pd.DataFrame({"feature": imp.index, "importance": imp.to_numpy()})
                    .sort_values("importance", ascending=False, ignore_index=True))
    tabular = next((lr for lr in bundle.learners.values() if lr.spec.head == "catboost"), None)
    if tabular is not None:
        values, features = shap_table(tabular, frame, cfg.report, cfg.seed)
        written += [art / "explain" / "shap_values.parquet", art / "explain" / "shap_features.parquet"]
        write_table(written[-2], values)
        write_table(written[-1], features.astype(
            {c: str for c in features.columns if not pd.api.types.is_numeric_dtype(features[c])}))
    vectors = frame.blocks.get("text")
    if vectors is not None:    # description vectors alone when the folder has them, else the text block
        if "description" in raw.embeddings:
            vectors = raw.embeddings["description"][raw.movies.index.get_indexer(labelled)]
        ratings = raw.movies.loc[labelled, "rating"].to_numpy()
        written.append(art / "explain" / "umap.parquet")
        texts = raw.movies.loc[labelled, "description"].fillna("").tolist()
        write_table(written[-1], umap_map(vectors, ratings, labelled, texts, cfg.report, cfg.seed))
    return written
