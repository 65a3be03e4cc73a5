"""CLIP image embeddings of movie posters, read straight from the case's posters.zip.

The archive is untrusted input, so it is never extracted: members are read into
memory one batch at a time, only flat names `{movie_id}.jpg|.jpeg|.png` are
accepted, and entry count, declared total size and each member's real size are
capped before anything large is allocated (zip bombs). A poster that cannot be
decoded costs one NaN row, not the run.

torch and transformers are an optional extra (requirements-image.txt), so they
are imported inside `embed_posters` and this module imports without them.
"""
from __future__ import annotations

import io
import logging
import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.errors import InputError

log = logging.getLogger(__name__)

# Flat "{movie_id}.{ext}" only: no directories, no "..", no drive letters, no
# backslashes. ASCII digits (\d would accept other scripts), at most 18 so the
# id fits an int64.
_NAME_RE = re.compile(r"([0-9]{1,18})\.(jpe?g|png)", re.IGNORECASE)
# Decoders PIL may use on untrusted bytes: the formats posters come in, nothing else.
_IMAGE_FORMATS = ("JPEG", "PNG")
_INSTALL_HINT = "pip install -r requirements-image.txt"


@dataclass(frozen=True)
class PosterLog:
    """What happened to the posters, for the cleaning log (counts of unique movie_ids/entries)."""
    embedded: int          # posters embedded
    missing: int           # requested movie_ids with no entry in the zip
    unreadable: int        # entries that are not decodable images (skipped)
    rejected: int          # entries rejected for safety (path escaping, names that are not {int}.jpg/.jpeg/.png)


class PosterArchiveError(InputError):
    """The poster archive itself is unusable or hostile (not a zip, too many entries, zip bomb).

    An InputError (hence a ValueError) so the CLI reports it as bad input naming the file.
    """

    def __init__(self, zip_path: Path | str, reason: str):
        super().__init__(str(zip_path), reason)


def _require_image_stack() -> tuple[Any, Any]:
    """Import torch and transformers late: they are heavy and optional."""
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise ImportError(
            f"poster embeddings need torch and transformers, which are not installed ({exc}); "
            f"run `{_INSTALL_HINT}`") from exc
    return torch, transformers


def _scan_archive(zf: zipfile.ZipFile, zip_path: Path, wanted: set[int], *, max_entries: int,
                  max_total_bytes: int) -> tuple[dict[int, zipfile.ZipInfo], int]:
    """Check the archive-wide limits, then map requested movie_id -> member; count rejected names.

    Limits are checked on the central directory before any member is decompressed.
    """
    infos = zf.infolist()
    if len(infos) > max_entries:
        raise PosterArchiveError(zip_path, f"{len(infos)} entries exceed the limit of {max_entries}")
    declared = sum(info.file_size for info in infos)
    if declared > max_total_bytes:
        raise PosterArchiveError(
            zip_path, f"declared uncompressed size {declared} bytes exceeds the limit of "
                      f"{max_total_bytes} bytes (possible zip bomb)")
    members: dict[int, zipfile.ZipInfo] = {}
    rejected = 0
    for info in infos:
        match = None if info.is_dir() else _NAME_RE.fullmatch(info.filename)
        if match is None:
            rejected += 1
            log.debug("%s: rejected entry %r (not a flat {movie_id}.jpg/.jpeg/.png name)",
                      zip_path, info.filename)
            continue
        movie_id = int(match.group(1))
        if movie_id not in wanted:
            continue
        if movie_id in members:
            # "7.jpg" and "007.png" name the same movie: keep the first, deterministically.
            log.warning("%s: duplicate poster for movie_id %d (%r), keeping %r",
                        zip_path, movie_id, info.filename, members[movie_id].filename)
            continue
        members[movie_id] = info
    if rejected:
        log.warning("%s: rejected %d entries with unsafe or unexpected names", zip_path, rejected)
    return members, rejected


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, zip_path: Path) -> bytes:
    """Read one member into memory, never more than its declared size.

    zipfile already stops at the declared size (the CRC check then fails), but the
    cap here does not rely on that: one byte more than declared is a hostile archive.
    """
    with zf.open(info) as fh:
        data = fh.read(info.file_size + 1)
    if len(data) > info.file_size:
        raise PosterArchiveError(
            zip_path, f"entry {info.filename!r} decompresses to more than its declared "
                      f"{info.file_size} bytes (possible zip bomb)")
    return data


def _decode(data: bytes) -> Any:
    """Decode JPEG/PNG bytes to an RGB PIL image (CLIP expects 3 channels)."""
    from PIL import Image

    with Image.open(io.BytesIO(data), formats=_IMAGE_FORMATS) as img:
        img.load()
        return img.convert("RGB")


