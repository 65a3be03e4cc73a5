"""A film as it stands when it is greenlit: the inputs that exist only later withheld.

The runtime comes with the final cut, the tagline and the poster with the marketing; the age rating is
certified after the cut (a studio aims at one earlier, so it is withheld only if params.yaml says so).
Of the cast, only the leads are attached at greenlight. Withheld facts become one constant for every
film (a learner cannot split on them) and withheld vectors zeros, so every learner reads the same frame
shape with nothing in it that a greenlit film lacks.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from pipeline.config import Config
from pipeline.features.embeddings import IMAGE_SOURCES
from pipeline.features.frame import MovieFrame, build_frame
from pipeline.features.prepare import Prepared

# what each withheld input blanks in the cleaned movies (its vectors, if any, share its name)
MOVIE_COLUMNS = {
    "runtime": {"minute": 0.0, "is_short": 0, "runtime_missing": 0},
    "tagline": {"tagline": "", "has_tagline": 0},
    "age_rating": {},                  # set to the missing category below (it needs the config)
    "poster": {},
}


def at_greenlight(prep: Prepared, cfg: Config, withheld: tuple[str, ...], leads: int | None) -> MovieFrame:
    """Every movie of `prep` with the `withheld` inputs blanked and its cast cut to the `leads` top-billed."""
    movies = prep.data.movies.copy()
    for item in withheld:
        for column, value in MOVIE_COLUMNS[item].items():
            movies[column] = value
    if "age_rating" in withheld:
        movies["theatrical_release_age_rating"] = cfg.clean.missing_age_rating
    credits = dict(prep.data.credits)
    if leads is not None:
        credits["actor"] = credits["actor"][credits["actor"]["billing"] <= leads]
    # a withheld text keeps its columns, zeroed (the text block stays one shape); a withheld poster has none
    vectors = {source: np.zeros_like(v) if source in withheld else v for source, v in prep.vectors.items()
               if not (source in withheld and source in IMAGE_SOURCES)}
    return build_frame(replace(prep.data, movies=movies, credits=credits), vectors, cfg)
