"""Checkpoints: a rerun skips the work whose inputs, parameters and code are unchanged.

Each unit of expensive work (one learner's out-of-fold run, one ablation row, the refit, the what-if
answers, the explanations) is recorded when it finishes, in `artifacts/checkpoints/<unit>.json`: the
fingerprint of everything it depended on and the sha256 of each file it wrote. A rerun whose
fingerprint matches and whose files are intact loads them instead of recomputing; a changed input,
parameter, package version or commit, or a missing or altered file, means the unit is redone. Because
every file is written atomically and the record is written last, a run killed at any moment leaves
either a complete unit or none.
"""
from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

from pipeline.io import fingerprint, read_json, sha256_file, write_json

log = logging.getLogger(__name__)


def code_fingerprint() -> str:
    """sha256 over the package's source: an edited (even uncommitted) module invalidates every checkpoint."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parents[1].rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


class Checkpoints:
    def __init__(self, art: Path, *base: Any):
        self.art = art
        self.folder = art / "checkpoints"
        self.base = fingerprint(*base)

    def key(self, *parts: Any) -> str:
        return fingerprint(self.base, *parts)

    def fresh(self, unit: str, key: str) -> bool:
        """True if `unit` finished under this fingerprint and its files are exactly as it wrote them."""
        path = self.folder / f"{unit}.json"
        if not path.is_file():
            return False
        record = read_json(path)
        intact = record.get("fingerprint") == key and all(
            (self.art / rel).is_file() and sha256_file(self.art / rel) == digest
            for rel, digest in record.get("files", {}).items())
        if intact:
            log.info("%s: unchanged since the last run, reused", unit)
        return intact

    def relocate(self, old: str, new: str) -> None:
        """Files recorded under the folder `old` (relative to artifacts/) now live under `new`."""
        for path in self.folder.glob("*.json"):
            record = read_json(path)
            files = {(new + rel[len(old):] if rel.startswith(old) else rel): d for rel, d in record["files"].items()}
            if files != record["files"]:
                write_json(path, record | {"files": files})

    def record(self, unit: str, key: str, files: list[Path]) -> None:
        write_json(self.folder / f"{unit}.json", {
            "fingerprint": key,
            "files": {str(p.relative_to(self.art)): sha256_file(p) for p in sorted(files) if p.is_file()}})
