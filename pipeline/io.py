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

from pipeline.errors import InputError, first_line
from pipeline.escape import csv_safe


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


UMASK = _umask()      # temporary files are private (0600, 0700); what is published gets the usual modes


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yields a temporary path beside `path`; renamed onto it only if the block succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~UMASK)
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


@contextmanager
def reading(path: Path) -> Iterator[None]:
    """A file that cannot be parsed is bad input: one line naming it (exit 2), never a traceback."""
    try:
        yield
    except InputError:
        raise
    except Exception as exc:      # whatever the parser raised: the file is not what it should be
        raise InputError(str(path), f"cannot be read ({first_line(exc)})") from None


def read_json(path: Path) -> Any:
    with reading(path):
        return json.loads(path.read_text(encoding="utf-8"))


def load_arrays(path: Path) -> dict[str, np.ndarray]:
    """Every array of an .npz (or the one of an .npy, under ""), never unpickling an object array."""
    with reading(path):
        if path.suffix == ".npy":
            return {"": np.load(path, allow_pickle=False)}
        with np.load(path, allow_pickle=False) as z:
            return {key: z[key] for key in z.files}


def write_table(path: Path, df: pd.DataFrame) -> None:
    """CSV or Parquet by suffix. A CSV is opened in spreadsheets: a text cell that would run as a formula is
    neutralised (`pipeline.escape.csv_safe`)."""
    with atomic_path(path) as tmp:
        if path.suffix == ".parquet":
            df.to_parquet(tmp, index=False)
        else:
            csv_safe(df).to_csv(tmp, index=False)


def output_file(path: Path, flag: str, example: str) -> Path:
    """A file a command is asked to write (`--out`), refused in one line before any work when it names a
    folder, its folder does not exist, or nothing can be written there (tried, not guessed from permissions)."""
    where = f"{flag} {path}"
    if path.is_dir():
        raise InputError(where, f"is a folder; name a file in it, e.g. {path / example}")
    if path.exists() and not path.is_file():    # /dev/null, a pipe: the atomic rename would replace it
        raise InputError(where, "is not a regular file; name a file to write")
    if not path.parent.is_dir():
        state = "is a file, not a folder" if path.parent.exists() else "does not exist; create it first"
        raise InputError(where, f"its folder {path.parent} {state}")
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=path.parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise InputError(where, f"cannot write in {path.parent} ({exc.strerror or type(exc).__name__})") from None
    return path


def write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _digest(obj: Any) -> str:
    if isinstance(obj, np.ndarray):          # whole arrays by content (str() would elide the middle)
        return f"{obj.dtype}{obj.shape}:" + hashlib.sha256(np.ascontiguousarray(obj).tobytes()).hexdigest()
    if isinstance(obj, np.generic):
        return repr(obj.item())
    return str(obj)


def fingerprint(*parts: Any) -> str:
    """The project's one digest of what a piece of work depended on (arrays by content, other objects by
    their JSON or str): keys the run's checkpoints, tuning studies and each fitted feature block."""
    text = json.dumps(parts, sort_keys=True, default=_digest)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


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
    os.chmod(tmp, 0o777 & ~UMASK)
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


class Transaction:
    """A run's outputs, published together: written under `<out>/artifacts/.staging/` at the relative paths
    they will have in `<out>`, then moved into place by `commit`. A run killed before its commit leaves the
    previous run's outputs as they were; a commit cut short is finished by `recover` (its journal lists the
    moves), so a reader meets one run's outputs or the other's, never a mix, once the next run starts."""

    def __init__(self, out: Path):
        self.out, self.stage = out, out / "artifacts" / ".staging"
        self.journal = self.stage / "COMMIT"

    def path(self, final: Path) -> Path:
        """Where the output that will live at `final` (inside the out-dir) is written meanwhile."""
        return self.stage / final.relative_to(self.out)

    def commit(self, finals: list[Path]) -> None:
        staged = [str(p.relative_to(self.out)) for p in finals if self.path(p).exists()]
        write_text(self.journal, "\n".join(staged))
        self.recover()

    def recover(self) -> None:
        """Finish a commit that was cut short (a no-op without a journal)."""
        if not self.journal.is_file():
            return
        for rel in filter(None, self.journal.read_text(encoding="utf-8").splitlines()):
            source, target = self.stage / rel, self.out / rel
            old = target.with_name(f".{target.name}.old")
            if source.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                if target.is_dir():
                    shutil.rmtree(old, ignore_errors=True)
                    os.replace(target, old)
                os.replace(source, target)
            shutil.rmtree(old, ignore_errors=True)
        self.journal.unlink()


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
    z = load_arrays(path)
    with reading(path):
        scalars = {key[1:]: float(z[key][0]) for key in z if key.startswith("_")}
        for key in z:
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
