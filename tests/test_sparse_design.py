"""The wide sparse design of the linear learner: credits matched by name, a year trend that extrapolates."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from pipeline.config import Config
from pipeline.data.load import load_folder
from pipeline.features.frame import MovieFrame
from pipeline.features.prepare import prepare
from pipeline.features.sparse import SparseDesign
from pipeline.model.heads import skops_dump, skops_load

BLOCKS = ("tabular", "names", "words", "text")
DECAY = 0.8


def _frame(demo_dir: Path, cfg: Config, ids: np.ndarray, tmp_path: Path) -> MovieFrame:
    data = load_folder(demo_dir, cfg.data, require_rating=True).subset(ids)
    return prepare(data, cfg, data.movies.index.to_numpy(), tmp_path).frame(cfg)


@pytest.fixture()
def frames(demo_dir: Path, tiny_cfg: Config, tmp_path: Path) -> tuple[MovieFrame, MovieFrame]:
    """A fitting frame and a later frame with partly different credits (so different column orders)."""
    return (_frame(demo_dir, tiny_cfg, np.arange(0, 900), tmp_path),
            _frame(demo_dir, tiny_cfg, np.arange(600, 1200), tmp_path))


def _design(cfg: Config) -> SparseDesign:
    return SparseDesign(BLOCKS, cfg.entities.kinds, DECAY, max_words=500, n_knots=5, seed=0)


def test_credit_columns_follow_names_not_positions(frames, tiny_cfg: Config) -> None:
    fit, later = frames
    design = _design(tiny_cfg).fit(fit)
    X = design.transform(later)
    assert X.matrix.shape == (len(later), len(X.columns))
    seen = set(design.vocab_["actor"])
    credits = later.credits["actor"]
    for row in (0, 17, 333, 599):
        start, stop = credits.matrix.indptr[row], credits.matrix.indptr[row + 1]
        want = {f"actor={credits.names[c]}": DECAY ** (b - 1.0)
                for c, b in zip(credits.matrix.indices[start:stop], credits.matrix.data[start:stop])
                if credits.names[c] in seen}
        line = X.matrix.getrow(row)
        got = {X.columns[c]: v for c, v in zip(line.indices, line.data) if X.columns[c].startswith("actor=")}
        assert got == pytest.approx(want)
    assert set(credits.names) - seen, "the later frame should hold actors never seen at fit time"


def test_year_trend_extrapolates_linearly(frames, tiny_cfg: Config) -> None:
    """Beyond the last training year the spline keeps its last slope (trees would stay flat)."""
    fit, _ = frames
    design = _design(tiny_cfg).fit(fit)
    future = fit.take(np.zeros(4, dtype=int))
    future.tabular["year"] = [2040.0, 2050.0, 2060.0, 2070.0]
    X = design.transform(future)
    year_cols = [i for i, c in enumerate(X.columns) if c.startswith("year_sp")]
    spline = X.matrix[:, year_cols].toarray()
    steps = np.diff(spline, axis=0)
    assert np.abs(steps).max() > 0
    np.testing.assert_allclose(steps, np.repeat(steps[:1], 3, axis=0), atol=1e-9)


def test_save_load_round_trip(frames, tiny_cfg: Config, tmp_path: Path) -> None:
    fit, later = frames
    design = _design(tiny_cfg).fit(fit)
    design.save(tmp_path, skops_dump)
    loaded = _design(tiny_cfg).load(tmp_path, skops_load)
    a, b = design.transform(later), loaded.transform(later)
    assert a.columns == b.columns
    assert abs(a.matrix - b.matrix).max() == 0


@pytest.mark.parametrize("alpha", [0.1, 30.0])
def test_the_preconditioned_ridge_solves_scikit_learns_ridge(alpha: float, tmp_path: Path) -> None:
    """The wide ridge's solver gives scikit-learn's Ridge on a design like the pipeline's (one-hot credits with
    very unequal counts, a few dense columns, an intercept), predicts the same, and loads through skops."""
    from sklearn.linear_model import Ridge

    from pipeline.model.heads import fit_sparse_ridge
    rng = np.random.default_rng(0)
    n, names = 3000, 800
    credits = sp.csr_matrix((np.ones(n * 3), (np.repeat(np.arange(n), 3), rng.zipf(1.6, n * 3) % names)),
                            shape=(n, names))
    dense = sp.csr_matrix(rng.normal(3.0, 2.0, (n, 5)))
    X = sp.hstack([credits, dense]).tocsr()
    y = 3 + X @ rng.normal(0, 0.3, X.shape[1]) + rng.normal(0, 0.5, n)
    exact = Ridge(alpha=alpha, solver="cholesky").fit(X.toarray(), y)
    mine = fit_sparse_ridge(X, y, alpha)
    np.testing.assert_allclose(mine.coef_, exact.coef_, atol=1e-5)
    np.testing.assert_allclose(mine.intercept_, exact.intercept_, atol=1e-5)
    np.testing.assert_allclose(mine.predict(X), exact.predict(X.toarray()), atol=1e-5)
    skops_dump(mine, tmp_path / "ridge.skops")
    np.testing.assert_array_equal(skops_load(tmp_path / "ridge.skops").predict(X), mine.predict(X))
