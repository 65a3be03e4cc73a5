"""The out-of-fold engine and the stacker: no row is predicted by a model that saw it."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.config import Config
from pipeline.data.clean import drop_duplicate_movies
from pipeline.data.load import load_folder
from pipeline.data.splits import make_splits
from pipeline.features.prepare import prepare
from pipeline.model.stacker import Stacker
from pipeline.training.oof import run_oof
from pipeline.training.stacking import stack_oof


@pytest.fixture(scope="module")
def setup(demo_dir: Path, tiny_cfg: Config, tmp_path_factory: pytest.TempPathFactory):
    raw, _ = drop_duplicate_movies(load_folder(demo_dir, tiny_cfg.data, require_rating=True))
    splits = make_splits(raw.movies["date"], tiny_cfg.split, tiny_cfg.seed)
    prep = prepare(raw, tiny_cfg, splits.train_ids, tmp_path_factory.mktemp("cache"))
    train, holdout = prep.frame(tiny_cfg, splits.train_ids), prep.frame(tiny_cfg, splits.holdout_ids)
    y = prep.data.movies.loc[splits.train_ids, "rating"].to_numpy()
    return raw, splits, prep, train, holdout, y


class Spy:
    """A learner that remembers which movies it was fitted on and predicts 1 for those."""
    fitted: list[set[int]] = []
    blocks_: list = []

    def fit(self, frame, y, memo=None):
        self.seen_ = set(frame.ids.tolist())
        Spy.fitted.append(self.seen_)
        return self

    def features(self, frame, memo=None):
        return frame

    def predict(self, frame, X=None):
        return np.array([float(i in self.seen_) for i in frame.ids])

    @property
    def head_(self):
        class NoImportance:
            def importance(self):
                return pd.Series(dtype=float)
        return NoImportance()


def test_every_training_row_predicted_once_by_a_model_that_never_saw_it(setup, tiny_cfg, monkeypatch) -> None:
    raw, splits, prep, train, holdout, y = setup
    monkeypatch.setattr("pipeline.training.oof.make_learner", lambda name, cfg, drop=frozenset(): Spy())
    Spy.fitted = []
    result = run_oof("spy", tiny_cfg, train, y, holdout, splits)
    assert not result.oof.isna().any()
    assert (result.oof == 0.0).all()                     # no row was predicted by a model that saw it
    assert (result.holdout == 0.0).all()                 # no fold model saw a holdout movie
    assert len(Spy.fitted) == splits.n_folds
    holdout_ids = set(splits.holdout_ids.tolist())
    assert all(not (seen & holdout_ids) for seen in Spy.fitted)


def test_holdout_ratings_cannot_change_anything_fitted(setup, tiny_cfg, tmp_path) -> None:
    """Scramble the holdout's ratings: preprocessing, OOF predictions and the stacker stay identical."""
    raw, splits, prep, train, holdout, y = setup
    movies = raw.movies.copy()
    movies.loc[splits.holdout_ids, "rating"] = np.random.default_rng(0).uniform(0.5, 5.0, len(splits.holdout_ids))
    scrambled = type(raw)(movies, raw.credits, raw.embeddings, raw.source, raw.counts)
    prep2 = prepare(scrambled, tiny_cfg, splits.train_ids, tmp_path)
    assert prep2.stats == prep.stats
    pd.testing.assert_frame_equal(prep2.frame(tiny_cfg).tabular, prep.frame(tiny_cfg).tabular)
    for name in ("tabular_catboost", "text_ridge"):
        a = run_oof(name, tiny_cfg, train, y, holdout, splits)
        b = run_oof(name, tiny_cfg, prep2.frame(tiny_cfg, splits.train_ids), y,
                    prep2.frame(tiny_cfg, splits.holdout_ids), splits)
        np.testing.assert_array_equal(a.oof.to_numpy(), b.oof.to_numpy())
        np.testing.assert_array_equal(a.holdout.to_numpy(), b.holdout.to_numpy())


