"""Atomic file writes: a reader never sees a half-written artifact."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yields a temporary path beside `path`; renamed onto it only if the block succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _default(obj: Any) -> Any:
    if isinstance(obj, (np.integer, np.floating)):
        return obj.item()
    if isinstance(obj, (np.ndarray, tuple)):
        return list(obj)
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def write_json(path: Path, obj: Any) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, default=_default) + "\n", encoding="utf-8")


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def write_table(path: Path, df: pd.DataFrame) -> None:
    """CSV or Parquet by suffix."""
    with atomic_path(path) as tmp:
        if path.suffix == ".parquet":
            df.to_parquet(tmp, index=False)
        else:
            df.to_csv(tmp, index=False)


def write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@contextmanager
def atomic_dir(path: Path) -> Iterator[Path]:
    """Build a folder under a temporary name; swap it into place only when complete."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        yield tmp
        old = path.with_name(f".{path.name}.old")
        if path.exists():
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
        os.replace(tmp, path)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def save_tables(path: Path, scalars: dict[str, float], tables: dict[str, pd.DataFrame]) -> None:
    """Scalars and named tables in one .npz of plain arrays (`<table>__<column>`): no pickle needed. Text
    columns are one UTF-8 buffer and their end offsets (`<table>__<column>__utf8`, `...__ends`): fixed-width
    unicode arrays cost four bytes per character of the longest value, per row."""
    arrays = {f"_{key}": np.array([value]) for key, value in scalars.items()}
    for name, table in tables.items():
        for col in table.columns:
            values = table[col].to_numpy()
            if values.dtype == object:
                encoded = [str(v).encode("utf-8") for v in values]
                arrays[f"{name}__{col}__utf8"] = np.frombuffer(b"".join(encoded), dtype=np.uint8)
                arrays[f"{name}__{col}__ends"] = np.cumsum([len(b) for b in encoded], dtype=np.int64)
            else:
                arrays[f"{name}__{col}"] = values
    np.savez(path, **arrays)


def load_tables(path: Path) -> tuple[dict[str, float], dict[str, pd.DataFrame]]:
    columns: dict[str, dict[str, np.ndarray]] = {}
    with np.load(path, allow_pickle=False) as z:
        scalars = {key[1:]: float(z[key][0]) for key in z.files if key.startswith("_")}
        for key in z.files:
            if key.startswith("_") or key.endswith("__ends"):
                continue
            name, col = key.split("__", 1)
            if col.endswith("__utf8"):
                col = col[:-len("__utf8")]
                buffer, ends = z[key].tobytes(), z[f"{name}__{col}__ends"]
                starts = np.concatenate([[0], ends[:-1]])
                values = np.array([buffer[a:b].decode("utf-8") for a, b in zip(starts, ends)], dtype=object)
            else:
                values = z[key]
            columns.setdefault(name, {})[col] = values
    return scalars, {name: pd.DataFrame(cols) for name, cols in columns.items()}
