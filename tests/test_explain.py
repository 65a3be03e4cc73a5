"""Per-movie reasons: every head's contributions add up to its prediction; columns map to reason groups."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from pipeline.features.sparse import Sparse
from pipeline.features.textmap import nearest, umap_map
from pipeline.model.groups import GROUPS, feature_group, group_codes, top_reasons
from pipeline.model.heads import CatBoostHead, LGBMHead, LinearHead, MeanHead, SparseRidgeHead, XGBHead


def _data(n: int = 300) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"year": rng.integers(1950, 2020, n).astype(float), "minute": rng.normal(100, 20, n),
                      "actor_te_mean": rng.normal(0, 1, n), "text_pc1": rng.normal(0, 1, n)})
    y = 0.01 * (X["year"] - 1990) + 0.5 * X["actor_te_mean"] - 0.3 * X["text_pc1"] + rng.normal(0, 0.3, n)
    return X, y.to_numpy()


@pytest.mark.parametrize("head", [CatBoostHead, LGBMHead, XGBHead, LinearHead, MeanHead])
def test_dense_heads_contributions_sum_to_their_predictions(head) -> None:
    X, y = _data()
    params = {CatBoostHead: {"iterations": 30, "depth": 3}, LGBMHead: {"n_estimators": 30},
              XGBHead: {"n_estimators": 30}, LinearHead: {"alpha": 1.0}, MeanHead: {}}[head]
    fitted = head(params, 0).fit(X, y)
    parts = fitted.contributions(X)
    total = parts.base + np.asarray(parts.values).sum(axis=1)
    np.testing.assert_allclose(total, fitted.predict(X), atol=1e-5)


def test_catboost_with_a_categorical_column() -> None:
    X, y = _data()
    X["director_1"] = np.where(y > 0, "A", "B")
    fitted = CatBoostHead({"iterations": 30, "depth": 3}, 0).fit(X, y)
    parts = fitted.contributions(X)
    np.testing.assert_allclose(parts.base + parts.values.sum(axis=1), fitted.predict(X), atol=1e-6)
    assert np.abs(parts.values[:, list(X.columns).index("director_1")]).mean() > 0.05


def test_sparse_ridge_terms_are_centred_and_grouped_without_densifying() -> None:
    rng = np.random.default_rng(1)
    matrix = sp.random(200, 50, density=0.1, format="csr", random_state=1)
    columns = [f"actor=A{i}" for i in range(20)] + [f"word=w{i}" for i in range(25)] + ["year_sp_0", "year_sp_1",
                                                                                       "minute", "is_short", "x"]
    y = rng.normal(size=200)
    head = SparseRidgeHead({"alpha": 1.0}, 0).fit(Sparse(matrix, columns), y)
    parts = head.contributions(Sparse(matrix, columns))
    assert sp.issparse(parts.values)
    dense = matrix.toarray() * head.model_.coef_ - head.model_.coef_ * head.means_     # the same terms, dense
    codes = group_codes(columns)
    grouped = parts.grouped(codes, len(GROUPS))
    for g in range(len(GROUPS)):
        np.testing.assert_allclose(grouped[:, g], dense[:, codes == g].sum(axis=1), atol=1e-10)
    np.testing.assert_allclose(parts.base + grouped.sum(axis=1), head.predict(Sparse(matrix, columns)), atol=1e-10)
    np.testing.assert_allclose(grouped.mean(axis=0), 0.0, atol=1e-10)     # centred on the training means


@pytest.mark.parametrize("column, group", [
    ("actor_te_mean", "cast"), ("actor_1", "cast"), ("actor=Emma Stone", "cast"), ("n_actor", "cast"),
    ("director_hist_mean", "director"), ("studio_te_lead", "studio"), ("year", "release year"),
    ("year_sp_3", "release year"), ("log_minute_sp_1", "runtime"), ("runtime_missing", "runtime"),
    ("age_rating", "age rating"), ("age_rating_PG-13", "age rating"), ("text_pc4", "story (tagline and description)"),
    ("text_knn10", "story (tagline and description)"), ("word=ken", "story (tagline and description)"),
    ("tagline_words", "story (tagline and description)"), ("title_has_number", "title"), ("image_pc2", "poster"),
    ("something_else", "other")])
def test_columns_map_to_the_reason_a_person_recognises(column: str, group: str) -> None:
    assert feature_group(column) == group


def test_top_reasons_are_the_largest_in_absolute_value() -> None:
    table = pd.DataFrame([[0.1, -0.5, 0.2] + [0.0] * (len(GROUPS) - 3)], columns=list(GROUPS))
    assert top_reasons(table, 2) == [[(GROUPS[1], -0.5), (GROUPS[2], 0.2)]]


def test_the_maps_neighbours_are_those_umap_would_search() -> None:
    from sklearn.metrics.pairwise import cosine_distances
    from umap.utils import fast_knn_indices  # UMAP's own search of a precomputed matrix
    distances = cosine_distances(np.random.default_rng(0).normal(size=(300, 8)))   # no equal distances
    index, near = nearest(distances, 15)
    assert np.array_equal(index, fast_knn_indices(distances, 15))
    assert np.array_equal(near, np.take_along_axis(distances, index, axis=1))
    assert (index[:, 0] == np.arange(300)).all() and (np.diff(near, axis=1) >= 0).all()


def test_the_description_map_is_reproducible_and_covers_its_sample() -> None:
    from pipeline.config import ReportConfig
    rng = np.random.default_rng(1)
    vectors, ratings = rng.normal(size=(120, 16)), rng.uniform(0, 5, 120)
    texts = [f"story {i % 7} of {['sea', 'war', 'love'][i % 3]}" for i in range(120)]
    cfg = ReportConfig(shap_rows=10, umap_rows=80, umap_neighbors=15, umap_min_dist=0.1, umap_clusters=4,
                       top_features=10, driver_rows=100, tuning_plot_trials=10)
    one, two = (umap_map(vectors, ratings, np.arange(120), texts, cfg, seed=3) for _ in range(2))
    pd.testing.assert_frame_equal(one, two)
    assert len(one) == 80 and one["movie_id"].is_unique and one["cluster"].nunique() == 4
    assert np.isfinite(one[["x", "y"]].to_numpy()).all()
