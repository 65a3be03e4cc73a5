"""Text vectors computed when the folder has no *_embeddings.npy: tf-idf + SVD, sentence-transformers."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.config import project_config
from pipeline.data.load import load_folder
from pipeline.features.embeddings import identify_encoder, sentence_vectors
from pipeline.features.frame import apply_sources, fit_sources
from pipeline.model.heads import skops_dump, skops_load
from tests.conftest import CASE_DIR


def test_tfidf_svd_fitted_on_training_texts_and_reapplied(demo_copy: Path, tmp_path: Path) -> None:
    for name in ("tagline_embeddings.npy", "description_embeddings.npy"):
        (demo_copy / name).unlink()
    cfg = project_config({"data": {"tfidf_dim": 12}})
    data = load_folder(demo_copy, cfg.data, require_rating=True)
    fit_ids = data.movies.index.to_numpy()[:400]
    vectors, spec = fit_sources(data, cfg, fit_ids, tmp_path)
    assert spec.origin == {"tagline": "tfidf-svd", "description": "tfidf-svd", "poster": "npy"}
    assert vectors["description"].shape == (len(data.movies), 12) and spec.modalities["text"] == "used"
    # training texts only: refitting on other rows gives other vectors
    _, other = fit_sources(data, cfg, data.movies.index.to_numpy()[200:], tmp_path)
    assert not np.allclose(spec.vectorizers["description"].transform(data.movies["description"]),
                           other.vectorizers["description"].transform(data.movies["description"]))
    # what predict does: the saved vectoriser (through skops) reproduces the training vectors
    skops_dump(spec.vectorizers["description"].pipeline_, tmp_path / "v.skops")
    spec.vectorizers["description"].pipeline_ = skops_load(tmp_path / "v.skops")
    again = apply_sources(data, spec, cfg, tmp_path)
    np.testing.assert_allclose(again["description"], vectors["description"], atol=1e-6)


@pytest.mark.skipif(not (CASE_DIR / "movies.csv").is_file(), reason=f"the case data is not at {CASE_DIR}")
def test_sentence_transformers_reproduces_the_case_vectors(tmp_path: Path) -> None:
    movies = pd.read_csv(CASE_DIR / "movies.csv", nrows=16)
    given = np.load(CASE_DIR / "tagline_embeddings.npy", mmap_mode="r")[:16]
    computed = sentence_vectors(movies["tagline"], None, tmp_path)
    cosine = np.sum(computed * given, axis=1)
    assert cosine.min() > 0.99, cosine                       # the case's vectors are all-MiniLM-L6-v2
    assert len(list(tmp_path.glob("text-vectors/*/*.keys.npy"))) == 1       # one shard, by each text's hash
    np.testing.assert_array_equal(sentence_vectors(movies["tagline"], None, tmp_path), computed)


class CountingEncoder:
    """Stands in for the sentence encoder: a vector from each text's length and first letter; counts texts."""

    def __init__(self) -> None:
        self.encoded: list[str] = []

    def encode(self, texts: list[str], **_: object) -> np.ndarray:
        self.encoded += texts
        return np.array([[len(t), ord(t[0]) if t else 0, 1.0] for t in texts], np.float32)


def test_the_text_store_encodes_only_texts_it_has_not_seen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    from pipeline.features import embeddings
    caplog.set_level("INFO", logger="pipeline.features.embeddings")
    encoder = CountingEncoder()
    monkeypatch.setattr(embeddings, "_sentence_encoder", lambda path: encoder)
    monkeypatch.setattr(embeddings, "text_model_path", lambda model: "an encoder")
    monkeypatch.setattr(embeddings, "ENCODE_CHUNK_CHARS", 40)           # several shards, as a catalogue writes
    first = pd.Series([f"a tagline number {i}" for i in range(12)] + ["a tagline number 3", None])
    vectors = sentence_vectors(first, None, tmp_path)
    assert len(encoder.encoded) == 13 and vectors.shape == (14, 3)     # the repeat and the blank paid once
    first_shards = sorted(tmp_path.glob("text-vectors/*/*.keys.npy"))
    assert len(first_shards) > 1
    progress = [r.getMessage() for r in caplog.records if r.getMessage().startswith("text vectors:")]
    assert len(progress) > 1 and progress[-1].startswith("text vectors: 13 of 13 texts") and "s left" in progress[0]
    np.testing.assert_array_equal(vectors[3], vectors[12])
    encoder.encoded.clear()
    again = pd.Series(["brand new text", *first.iloc[::-1]])                  # a rerun with one new film
    np.testing.assert_array_equal(sentence_vectors(again, None, tmp_path)[1:], vectors[::-1])
    assert encoder.encoded == ["brand new text"]
    # a shard cut off before its keys were written is never read: its texts are encoded again
    first_shards[0].unlink()
    encoder.encoded.clear()
    np.testing.assert_array_equal(sentence_vectors(first, None, tmp_path), vectors)
    assert 0 < len(encoder.encoded) < 13


@pytest.mark.skipif(not (CASE_DIR / "movies.csv").is_file(), reason=f"the case data is not at {CASE_DIR}")
def test_the_case_vectors_are_identified_and_others_are_not() -> None:
    cfg = project_config().data
    movies = pd.read_csv(CASE_DIR / "movies.csv", nrows=400, dtype=str, keep_default_na=False)
    given = np.load(CASE_DIR / "description_embeddings.npy", mmap_mode="r")[:400]
    found = identify_encoder(movies["description"], given, cfg)
    assert found is not None and found["encoder"] == "all-MiniLM-L6-v2" and found["dim"] == 384
    assert found["normalize"] and found["min_cosine"] > cfg.encoder_match_cosine
    noisy = given + 0.05 * np.random.default_rng(0).standard_normal(given.shape)
    assert identify_encoder(movies["description"], noisy / np.linalg.norm(noisy, axis=1, keepdims=True), cfg) is None
    shuffled = np.asarray(given)[np.random.default_rng(1).permutation(400)]    # right encoder, wrong rows
    assert identify_encoder(movies["description"], shuffled, cfg) is None
