"""Optuna tuning: defaults first, resumable studies, interrupted runs continue, spaces fit their heads."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import optuna
import pytest

from pipeline.config import PROJECT_ROOT, Config
from pipeline.data.clean import drop_duplicate_movies
from pipeline.data.load import load_folder
from pipeline.data.splits import make_splits
from pipeline.features.prepare import prepare
from pipeline.model.registry import REGISTRY, Learner, make_learner
from pipeline.training.scheduler import storage_for
from pipeline.training.tuning import _inner_folds, learner_plan, tune_learner, tuned_config


@pytest.fixture(scope="module")
def train(demo_dir: Path, tiny_cfg: Config, tmp_path_factory: pytest.TempPathFactory):
    raw, _ = drop_duplicate_movies(load_folder(demo_dir, tiny_cfg.data, require_rating=True))
    splits = make_splits(raw.movies["date"], tiny_cfg.split, tiny_cfg.seed)
    prep = prepare(raw, tiny_cfg, splits.train_ids, tmp_path_factory.mktemp("cache"))
    frame = prep.frame(tiny_cfg, splits.train_ids)
    return frame, prep.data.movies.loc[splits.train_ids, "rating"].to_numpy()


def test_first_trial_is_the_defaults_and_studies_resume(train, tiny_cfg, tmp_path) -> None:
    frame, y = train
    storage = storage_for(tiny_cfg.tuning, tmp_path)
    first = tune_learner("text_ridge", tiny_cfg, frame, y, storage, budget=3)
    study = optuna.load_study(study_name=first.study_name, storage=storage)
    assert study.trials[0].params == {k: v for k, v in tiny_cfg.learners.params["text_ridge"].items()
                                      if k in study.trials[0].params}
    assert first.default_value == pytest.approx(study.trials[0].value)
    assert first.best_value <= first.default_value
    resumed = tune_learner("text_ridge", tiny_cfg, frame, y, storage, budget=5)   # a later run, same storage
    study = optuna.load_study(study_name=first.study_name, storage=storage)
    assert len(study.trials) == 5 and resumed.n_complete + resumed.n_pruned == 5
    again = tune_learner("text_ridge", tiny_cfg, frame, y, storage, budget=5)      # nothing left to do
    assert len(optuna.load_study(study_name=first.study_name, storage=storage).trials) == 5
    assert again.best_params == resumed.best_params


def test_tuned_config_carries_best_params(train, tiny_cfg, tmp_path) -> None:
    frame, y = train
    result = tune_learner("tabular_lgbm", tiny_cfg, frame, y, storage_for(tiny_cfg.tuning, tmp_path), budget=3)
    cfg = tuned_config(tiny_cfg, {"tabular_lgbm": result})
    assert cfg.learners.params["tabular_lgbm"] == result.best_params
    assert cfg.learners.params["text_ridge"] == tiny_cfg.learners.params["text_ridge"]


@pytest.mark.parametrize("name", [n for n, spec in REGISTRY.items() if spec.space is not None])
def test_every_search_space_fits_its_learner(train, tiny_cfg, name) -> None:
    """A sampled point of each space is a valid parameter set for the learner's head."""
    frame, y = train
    trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0)).ask()
    params = tiny_cfg.learners.params.get(name, {}) | REGISTRY[name].space(trial)
    params = {k: (min(v, 60) if k in ("n_estimators", "iterations") else v) for k, v in params.items()}
    cfg = tiny_cfg.model_copy(update={"learners": tiny_cfg.learners.model_copy(
        update={"params": dict(tiny_cfg.learners.params) | {name: params}})})
    if all(b not in frame.blocks for b in ("image",)) and REGISTRY[name].modality == "image":
        pytest.skip("no image block")
    pred = make_learner(name, cfg).fit(frame, y).predict(frame)
    assert np.isfinite(pred).all()


def _finished_in_journal(journal: Path) -> int:
    """Trials that reached COMPLETE (1) or PRUNED (2), read from the journal's JSON lines."""
    ops = [json.loads(line) for line in journal.read_text().splitlines() if line.strip()]
    return sum(op.get("op_code") == 6 and op.get("state") in (1, 2) for op in ops)


