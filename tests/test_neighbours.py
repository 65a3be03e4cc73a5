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


@pytest.mark.parametrize("n_components", [None, 3])
def test_save_load_round_trip(tmp_path: Path, n_components: int | None) -> None:
    blocks, y = _toy()
    enc = NeighbourEncoder(KS, n_components=n_components).fit(blocks, y)
    enc.save(tmp_path / "nn.npz")
    loaded = NeighbourEncoder.load(tmp_path / "nn.npz")
    query = {"text": _toy(seed=1)[0]["text"]}
    assert loaded.ks == KS
    np.testing.assert_array_equal(enc.transform(query).to_numpy(), loaded.transform(query).to_numpy())
