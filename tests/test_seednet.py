"""The seed's multi-modal network as a comparison learner: its architecture, that it learns, and that it
round-trips through plain arrays."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch", reason="the seed network needs the optional torch extra (requirements-image.txt)")

from pipeline.config import Config  # noqa: E402
from pipeline.data.load import load_folder  # noqa: E402
from pipeline.features.prepare import prepare  # noqa: E402
from pipeline.model.registry import Learner, make_learner  # noqa: E402
from pipeline.model.seednet import BRANCHES, TRUNK  # noqa: E402


@pytest.fixture(scope="module")
def fitted(demo_dir: Path, tiny_cfg: Config, tmp_path_factory: pytest.TempPathFactory):
    data = load_folder(demo_dir, tiny_cfg.data, require_rating=True)
    ids = data.movies.index.to_numpy()
    frame = prepare(data, tiny_cfg, ids[:1200], tmp_path_factory.mktemp("cache")).frame(tiny_cfg)
    y = data.movies["rating"].to_numpy()
    cfg = tiny_cfg.model_copy(update={"learners": tiny_cfg.learners.model_copy(update={"params": {
        **tiny_cfg.learners.params, "seed_net": {**tiny_cfg.learners.params["seed_net"], "epochs": 60}}})})
    learner = make_learner("seed_net", cfg).fit(frame.take(np.arange(1200)), y[:1200])
    return learner, frame.take(np.arange(1200, len(ids))), y[1200:], cfg


def test_branches_follow_the_seed(fitted) -> None:
    learner, *_ = fitted
    net = learner.head_.model_
    assert net.names == ["tabular", "text", "image"]          # the demo has poster vectors
    for name, branch in zip(net.names, net.branches):
        assert [m.out_features for m in branch if hasattr(m, "out_features")] == list(BRANCHES[name])
    assert [m.out_features for m in net.trunk if hasattr(m, "out_features")] == list(TRUNK)
    assert net.out.out_features == 1


def test_it_learns_on_unseen_movies(fitted) -> None:
    learner, rest, y_rest, _ = fitted
    pred = learner.predict(rest)
    assert np.isfinite(pred).all()
    assert np.corrcoef(pred, y_rest)[0, 1] > 0.3
    assert np.sqrt(np.mean((pred - y_rest) ** 2)) < np.std(y_rest)


def test_round_trip_through_arrays(fitted, tmp_path: Path) -> None:
    learner, rest, _, cfg = fitted
    learner.save(tmp_path / "seed_net")
    assert not list((tmp_path / "seed_net").glob("*.pt")) and not list((tmp_path / "seed_net").glob("*.pkl"))
    loaded = Learner.load(tmp_path / "seed_net", cfg)
    np.testing.assert_allclose(loaded.predict(rest), learner.predict(rest), rtol=1e-6, atol=1e-6)