def test_killed_run_resumes_its_studies(demo_dir: Path, tiny_params: Path, tmp_path: Path) -> None:
    """SIGKILL the whole run during tuning; the next run continues the same studies to their budget."""
    import yaml
    raw = yaml.safe_load(tiny_params.read_text())
    raw["profiles"]["tiny"]["tuning"]["trials"] = {"tabular_catboost": 6}
    raw["profiles"]["tiny"]["ablation"] = {"enabled": False}
    raw["profiles"]["tiny"]["learners"] |= {"enabled": ["tabular_catboost"], "stacked": ["tabular_catboost"]}
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(raw))
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "pipeline", "run", "--params", str(params), "--profile", "tiny",
           "--data-dir", str(demo_dir), "--out-dir", str(out)]
    env = os.environ | {"CI": "true"}
    journal = out / "artifacts" / "tuning" / "journal.log"
    proc = subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if journal.is_file() and _finished_in_journal(journal) >= 2:
            break
        time.sleep(0.2)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (out / "artifacts" / "metrics.json").exists()
    storage = storage_for(Config.model_fields["tuning"].annotation.model_validate(
        raw["tuning"] | raw["profiles"]["tiny"]["tuning"]), journal.parent)
    before = [s for s in optuna.get_all_study_summaries(storage)]
    finished_before = sum(t.state.name in ("COMPLETE", "PRUNED")
                          for t in optuna.load_study(study_name=before[0].study_name, storage=storage).trials)
    assert 2 <= finished_before < 6
    subprocess.run(cmd, cwd=PROJECT_ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    study = optuna.load_study(study_name=before[0].study_name, storage=storage)
    assert sum(t.state.name in ("COMPLETE", "PRUNED") for t in study.trials) == 6
    tuned = json.loads((out / "artifacts" / "tuning" / "tabular_catboost.json").read_text())
    assert tuned["n_complete"] + tuned["n_pruned"] == 6


def test_holdout_ratings_cannot_change_tuning(demo_dir: Path, tiny_cfg: Config, tmp_path: Path) -> None:
    """Scramble the holdout's ratings in the data: every study (its name, which fingerprints its inputs, its
    best parameters and value) stays identical; scrambling training ratings instead changes them."""
    from pipeline.features.prepare import split_and_prepare
    from pipeline.training.tuning import tune_learners
    cfg = tiny_cfg.model_copy(update={"tuning": tiny_cfg.tuning.model_copy(
        update={"enabled": True, "trials": {"text_ridge": 3, "tabular_lgbm": 2}})})
    raw, _ = drop_duplicate_movies(load_folder(demo_dir, cfg.data, require_rating=True))
    splits = make_splits(raw.movies["date"], cfg.split, cfg.seed)

    def tuned(ids: np.ndarray | None, tag: str) -> dict[str, tuple]:
        movies = raw.movies.copy()
        if ids is not None:
            movies.loc[ids, "rating"] = np.random.default_rng(0).uniform(0.5, 5.0, len(ids))
        _, _, data = split_and_prepare(type(raw)(movies, raw.credits, raw.embeddings, raw.source, raw.counts),
                                       cfg, tmp_path / tag / "cache")
        folder = tmp_path / tag / "tuning"
        results = tune_learners(cfg, data, storage_for(cfg.tuning, folder), folder)
        return {n: (r.study_name, r.best_params, r.best_value) for n, r in results.items()}

    original = tuned(None, "original")
    assert set(original) == {"text_ridge", "tabular_lgbm"}
    assert tuned(splits.holdout_ids, "holdout") == original
    assert tuned(splits.train_ids[:200], "train") != original           # the check bites


def test_a_new_stacker_search_range_starts_a_new_study(tiny_cfg, tmp_path, monkeypatch) -> None:
    """The stacker's study name carries its search space, as the learners' do: an edited range must not resume
    the trials of the old one."""
    from pipeline.training import tuning
    rng = np.random.default_rng(0)
    y = rng.normal(3.0, 0.5, 300)
    table = __import__("pandas").DataFrame({"a": y + rng.normal(0, 0.3, 300), "year": rng.integers(1990, 2010, 300)})
    storage = storage_for(tiny_cfg.tuning, tmp_path)
    first = tuning.tune_stacker(tiny_cfg, ["a"], table, y, storage)
    assert tuning.tune_stacker(tiny_cfg, ["a"], table, y, storage).study_name == first.study_name
    monkeypatch.setattr(tuning, "stacker_space",
                        lambda trial: {"alpha": trial.suggest_float("alpha", 1e-4, 1.0, log=True)})
    edited = tuning.tune_stacker(tiny_cfg, ["a"], table, y, storage)
    assert edited.study_name != first.study_name
    assert 1e-4 <= edited.best_params["alpha"] <= 1.0


def test_a_learner_is_an_estimator_tuning_clones(train, tiny_cfg) -> None:
    """Tuning clones one base learner per trial and sets the trial's parameters: the clone fits exactly as a
    learner configured with them, the base is left as it was, and an unknown parameter is refused."""
    from sklearn.base import clone
    frame, y = train
    base = make_learner("tabular_lgbm", tiny_cfg)
    trial = clone(base).set_params(num_leaves=5, n_estimators=30)
    assert base.params == tiny_cfg.learners.params["tabular_lgbm"]
    cfg = tiny_cfg.model_copy(update={"learners": tiny_cfg.learners.model_copy(update={"params": dict(
        tiny_cfg.learners.params) | {"tabular_lgbm": base.params | {"num_leaves": 5, "n_estimators": 30}}})})
    np.testing.assert_array_equal(trial.fit(frame, y).predict(frame),
                                  make_learner("tabular_lgbm", cfg).fit(frame, y).predict(frame))
    assert not np.array_equal(trial.predict(frame), clone(base).fit(frame, y).predict(frame))
    with pytest.raises(ValueError, match="num_leafs"):
        clone(base).set_params(num_leafs=5)


@pytest.mark.parametrize("name", ["all_lgbm", "all_ridge"])
def test_trials_on_one_fold_share_the_blocks_they_do_not_change(train, tiny_cfg, monkeypatch, tmp_path, name) -> None:
    """Trials on one inner fold share a memo of fitted feature blocks (and one of their features of the
    validation rows): a fit through them predicts exactly as a fresh fit, a block is fitted again only when
    the trial changes its settings (PCA size), and the memo's blocks are the learner's own (a save reloads
    to the same predictions)."""
    from sklearn.base import clone

    from pipeline.model import blocks as blocks_module
    frame, y = train
    fits: list[str] = []
    for cls in (blocks_module.Entities, blocks_module.History, blocks_module.Neighbours, blocks_module.Components,
                blocks_module.Design):
        original = cls.fit_transform
        monkeypatch.setattr(cls, "fit_transform",
                            lambda self, f, z, _o=original: fits.append(self.key()) or _o(self, f, z))
    every_block = tiny_cfg.model_copy(update={"learners": tiny_cfg.learners.model_copy(update={"exclude_blocks": ()})})
    base, memo = make_learner(name, every_block), {}
    boosted = [{"num_leaves": 7, "n_components": 4}, {"num_leaves": 15, "n_components": 4},
               {"num_leaves": 7, "n_components": 6}]
    trials = [{"alpha": 3.0}, {"alpha": 30.0}] if name == "all_ridge" else boosted
    seen: dict = {}                      # the validation rows' features, shared as the fitted blocks are
    for params in trials:
        shared = clone(base).set_params(**params).fit(frame, y, memo)
        fresh = clone(base).set_params(**params).fit(frame, y)
        np.testing.assert_array_equal(shared.predict(frame), fresh.predict(frame))
        np.testing.assert_array_equal(shared.predict(frame, shared.features(frame, seen)), fresh.predict(frame))
    shared.save(tmp_path / name)
    np.testing.assert_array_equal(Learner.load(tmp_path / name, every_block).predict(frame), shared.predict(frame))
    if name == "all_ridge":
        assert sum("Design" in k for k in fits) == 1 + len(trials)     # once through the memo, once per fresh fit
    else:
        sources = len([b for b in ("text", "image") if b in frame.blocks])
        components = [block for block, _ in memo.values() if isinstance(block, blocks_module.Components)]
        assert len(components) == 2 * sources                               # 4 and 6 PCs of each source
        for kind, per_fit in (("Entities", 1), ("History", 1), ("Neighbours", sources)):
            assert sum(k.startswith(f"('{kind}'") for k in fits) == (1 + len(trials)) * per_fit


def test_a_study_scores_each_trial_as_fresh_fits_would(train, tiny_cfg) -> None:
    """The objective (fold rows taken once, blocks and validation features shared by trials) gives each trial
    the inner-CV RMSE of fresh fits on each inner fold, trial after trial; a memo never serves other rows."""
    from optuna.trial import FixedTrial
    from sklearn.base import clone
    frame, y = train
    plan = learner_plan("all_lgbm", tiny_cfg, frame, y)
    base = make_learner("all_lgbm", tiny_cfg)
    drawn = {"n_estimators": 200, "learning_rate": 0.05, "num_leaves": 7, "min_child_samples": 10,
             "subsample": 0.8, "colsample_bytree": 0.8, "reg_lambda": 1.0, "n_components": 4}
    for change in ({}, {"num_leaves": 15}, {"n_components": 6}, {}):
        params = plan.space(FixedTrial(drawn | change))
        errors = [np.mean((clone(base).set_params(**params).fit(frame.take(f), y[f]).predict(frame.take(v))
                           - y[v]) ** 2) for f, v in _inner_folds(len(frame), tiny_cfg.tuning, tiny_cfg.seed)]
        assert plan.objective(FixedTrial(drawn | change)) == pytest.approx(float(np.sqrt(np.mean(errors))),
                                                                           abs=1e-12)
    memo: dict = {}
    first = clone(base).fit(frame.take(np.arange(40)), y[:40], memo)
    other = clone(base).fit(frame.take(np.arange(1, 41)), y[1:41], memo)
    assert len(memo) == 2 * len(first.blocks_) and not set(map(id, first.blocks_)) & set(map(id, other.blocks_))
    np.testing.assert_array_equal(other.predict(frame), clone(base).fit(frame.take(np.arange(1, 41)), y[1:41])
                                  .predict(frame))
