"""embed_posters against a tiny random CLIP saved to disk, and hostile zips."""
from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

torch = pytest.importorskip("torch", reason="poster embeddings need the optional image extra (torch)")
transformers = pytest.importorskip("transformers",
                                   reason="poster embeddings need the optional image extra (transformers)")

from pipeline.features.posters import PosterArchiveError, PosterLog, embed_posters  # noqa: E402

PROJECTION_DIM = 16
PRESENT = (1, 2, 3)          # real images (3 is a grayscale PNG)
REQUESTED = [1, 2, 3, 4, 5, 6]   # 4: no entry, 5: text bytes, 6: only under a subfolder
REJECTED = 5                    # ../evil.jpg, nested/, nested/6.jpg, /abs.jpg, ..\\7.jpg


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised tiny CLIP saved like a real checkpoint folder."""
    torch.manual_seed(0)
    small = dict(hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=2)
    config = transformers.CLIPConfig(
        text_config=dict(small, vocab_size=99, max_position_embeddings=16,
                         pad_token_id=1, bos_token_id=0, eos_token_id=2),
        vision_config=dict(small, image_size=32, patch_size=8),
        projection_dim=PROJECTION_DIM)
    path = tmp_path_factory.mktemp("clip")
    transformers.CLIPModel(config).eval().save_pretrained(path)
    from transformers import CLIPImageProcessorPil
    CLIPImageProcessorPil(size={"shortest_edge": 32},
                          crop_size={"height": 32, "width": 32}).save_pretrained(path)
    return path


def _image_bytes(seed: int, fmt: str = "JPEG", mode: str = "RGB", size: tuple[int, int] = (48, 40)) -> bytes:
    rng = np.random.default_rng(seed)
    shape = (size[1], size[0], 3) if mode == "RGB" else (size[1], size[0])
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode).save(buf, fmt)
    return buf.getvalue()


@pytest.fixture
def posters_zip(tmp_path: Path) -> Path:
    path = tmp_path / "posters" / "posters.zip"
    path.parent.mkdir()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("1.jpg", _image_bytes(1))
        zf.writestr("2.jpg", _image_bytes(2, size=(30, 60)))
        zf.writestr("3.png", _image_bytes(3, "PNG", "L"))
        zf.writestr("5.jpg", b"this is not an image at all\n")
        zf.writestr("../evil.jpg", _image_bytes(7))
        zf.mkdir("nested")                                # a directory entry
        zf.writestr("nested/6.jpg", _image_bytes(6))
        zf.writestr("/abs.jpg", _image_bytes(8))          # absolute path
        zf.writestr("..\\7.jpg", _image_bytes(9))         # Windows-style traversal
        zf.writestr("99.jpg", _image_bytes(99))      # valid but not requested: never decoded
    return path


def _snapshot(root: Path) -> set[Path]:
    return set(root.rglob("*"))


def test_embeddings_shape_norm_nan_and_counts(posters_zip: Path, checkpoint: Path) -> None:
    emb, log = embed_posters(posters_zip, REQUESTED, checkpoint, batch_size=2)
    assert emb.shape == (len(REQUESTED), PROJECTION_DIM)
    assert emb.dtype == np.float32
    present = [REQUESTED.index(m) for m in PRESENT]
    absent = [i for i in range(len(REQUESTED)) if i not in present]
    assert np.isfinite(emb[present]).all()
    np.testing.assert_allclose(np.linalg.norm(emb[present], axis=1), 1.0, atol=1e-5)
    assert np.isnan(emb[absent]).all()
    assert log == PosterLog(embedded=3, missing=2, unreadable=1, rejected=REJECTED)


def test_deterministic_distinct_and_aligned(posters_zip: Path, checkpoint: Path) -> None:
    first, _ = embed_posters(posters_zip, REQUESTED, checkpoint)
    second, _ = embed_posters(posters_zip, REQUESTED, checkpoint)
    np.testing.assert_array_equal(first, second)
    assert not np.allclose(first[0], first[1])          # different posters, different vectors
    # Reordered and repeated ids: rows follow movie_ids, repeats share a row and count once.
    again, log = embed_posters(posters_zip, [2, 4, 1, 2], checkpoint)
    np.testing.assert_allclose(again[[0, 2, 3]], first[[1, 0, 1]], atol=1e-6)
    assert np.isnan(again[1]).all()
    assert log == PosterLog(embedded=2, missing=1, unreadable=0, rejected=REJECTED)


def test_no_ids_gives_empty_matrix(posters_zip: Path, checkpoint: Path) -> None:
    emb, log = embed_posters(posters_zip, [], checkpoint)
    assert emb.shape == (0, PROJECTION_DIM) and emb.dtype == np.float32
    assert log == PosterLog(embedded=0, missing=0, unreadable=0, rejected=REJECTED)


def test_never_extracts_or_writes(posters_zip: Path, checkpoint: Path, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    def no_extract(*args: object, **kwargs: object) -> None:
        raise AssertionError("posters must never be extracted to disk")

    monkeypatch.setattr(zipfile.ZipFile, "extract", no_extract)
    monkeypatch.setattr(zipfile.ZipFile, "extractall", no_extract)
    monkeypatch.chdir(tmp_path)
    before_tmp, before_parent = _snapshot(tmp_path), set(tmp_path.parent.iterdir())
    embed_posters(posters_zip, REQUESTED, checkpoint)
    assert _snapshot(tmp_path) == before_tmp
    assert set(tmp_path.parent.iterdir()) == before_parent
    assert not list(tmp_path.parent.rglob("evil.jpg"))


def test_entry_count_limit(posters_zip: Path, checkpoint: Path) -> None:
    with pytest.raises(PosterArchiveError, match=r"posters\.zip.*10 entries exceed the limit of 9"):
        embed_posters(posters_zip, REQUESTED, checkpoint, max_entries=9)


def test_declared_size_limit(posters_zip: Path, checkpoint: Path) -> None:
    with pytest.raises(PosterArchiveError, match=r"posters\.zip.*zip bomb") as info:
        embed_posters(posters_zip, REQUESTED, checkpoint, max_total_bytes=1000)
    assert isinstance(info.value, ValueError)


def test_member_larger_than_declared_is_capped(tmp_path: Path, checkpoint: Path) -> None:
    """A header that understates a member's size must not make us read past it."""
    path = tmp_path / "lying.zip"
    real = _image_bytes(1)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("1.jpg", real)
        zf.writestr("2.jpg", _image_bytes(2))
    raw = bytearray(path.read_bytes())
    central = raw.index(b"PK\x01\x02")               # first central-directory record: 1.jpg
    declared = 100
    struct.pack_into("<I", raw, central + 24, declared)   # uncompressed size
    path.write_bytes(bytes(raw))
    with zipfile.ZipFile(path) as zf:
        assert zf.getinfo("1.jpg").file_size == declared < len(real)

    emb, log = embed_posters(path, [1, 2], checkpoint)
    assert np.isnan(emb[0]).all() and np.isfinite(emb[1]).all()
    assert log == PosterLog(embedded=1, missing=0, unreadable=1, rejected=0)


def test_member_overrunning_its_cap_is_fatal(posters_zip: Path, checkpoint: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Our own read cap, not only zipfile's truncation, stops a member that outgrows its header."""
    def open_unbounded(self: zipfile.ZipFile, name: object, *args: object, **kwargs: object) -> io.BytesIO:
        return io.BytesIO(b"\xff" * (1 << 20))       # a reader that ignores the declared size

    monkeypatch.setattr(zipfile.ZipFile, "open", open_unbounded)
    with pytest.raises(PosterArchiveError, match=r"posters\.zip.*more than its declared"):
        embed_posters(posters_zip, [1], checkpoint)


def test_not_a_zip(tmp_path: Path, checkpoint: Path) -> None:
    path = tmp_path / "posters.zip"
    path.write_bytes(b"plain text")
    with pytest.raises(PosterArchiveError, match="posters.zip: not a readable zip"):
        embed_posters(path, [1], checkpoint)
