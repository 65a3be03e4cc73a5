"""whatif: the report's what-if answers (whatif.movies found in the data) and the ultimate movie, from the
model folder as `predict` loads it, so the CLI gives the same answers; as data (whatif.json) and as the CLI
prints them (whatif.md); one reusable unit."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.config import Config
from pipeline.data.load import MovieData
from pipeline.io import write_json, write_text
from pipeline.model.bundle import ModelBundle
from pipeline.progress import track
from pipeline.runner import Folders, Units
from pipeline.serving.whatif import ultimate, ultimate_markdown, whatif, whatif_markdown


def answer_whatifs(cfg: Config, raw: MovieData, model_dir: Path, model_key: str, sign_key: bytes | None,
                   units: Units, folders: Folders) -> dict[str, Any]:
    path, text = folders.staged(folders.art / "whatif.json"), folders.staged(folders.art / "whatif.md")

    def answer() -> tuple[None, list[Path]]:
        bundle = ModelBundle.load(model_dir, sign_key)
        movies = [m for m in cfg.whatif.movies if m in raw.movies.index]
        answered = [whatif(bundle, raw, m, cfg.whatif, cfg.seed, folders.cache) for m in track(movies, "what-if")]
        # the ultimate movie also searches on from the edited films shown: none of them may rate above it
        answers = {"movies": answered, "missing": [m for m in cfg.whatif.movies if m not in raw.movies.index],
                   "ultimate": ultimate(bundle, cfg.ultimate, cfg.whatif, cfg.seed, folders.cache, answered)}
        write_json(path, answers)
        # the answers as the CLI prints them, for the report to include as they are
        write_text(text, "\n".join([*(whatif_markdown(a) for a in answers["movies"]),
                                     ultimate_markdown(answers["ultimate"])]))
        return None, [path, text]

    units.reuse("whatif", units.key("whatif", model_key, cfg.whatif.model_dump(mode="json"),
                                    cfg.ultimate.model_dump(mode="json")), answer, lambda: None)
    return {}