@pytest.mark.parametrize("name", ["tabular_catboost", "all_lgbm"])
def test_a_folds_own_ratings_cannot_change_its_predictions(setup, tiny_cfg, tmp_path, name) -> None:
    """Scramble the ratings of fold 0's validation rows everywhere (data folder and y): their out-of-fold
    predictions stay identical, so nothing fitted before or inside the fold (preprocessing, entity, history
    and neighbour encodings, the era target) saw them; the other folds, which fit on them, change."""
    raw, splits, prep, train, holdout, y = setup
    _, pred_pos = next(iter(splits.fold_positions()))
    movies = raw.movies.copy()
    scrambled_ids = splits.train_ids[pred_pos]
    movies.loc[scrambled_ids, "rating"] = np.random.default_rng(1).uniform(0.5, 5.0, len(pred_pos))
    scrambled = type(raw)(movies, raw.credits, raw.embeddings, raw.source, raw.counts)
    prep2 = prepare(scrambled, tiny_cfg, splits.train_ids, tmp_path)
    y2 = prep2.data.movies.loc[splits.train_ids, "rating"].to_numpy()
    a = run_oof(name, tiny_cfg, train, y, holdout, splits).oof.to_numpy()
    b = run_oof(name, tiny_cfg, prep2.frame(tiny_cfg, splits.train_ids), y2,
                prep2.frame(tiny_cfg, splits.holdout_ids), splits).oof.to_numpy()
    np.testing.assert_array_equal(a[pred_pos], b[pred_pos])
    others = np.setdiff1d(np.arange(len(y)), pred_pos)
    assert not np.array_equal(a[others], b[others])   # the check bites


def test_cleaning_statistics_see_only_training_rows(setup, tiny_cfg, tmp_path) -> None:
    """Absurd runtimes in the holdout leave the fitted cleaning statistics (median, clip bounds) unchanged."""
    raw, splits, prep, *_ = setup
    movies = raw.movies.copy()
    movies.loc[splits.holdout_ids, "minute"] = 999.0
    changed = type(raw)(movies, raw.credits, raw.embeddings, raw.source, raw.counts)
    assert prepare(changed, tiny_cfg, splits.train_ids, tmp_path).stats == prep.stats
    assert prepare(changed, tiny_cfg, raw.movies.index.to_numpy(), tmp_path).stats != prep.stats   # the check bites


@pytest.mark.parametrize("name", ["tabular_catboost", "tabular_lgbm", "all_lgbm", "text_lgbm", "image_ridge"])
def test_same_seed_same_predictions(setup, tiny_cfg, name) -> None:
    _, splits, _, train, holdout, y = setup
    a = run_oof(name, tiny_cfg, train, y, holdout, splits)
    b = run_oof(name, tiny_cfg, train, y, holdout, splits)
    np.testing.assert_array_equal(a.oof.to_numpy(), b.oof.to_numpy())
    np.testing.assert_array_equal(a.holdout.to_numpy(), b.holdout.to_numpy())


def test_stacker_weights_non_negative_and_outer_cv_honest(setup, tiny_cfg) -> None:
    _, splits, _, train, holdout, y = setup
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"good": y + rng.normal(0, 0.2, len(y)), "anti": -y + rng.normal(0, 0.2, len(y)),
                          "year": train.tabular["year"].to_numpy()})
    stacker = Stacker(tiny_cfg.stacking, ["good", "anti"]).fit(table, y)
    weights = stacker.weights()
    assert weights["good"] > 0.5 and weights["anti"] == pytest.approx(0.0, abs=1e-9)
    cv = stack_oof(tiny_cfg.stacking, ["good", "anti"], table, y, splits, 0)
    assert not np.isnan(cv).any()
    # a row's own rating never reaches its own outer-CV prediction: change every rating of fold 0, and
    # fold 0's predictions stay exactly as they were while the other folds' move (a leaky stack_oof fails)
    first = splits.fold == 0
    moved = stack_oof(tiny_cfg.stacking, ["good", "anti"], table, np.where(first, y + 3.0, y), splits, 0)
    np.testing.assert_array_equal(moved[first], cv[first])
    assert not np.allclose(moved[~first], cv[~first])
    # and it equals a hand-written loop over the folds
    for k in np.unique(splits.fold):
        rows = splits.fold == k
        own = Stacker(tiny_cfg.stacking, ["good", "anti"]).fit(table[~rows], y[~rows]).predict(table[rows])
        np.testing.assert_allclose(cv[rows], own, atol=1e-12)