def _load_clip(checkpoint: str | Path, transformers: Any) -> tuple[Any, Any, int]:
    """Load model + image processor from local files only; returns (model, processor, dim).

    A full CLIP checkpoint is loaded as CLIPModel: loading it as
    CLIPVisionModelWithProjection would re-initialise the projection when the
    vision sub-config's projection_dim differs from the top-level one.
    """
    config = transformers.AutoConfig.from_pretrained(checkpoint, local_files_only=True)
    if config.model_type == "clip":
        model = transformers.CLIPModel.from_pretrained(checkpoint, local_files_only=True)
    elif config.model_type == "clip_vision_model":
        model = transformers.CLIPVisionModelWithProjection.from_pretrained(checkpoint, local_files_only=True)
    else:
        raise ValueError(f"{checkpoint}: not a CLIP checkpoint (model_type {config.model_type!r})")
    # The PIL backend needs no torchvision and is the preprocessing CLIP was trained with.
    processor = transformers.AutoImageProcessor.from_pretrained(
        checkpoint, local_files_only=True, backend="pil")
    model.to("cpu").eval()
    return model, processor, int(config.projection_dim)


def _image_features(model: Any, pixel_values: Any, torch: Any) -> Any:
    """Projected image embeddings, across transformers versions (v5 returns an output object)."""
    if hasattr(model, "get_image_features"):
        out = model.get_image_features(pixel_values=pixel_values)
        return out if isinstance(out, torch.Tensor) else out.pooler_output
    return model(pixel_values=pixel_values).image_embeds


def _batches(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def embed_posters(zip_path: Path, movie_ids: Sequence[int], checkpoint: str | Path, *,
                  batch_size: int = 32, max_entries: int = 200_000,
                  max_total_bytes: int = 4 * 1024**3) -> tuple[np.ndarray, PosterLog]:
    """float32 (len(movie_ids), d) aligned to movie_ids; rows with no usable poster are NaN.

    Rows are L2-normalised, as CLIP embeddings are compared by cosine. Only the
    requested movies' members are decoded, so `unreadable` counts requested
    posters; `rejected` counts every unsafe name in the archive. Repeated
    movie_ids get the same row and are counted once. Inference runs on CPU in
    eval mode under inference_mode, so the same inputs give the same array.
    Raises PosterArchiveError for an unusable or hostile archive, ImportError
    when the optional image extra is not installed.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    torch, transformers = _require_image_stack()
    zip_path = Path(zip_path)
    ids = [int(m) for m in movie_ids]
    wanted = set(ids)

    try:
        zf = zipfile.ZipFile(zip_path)
    except zipfile.BadZipFile as exc:
        raise PosterArchiveError(zip_path, f"not a readable zip archive ({exc})") from exc
    with zf:
        members, rejected = _scan_archive(zf, zip_path, wanted, max_entries=max_entries,
                                          max_total_bytes=max_total_bytes)
        model, processor, dim = _load_clip(checkpoint, transformers)
        found = sorted(members)   # fixed order: batches, hence results, do not depend on set order
        missing = len(wanted) - len(found)
        vectors: dict[int, np.ndarray] = {}
        unreadable = 0
        for batch in _batches(found, batch_size):
            images, batch_ids = [], []
            for movie_id in batch:
                info = members[movie_id]
                try:
                    images.append(_decode(_read_member(zf, info, zip_path)))
                    batch_ids.append(movie_id)
                except PosterArchiveError:
                    raise
                # Untrusted bytes can fail in many ways (bad CRC, truncated JPEG,
                # non-image, decompression-bomb pixels, encrypted member): skip them all.
                except Exception as exc:  # noqa: BLE001
                    unreadable += 1
                    log.warning("%s: skipping unreadable poster %r (%s: %s)",
                                zip_path, info.filename, type(exc).__name__, exc)
            if not images:
                continue
            pixels = processor(images=images, return_tensors="pt")["pixel_values"]
            with torch.inference_mode():
                feats = _image_features(model, pixels.to(torch.float32), torch).to(torch.float32)
                feats = feats / feats.norm(dim=-1, keepdim=True).clamp_min(1e-12)
            for movie_id, row in zip(batch_ids, feats.numpy()):
                vectors[movie_id] = row

    out = np.full((len(ids), dim), np.nan, dtype=np.float32)
    for row, movie_id in enumerate(ids):
        if movie_id in vectors:
            out[row] = vectors[movie_id]
    result = PosterLog(embedded=len(vectors), missing=missing, unreadable=unreadable, rejected=rejected)
    log.info("%s: posters embedded=%d missing=%d unreadable=%d rejected=%d (dim %d)",
             zip_path, result.embedded, result.missing, result.unreadable, result.rejected, dim)
    return out, result
