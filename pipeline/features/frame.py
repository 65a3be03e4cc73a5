"""MovieFrame: every learner's input for a set of movies, as named parts that slice together.

Features stay apart by modality (tabular facts, credits, text and image vectors) so each
learner picks its own; `take` slices all of them at once for the out-of-fold engine.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.config import Config
from pipeline.data.load import EMBEDDING_FILES, MovieData
from pipeline.errors import InputError
from pipeline.features.embeddings import (
    DEFAULT_TEXT_MODEL,
    MODALITY_SOURCES,
    TfidfSvdVectorizer,
    health_problem,
    identify_encoder,
    image_skip_reason,
    poster_vectors,
    sentence_vectors,
)
from pipeline.features.entities import Credits
from pipeline.features.tabular import tabular_features

USED = "used"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MovieFrame:
    ids: np.ndarray
    tabular: pd.DataFrame                  # label-free facts, positional index
    names: pd.DataFrame                    # top-billed names as native categorical columns
    credits: dict[str, Credits]
    blocks: dict[str, np.ndarray]          # modality ("text", "image") -> vectors
    texts: pd.Series                       # tagline and description joined, for word-level learners

    def __len__(self) -> int:
        return len(self.ids)

    def take(self, positions: np.ndarray) -> "MovieFrame":
        return MovieFrame(self.ids[positions], self.tabular.iloc[positions].reset_index(drop=True),
                          self.names.iloc[positions].reset_index(drop=True),
                          {k: c.take(positions) for k, c in self.credits.items()},
                          {k: v[positions] for k, v in self.blocks.items()},
                          self.texts.iloc[positions].reset_index(drop=True))


@dataclass(frozen=True)
class FrameSpec:
    """How vectors were obtained at training time, so prediction obtains them the same way."""
    origin: dict[str, str]                 # source (tagline, ...) -> "npy" | backend name
    dims: dict[str, int]
    modalities: dict[str, str]             # tabular/text/image -> "used" or "skipped: reason"
    vectorizers: dict[str, TfidfSvdVectorizer] = field(default_factory=dict)
    encoders: dict[str, dict | None] = field(default_factory=dict)   # "npy" text source -> the encoder that
                                                                     # reproduces it (None: none this tool runs)

    def to_dict(self) -> dict[str, object]:
        return {"origin": self.origin, "dims": self.dims, "modalities": self.modalities, "encoders": self.encoders}

    def text_note(self) -> str | None:
        """What a user must know about the text vectors of new movies, or None if the model computes them."""
        unmatched = [s for s, how in self.origin.items() if how == "npy" and s in self.encoders
                     and self.encoders[s] is None]
        if not unmatched:
            return None
        files = " and ".join(EMBEDDING_FILES[s] for s in unmatched)
        return (f"the supplied {files} match no text encoder this tool can run offline (checked: "
                f"{DEFAULT_TEXT_MODEL}); new movies need {files} from the same source as the training data's")


def fit_sources(data: MovieData, cfg: Config, fit_ids: np.ndarray,
                cache_dir: Path) -> tuple[dict[str, np.ndarray], FrameSpec]:
    """Resolve every vector source for training; unhealthy ones are dropped and the reason kept."""
    vectors: dict[str, np.ndarray] = {}
    origin: dict[str, str] = {}
    vectorizers: dict[str, TfidfSvdVectorizer] = {}
    problems: dict[str, str] = {}
    fit_rows = data.movies.index.get_indexer(fit_ids)
    encoders: dict[str, dict | None] = {}
    for source in MODALITY_SOURCES["text"]:
        if source in data.embeddings:
            vectors[source], origin[source] = data.embeddings[source], "npy"
            encoders[source] = identify_encoder(data.movies[source].iloc[fit_rows], vectors[source][fit_rows],
                                                cfg.data)
            log.info("%s: %s", EMBEDDING_FILES[source], "made by " + encoders[source]["encoder"]
                     if encoders[source] else "no offline encoder reproduces these vectors")
        elif cfg.data.text_backend == "tfidf-svd":
            vec = TfidfSvdVectorizer(cfg.data.tfidf_dim, cfg.seed).fit(data.movies[source].iloc[fit_rows])
            vectors[source], origin[source], vectorizers[source] = vec.transform(data.movies[source]), "tfidf-svd", vec
        else:
            vectors[source] = sentence_vectors(data.movies[source], cfg.data.text_model, cache_dir)
            origin[source] = "sentence-transformers"
    if "poster" in data.embeddings:
        vectors["poster"], origin["poster"] = data.embeddings["poster"], "npy"
    else:
        computed = poster_vectors(data.source, data.movies.index.to_numpy(), cfg.data)
        if computed is None:
            problems["poster"] = image_skip_reason(data.source, cfg.data)
        else:
            vectors["poster"], origin["poster"] = computed, "clip"
    for source, matrix in list(vectors.items()):
        problem = health_problem(matrix[fit_rows], cfg.embeddings)
        if problem:
            problems[source] = f"{EMBEDDING_FILES[source]} failed the health check: {problem}"
            del vectors[source], origin[source]
            encoders.pop(source, None)
    modalities = {"tabular": USED}
    for modality, sources in MODALITY_SOURCES.items():
        kept = [s for s in sources if s in vectors]
        modalities[modality] = USED if kept else "skipped: " + "; ".join(problems[s] for s in sources)
    dims = {s: int(v.shape[1]) for s, v in vectors.items()}
    return vectors, FrameSpec(origin, dims, modalities, vectorizers, encoders)


def apply_sources(data: MovieData, spec: FrameSpec, cfg: Config, cache_dir: Path) -> dict[str, np.ndarray]:
    """The vectors a trained model needs, obtained as at training time; a clear error if absent."""
    vectors: dict[str, np.ndarray] = {}
    for source, how in spec.origin.items():
        if how == "npy":
            if source in data.embeddings:
                vectors[source] = data.embeddings[source]
            elif spec.encoders.get(source):
                encoder = spec.encoders[source]
                vectors[source] = sentence_vectors(data.movies[source], encoder["model"], cache_dir,
                                                   normalize=encoder["normalize"])
            else:
                file = EMBEDDING_FILES[source]
                raise InputError(file, f"the model was trained on {source} vectors supplied with its training "
                                 f"data, which match no text encoder this tool can run offline (checked: "
                                 f"{DEFAULT_TEXT_MODEL}); supply {file} ({spec.dims[source]} columns) made the "
                                 f"same way, in {data.source}")
        elif how == "tfidf-svd":
            vectors[source] = spec.vectorizers[source].transform(data.movies[source])
        elif how == "sentence-transformers":
            vectors[source] = sentence_vectors(data.movies[source], cfg.data.text_model, cache_dir)
        else:
            computed = poster_vectors(data.source, data.movies.index.to_numpy(), cfg.data)
            if computed is None:
                raise InputError(cfg.data.posters_zip, f"the model uses poster vectors; supply "
                                 f"{EMBEDDING_FILES['poster']} or posters in {data.source}")
            vectors[source] = computed
        if vectors[source].shape[1] != spec.dims[source]:
            raise InputError(EMBEDDING_FILES[source], f"has dimension {vectors[source].shape[1]}, "
                             f"the model was trained on {spec.dims[source]}")
    return vectors


def build_frame(data: MovieData, vectors: dict[str, np.ndarray], cfg: Config) -> MovieFrame:
    ids = data.movies.index.to_numpy()
    credits = {kind: Credits.from_links(data.credits[kind], ids) for kind in cfg.entities.kinds}
    names = pd.concat(
        [credits["actor"].lead_names(cfg.entities.top_actors).add_prefix("actor_"),
         credits["director"].lead_names(1).add_prefix("director_"),
         credits["studio"].lead_names(1).add_prefix("studio_")], axis=1).fillna("none")
    categories = cfg.clean.age_ratings + (cfg.clean.missing_age_rating,)
    tabular = tabular_features(data.movies, data.credits, categories).reset_index(drop=True)
    blocks = {modality: np.hstack([vectors[s] for s in sources if s in vectors])
              for modality, sources in MODALITY_SOURCES.items() if any(s in vectors for s in sources)}
    texts = (data.movies["tagline"].fillna("") + " " + data.movies["description"].fillna("")).reset_index(drop=True)
    return MovieFrame(ids, tabular, names, credits, blocks, texts)