def test_splits_are_temporal_and_folds_cover_training(setup) -> None:
    raw, splits, *_ = setup
    years = raw.movies["date"]
    assert years.loc[splits.holdout_ids].min() == splits.cutoff_year
    assert years.loc[splits.train_ids].max() < splits.cutoff_year
    assert sorted(np.unique(splits.fold)) == list(range(splits.n_folds))
    assert not set(splits.train_ids) & set(splits.holdout_ids)


def test_shipped_bundle_predicts_the_same_after_save_and_load(setup, tiny_cfg, tmp_path) -> None:
    from pipeline.model.bundle import ModelBundle
    from pipeline.training.refit import fit_bundle
    raw, splits, prep, train, holdout, y = setup
    names = ["tabular_catboost", "tabular_lgbm", "text_ridge", "image_lgbm"]
    table = pd.DataFrame({n: y + i * 0.01 for i, n in enumerate(names)} | {"year": train.tabular["year"].to_numpy()})
    stacker = Stacker(tiny_cfg.stacking, names).fit(table, y)
    labelled = raw.movies.index.to_numpy()
    bundle = fit_bundle(raw, tiny_cfg, labelled, names, stacker, tmp_path / "cache")
    before = bundle.predict(raw, tmp_path / "cache")
    bundle.save(tmp_path / "model")
    after = ModelBundle.load(tmp_path / "model").predict(raw, tmp_path / "cache")
    pd.testing.assert_frame_equal(before, after)
    assert list(after.columns) == ["movie_id", "predicted_rating", *names]


def test_learners_fitted_together_fit_a_shared_block_once_and_predict_as_alone(setup, tiny_cfg, tmp_path,
                                                                              monkeypatch) -> None:
    """The shipped learners are fitted on the same rows (`fit_learners`): a block two of them read (the entity
    encodings, each embedding block's neighbours) is fitted once and is one object, a model folder loads it
    once, and every learner predicts exactly what it predicts fitted alone, before and after loading."""
    from pipeline.model import blocks as blocks_module
    from pipeline.model.registry import Learner, fit_learners, make_learner
    _, _, _, train, _, y = setup
    cfg = tiny_cfg.model_copy(update={"learners": tiny_cfg.learners.model_copy(update={"exclude_blocks": ()})})
    names = ["text_lgbm", "image_lgbm", "all_lgbm", "tabular_lgbm", "baseline_year_trend"]
    fits: list[str] = []
    for cls in (blocks_module.Entities, blocks_module.History, blocks_module.Neighbours):
        original = cls.fit_transform
        monkeypatch.setattr(cls, "fit_transform",
                            lambda self, f, z, _o=original: fits.append(self.key()) or _o(self, f, z))
    together = fit_learners(names, cfg, train, y)
    assert sorted(k.split(",")[0] for k in fits) == ["('Entities'", "('History'", "('Neighbours'", "('Neighbours'"]
    def neighbours(learner: Learner, source: str):
        return next(b for b in learner.blocks_ if isinstance(b, blocks_module.Neighbours) and b.source == source)
    assert neighbours(together["text_lgbm"], "text") is neighbours(together["all_lgbm"], "text")
    assert neighbours(together["image_lgbm"], "image") is neighbours(together["all_lgbm"], "image")
    shared: dict = {}
    for name, learner in together.items():
        learner.save(tmp_path / name)
    loaded = {name: Learner.load(tmp_path / name, cfg, shared) for name in names}
    assert neighbours(loaded["text_lgbm"], "text") is neighbours(loaded["all_lgbm"], "text")
    memo: dict = {}
    for name in names:
        alone = make_learner(name, cfg).fit(train, y).predict(train)
        np.testing.assert_array_equal(together[name].predict(train), alone)
        np.testing.assert_array_equal(loaded[name].predict(train, loaded[name].features(train, memo)), alone)
    assert len(memo) < sum(len(learner.blocks_) for learner in loaded.values())     # shared blocks: one entry


