"""whatif: the report's what-if answers (whatif.movies found in the data) and the ultimate movie, from the
model folder as `predict` loads it, so the CLI gives the same answers; one reusable unit."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.config import Config
from pipeline.data.load import MovieData
from pipeline.io import write_json
from pipeline.model.bundle import ModelBundle
from pipeline.progress import track
from pipeline.runner import Folders, Units
from pipeline.serving.whatif import ultimate, whatif


def answer_whatifs(cfg: Config, raw: MovieData, model_dir: Path, model_key: str, sign_key: bytes | None,
                   units: Units, folders: Folders) -> dict[str, Any]:
    path = folders.staged(folders.art / "whatif.json")

    def answer() -> tuple[None, list[Path]]:
        bundle = ModelBundle.load(model_dir, sign_key)
        movies = [m for m in cfg.whatif.movies if m in raw.movies.index]
        write_json(path, {
            "movies": [whatif(bundle, raw, m, cfg.whatif, cfg.seed, folders.cache) for m in track(movies, "what-if")],
            "missing": [m for m in cfg.whatif.movies if m not in raw.movies.index],
            "ultimate": ultimate(bundle, cfg.ultimate, cfg.whatif, cfg.seed, folders.cache)})
        return None, [path]

    units.reuse("whatif", units.key("whatif", model_key, cfg.whatif.model_dump(mode="json"),
                                    cfg.ultimate.model_dump(mode="json")), answer, lambda: None)
    return {}
