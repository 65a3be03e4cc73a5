"""The nearest-neighbour rating encoder against a hand-written loop, and its leak-freedom."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline.features.neighbours import NeighbourEncoder

KS = (1, 3, 7)


def _toy(seed: int = 0, n: int = 60, dim: int = 5) -> tuple[dict[str, np.ndarray], np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"text": rng.normal(size=(n, dim))}, rng.normal(3.0, 0.5, n)


def _naive(fit: np.ndarray, y: np.ndarray, query: np.ndarray, k: int) -> np.ndarray:
    """One query at a time, cosine by hand: slow, obviously right."""
    out = []
    for q in query:
        sims = np.array([q @ f / np.linalg.norm(q) / np.linalg.norm(f) for f in fit])
        top = np.argsort(-sims, kind="stable")[:k]
        w = np.clip(sims[top], 1e-6, None)
        out.append(np.dot(w, y[top]) / w.sum())
    return np.array(out)


def test_transform_equals_naive_loop() -> None:
    blocks, y = _toy()
    enc = NeighbourEncoder(KS).fit({"text": blocks["text"][:40]}, y[:40])
    got = enc.transform({"text": blocks["text"][40:]})
    for k in KS:
        np.testing.assert_allclose(got[f"text_knn{k}"], _naive(blocks["text"][:40], y[:40], blocks["text"][40:], k),
                                   rtol=1e-5)


def test_cross_fitted_row_never_sees_its_own_rating() -> None:
    """Changing one training rating leaves that row's own features unchanged (but moves its neighbours')."""
    blocks, y = _toy()
    before = NeighbourEncoder(KS, inner_folds=4, random_state=3, n_components=3).fit_transform(blocks, y)
    y2 = y.copy()
    y2[11] += 100.0
    after = NeighbourEncoder(KS, inner_folds=4, random_state=3, n_components=3).fit_transform(blocks, y2)
    np.testing.assert_array_equal(before.iloc[11].to_numpy(), after.iloc[11].to_numpy())
    assert not np.allclose(before.drop(index=11).to_numpy(), after.drop(index=11).to_numpy())


def test_projected_search_equals_naive_loop_in_the_pca_space() -> None:
    """With n_components, similarity is cosine between the PCA scores of the fitted rows' vectors."""
    from sklearn.decomposition import PCA
    blocks, y = _toy(dim=8)
    enc = NeighbourEncoder(KS, n_components=3).fit({"text": blocks["text"][:40]}, y[:40])
    pca = PCA(3, random_state=0).fit(blocks["text"][:40])
    got = enc.transform({"text": blocks["text"][40:]})
    for k in KS:
        want = _naive(pca.transform(blocks["text"][:40]), y[:40], pca.transform(blocks["text"][40:]), k)
        np.testing.assert_allclose(got[f"text_knn{k}"], want, rtol=1e-4)


@pytest.mark.parametrize("n_components, exact_max", [(None, None), (3, 20)])
def test_save_load_round_trip(tmp_path: Path, n_components: int | None, exact_max: int | None) -> None:
    blocks, y = _toy()
    enc = NeighbourEncoder(KS, n_components=n_components, exact_max=exact_max, nprobe=2).fit(blocks, y)
    enc.save(tmp_path / "nn.npz")
    loaded = NeighbourEncoder.load(tmp_path / "nn.npz", nprobe=2)
    query = {"text": _toy(seed=1)[0]["text"]}
    assert loaded.ks == KS
    np.testing.assert_array_equal(enc.transform(query).to_numpy(), loaded.transform(query).to_numpy())


def test_inverted_lists_find_most_true_neighbours_and_stay_leak_free() -> None:
    """Above exact_max, the bucketed search recovers nearly all exact neighbours of clustered vectors, its
    centroids survive a save/load, and a row's cross-fitted features still ignore its own rating."""
    rng = np.random.default_rng(4)
    centres = rng.normal(size=(12, 16))
    vectors = centres[rng.integers(0, 12, 3000)] + 0.3 * rng.normal(size=(3000, 16))
    y = rng.normal(3.0, 0.5, 3000)
    exact = NeighbourEncoder(KS).fit({"text": vectors[:2500]}, y[:2500])
    bucketed = NeighbourEncoder(KS, exact_max=1000, nprobe=16).fit({"text": vectors[:2500]}, y[:2500])
    assert exact.centroids_["text"] is None and len(bucketed.centroids_["text"]) == 200    # 4 * sqrt(2500)
    want, got = (e.transform({"text": vectors[2500:]}) for e in (exact, bucketed))
    assert np.mean(np.isclose(want["text_knn7"], got["text_knn7"])) > 0.95      # 16 of 200 lists scanned
    assert np.abs(want["text_knn7"] - got["text_knn7"]).mean() < 0.005
    before = NeighbourEncoder(KS, inner_folds=3, exact_max=1000, nprobe=8).fit_transform({"text": vectors}, y)
    y2 = y.copy()
    y2[5] += 100.0
    after = NeighbourEncoder(KS, inner_folds=3, exact_max=1000, nprobe=8).fit_transform({"text": vectors}, y2)
    np.testing.assert_array_equal(before.iloc[5].to_numpy(), after.iloc[5].to_numpy())