def test_learners_cross_fitted_in_turn_share_each_folds_blocks_and_predict_as_alone(setup, tiny_cfg,
                                                                                     monkeypatch) -> None:
    """The learners stage cross-fits its learners one after another on the same folds, with one BlockMemo per
    fold: a block two learners read is fitted once per fold, and every out-of-fold and holdout prediction is
    what the learner predicts cross-fitted alone. Once the last learner reading a block is done, the memo
    holds nothing of it."""
    from pipeline.model import blocks as blocks_module
    from pipeline.model.registry import BlockMemo, make_learner
    _, splits, _, train, holdout, y = setup
    names = ["text_lgbm", "all_lgbm", "image_lgbm"]
    alone = {name: run_oof(name, tiny_cfg, train, y, holdout, splits) for name in names}
    fits: list[str] = []
    original = blocks_module.Neighbours.fit_transform
    monkeypatch.setattr(blocks_module.Neighbours, "fit_transform",
                        lambda self, f, z: fits.append(self.source) or original(self, f, z))
    memos = [BlockMemo([make_learner(n, tiny_cfg) for n in names], set(train.blocks)) for _ in range(splits.n_folds)]
    for name in names:
        shared = run_oof(name, tiny_cfg, train, y, holdout, splits, memos=memos)
        pd.testing.assert_series_equal(shared.oof, alone[name].oof)
        pd.testing.assert_series_equal(shared.holdout, alone[name].holdout)
    assert sorted(fits) == sorted(["text", "image"] * splits.n_folds)      # not twice each
    assert all(not memo.fits and not any(memo.features.values()) for memo in memos)


def test_excluded_blocks_are_read_by_no_learner_before_or_after_loading(setup, tiny_cfg, tmp_path) -> None:
    from pipeline.model.blocks import Entities, Neighbours
    from pipeline.model.bundle import ModelBundle
    from pipeline.training.refit import fit_bundle
    raw, splits, prep, train, holdout, y = setup
    def excluding(*blocks: str):
        return tiny_cfg.model_copy(update={"learners": tiny_cfg.learners.model_copy(update={"exclude_blocks": blocks})})
    cfg = excluding("entities", "neighbours")
    names = ["tabular_lgbm", "all_lgbm"]
    table = pd.DataFrame({n: y for n in names} | {"year": train.tabular["year"].to_numpy()})
    bundle = fit_bundle(raw, cfg, raw.movies.index.to_numpy(), names, Stacker(cfg.stacking, names).fit(table, y),
                        tmp_path / "cache")
    bundle.save(tmp_path / "model")
    for shipped in (bundle, ModelBundle.load(tmp_path / "model")):
        for learner in shipped.learners.values():
            assert not any(isinstance(b, (Entities, Neighbours)) for b in learner.blocks_)
            assert not any("_te_" in c or "_knn" in c for c in learner.columns_), learner.columns_
            assert any(c.startswith("actor_hist") for c in learner.columns_)
    every = excluding()
    control = fit_bundle(raw, every, raw.movies.index.to_numpy(), names[:1],
                         Stacker(every.stacking, names[:1]).fit(table[names[:1] + ["year"]], y), tmp_path / "c2")
    assert any(isinstance(b, Entities) for b in control.learners["tabular_lgbm"].blocks_)   # it can fail


