"""The image modality's encoder path inside the pipeline: posters.zip + a local CLIP checkpoint."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("torch", reason="the image encoder path needs the optional image extra (torch)")
transformers = pytest.importorskip("transformers", reason="the image encoder path needs transformers")

from pipeline.config import project_config  # noqa: E402
from pipeline.data.load import load_folder  # noqa: E402
from pipeline.features.frame import fit_sources  # noqa: E402
from tests.test_posters import checkpoint  # noqa: E402,F401  (the tiny random CLIP fixture)


def _posters(folder: Path, ids: np.ndarray) -> None:
    (folder / "posters").mkdir()
    rng = np.random.default_rng(0)
    with zipfile.ZipFile(folder / "posters" / "posters.zip", "w") as zf:
        for movie_id in ids:
            buf = io.BytesIO()
            Image.fromarray(rng.integers(0, 256, (40, 32, 3), dtype=np.uint8)).save(buf, "JPEG")
            zf.writestr(f"{movie_id}.jpg", buf.getvalue())


def test_posters_are_embedded_when_a_checkpoint_is_configured(demo_copy: Path, checkpoint: Path,  # noqa: F811
                                                              tmp_path: Path) -> None:
    (demo_copy / "poster_embeddings.npy").unlink()
    cfg = project_config({"data": {"image_checkpoint": str(checkpoint)}})
    data = load_folder(demo_copy, cfg.data, require_rating=True)
    _posters(demo_copy, data.movies.index.to_numpy()[:-5])        # five movies have no poster
    vectors, spec = fit_sources(data, cfg, data.movies.index.to_numpy(), tmp_path)
    assert spec.modalities["image"] == "used" and spec.origin["poster"] == "clip"
    assert vectors["poster"].shape == (len(data.movies), 16)
    assert np.all(vectors["poster"][-5:] == 0.0) and np.isfinite(vectors["poster"]).all()


def test_image_skipped_with_reason_without_checkpoint(demo_copy: Path, tmp_path: Path) -> None:
    (demo_copy / "poster_embeddings.npy").unlink()
    cfg = project_config()
    data = load_folder(demo_copy, cfg.data, require_rating=True)
    _, spec = fit_sources(data, cfg, data.movies.index.to_numpy(), tmp_path)
    assert spec.modalities["image"].startswith("skipped: no poster vectors (poster_embeddings.npy)")


def test_degenerate_embeddings_are_dropped_with_a_reason(demo_copy: Path, tmp_path: Path) -> None:
    """Texts embedded through a prompt bug: every row the same vector."""
    emb = np.load(demo_copy / "poster_embeddings.npy")
    np.save(demo_copy / "poster_embeddings.npy", np.tile(emb[:1], (len(emb), 1)) + 1e-7)
    cfg = project_config()
    data = load_folder(demo_copy, cfg.data, require_rating=True)
    _, spec = fit_sources(data, cfg, data.movies.index.to_numpy(), tmp_path)
    assert spec.modalities["image"].startswith("skipped: poster_embeddings.npy failed the health check")
    assert spec.modalities["text"] == "used"