@pytest.mark.parametrize("method", ["ridge", "lgbm"])
def test_the_stackers_outer_cv_never_sees_a_folds_own_ratings(setup, tiny_cfg, method) -> None:
    """Scramble the ratings of fold 0's rows: the stacker's out-of-fold predictions for those rows stay
    identical (each outer fit saw only the other folds), while the other folds' predictions, fitted on
    them, change. An in-sample `stack_oof` fails the first check; equal errors would not reveal it."""
    _, splits, _, train, _, y = setup
    rng = np.random.default_rng(5)
    table = pd.DataFrame({"a": y + rng.normal(0, 0.3, len(y)), "b": y + rng.normal(0, 0.3, len(y)),
                          "year": train.tabular["year"].to_numpy()})
    cfg = tiny_cfg.stacking.model_copy(update={"method": method})
    _, pred_pos = next(iter(splits.fold_positions()))
    scrambled = y.copy()
    scrambled[pred_pos] = rng.uniform(0.5, 5.0, len(pred_pos))
    a = stack_oof(cfg, ["a", "b"], table, y, splits, 0)
    b = stack_oof(cfg, ["a", "b"], table, scrambled, splits, 0)
    np.testing.assert_array_equal(a[pred_pos], b[pred_pos])
    assert not np.array_equal(np.delete(a, pred_pos), np.delete(b, pred_pos))


@pytest.mark.parametrize("method", ["ridge", "lgbm"])
def test_stacker_methods_roundtrip(setup, tiny_cfg, tmp_path, method) -> None:
    _, splits, _, train, holdout, y = setup
    cfg = tiny_cfg.stacking.model_copy(update={"method": method})
    rng = np.random.default_rng(1)
    table = pd.DataFrame({"a": y + rng.normal(0, 0.3, len(y)), "b": y + rng.normal(0, 0.3, len(y)),
                          "year": train.tabular["year"].to_numpy()})
    stacker = Stacker(cfg, ["a", "b"], seed=3).fit(table, y)
    assert np.mean((stacker.predict(table) - y) ** 2) < np.mean((table["a"] - y) ** 2)
    stacker.save(tmp_path / "s")
    again = Stacker.load(tmp_path / "s", tiny_cfg.stacking)
    np.testing.assert_allclose(again.predict(table), stacker.predict(table))
    assert list(again.weights().index) == ["a", "b", "year"]


def test_a_sum_to_one_stacker_blends_without_stretching(setup, tiny_cfg) -> None:
    """Two learners that shrink the ratings towards their mean: a free blend stretches them back (weights
    summing well above 1), a sum-to-one blend cannot."""
    _, _, _, train, _, y = setup
    rng = np.random.default_rng(4)
    shrunk = {name: y.mean() + 0.6 * (y - y.mean()) + rng.normal(0, 0.2, len(y)) for name in ("a", "b")}
    table = pd.DataFrame(shrunk | {"year": train.tabular["year"].to_numpy()})
    free = Stacker(tiny_cfg.stacking, ["a", "b"]).fit(table, y).weights()[["a", "b"]]
    cfg = tiny_cfg.stacking.model_copy(update={"sum_to_one": True})
    convex = Stacker(cfg, ["a", "b"]).fit(table, y).weights()[["a", "b"]]
    assert free.sum() > 1.2
    assert convex.sum() == pytest.approx(1.0, abs=1e-5) and (convex >= 0).all()


def test_a_recency_weighted_stacker_follows_the_latest_years() -> None:
    """Learner "new" is right after 2000 and noise before, "old" the reverse: equal weights split the blend,
    a 3-year half-life hands it to "new"; with one release year the weights are all 1 and change nothing."""
    from pipeline.config import project_config
    rng = np.random.default_rng(5)
    years = np.repeat(np.arange(1970, 2011), 60).astype(float)
    y = rng.normal(3.0, 0.5, len(years))
    late = years > 2000
    table = pd.DataFrame({"new": np.where(late, y, 3.0 + rng.normal(0, 0.5, len(y))) + rng.normal(0, 0.1, len(y)),
                          "old": np.where(late, 3.0 + rng.normal(0, 0.5, len(y)), y) + rng.normal(0, 0.1, len(y)),
                          "year": years})
    equal = project_config().stacking
    recent = equal.model_copy(update={"recency_half_life": 3.0})
    w_equal = Stacker(equal, ["new", "old"]).fit(table, y).weights()
    w_recent = Stacker(recent, ["new", "old"]).fit(table, y).weights()
    assert w_equal["old"] > w_equal["new"]                      # 31 old years against 10 new ones
    assert w_recent["new"] > 3 * w_recent["old"]
    one_year = table.assign(year=2000.0)
    np.testing.assert_allclose(Stacker(recent, ["new", "old"]).fit(one_year, y).predict(one_year),
                               Stacker(equal, ["new", "old"]).fit(one_year, y).predict(one_year))


def test_pruned_stacker_predicts_the_same_without_zero_weight_learners(setup, tiny_cfg) -> None:
    _, _, _, train, _, y = setup
    rng = np.random.default_rng(2)
    table = pd.DataFrame({"good": y + rng.normal(0, 0.2, len(y)), "anti": -y, "year": train.tabular["year"].to_numpy()})
    stacker = Stacker(tiny_cfg.stacking, ["good", "anti"]).fit(table, y)
    pruned = stacker.pruned()
    assert pruned.learners == ["good"]
    np.testing.assert_allclose(pruned.predict(table.drop(columns="anti")), stacker.predict(table))


def test_holdout_ratings_cannot_change_the_interval_model(setup, tiny_cfg) -> None:
    """The intervals are calibrated on training rows' out-of-fold residuals only: scrambling the holdout's
    ratings leaves sigma's line and every calibration score identical (and changes the holdout coverage, so
    the holdout did reach the evaluation); scrambling one fold's training ratings changes the model."""
    from pipeline.features.prepare import Labelled
    from pipeline.training.intervals import fit_intervals
    raw, splits, prep, train, holdout, y = setup
    names = ["text_ridge", "baseline_year_trend"]
    results = {n: run_oof(n, tiny_cfg, train, y, holdout, splits) for n in names}
    y_holdout = raw.movies.loc[splits.holdout_ids, "rating"].to_numpy()
    cv = np.mean([results[n].oof.to_numpy() for n in names], axis=0)
    hold = np.mean([results[n].holdout.to_numpy() for n in names], axis=0)

    def fitted(y_train: np.ndarray, y_hold: np.ndarray):
        return fit_intervals(tiny_cfg, Labelled(train, holdout, y_train, y_hold, splits), results, names, cv, hold)

    model, metrics = fitted(y, y_holdout)
    scrambled = np.random.default_rng(0).uniform(0.5, 5.0, len(y_holdout))
    again, again_metrics = fitted(y, scrambled)
    assert again.to_dict() == model.to_dict()
    np.testing.assert_array_equal(again.scores_, model.scores_)
    assert again_metrics["cv"] == metrics["cv"] and again_metrics["holdout"] != metrics["holdout"]
    y2 = y.copy()
    y2[splits.fold == 0] = np.random.default_rng(1).uniform(0.5, 5.0, int((splits.fold == 0).sum()))
    changed, _ = fitted(y2, y_holdout)
    assert changed.to_dict() != model.to_dict()                  # the check bites


def test_a_saved_learner_reads_its_own_columns_when_a_block_gains_one(setup, tiny_cfg, tmp_path, monkeypatch) -> None:
    """A model folder saved before a feature block gained columns still predicts as it did: the head gets the
    columns it was fitted on, in its order (CatBoost takes them by position: a shifted column was a crash)."""
    from pipeline.model import blocks as blocks_module
    from pipeline.model.registry import Learner, make_learner
    _, _, _, train, holdout, y = setup
    learner = make_learner("tabular_catboost", tiny_cfg).fit(train, y)
    learner.save(tmp_path / "saved")
    before = learner.predict(holdout)
    original = blocks_module.History.transform
    monkeypatch.setattr(blocks_module.History, "transform",    # a newer History: one more column, first
                        lambda self, frame: original(self, frame).assign(actor_hist_new=1.0).iloc[:, ::-1])
    np.testing.assert_array_equal(Learner.load(tmp_path / "saved", tiny_cfg).predict(holdout), before)
