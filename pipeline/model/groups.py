"""The reasons a prediction is explained by: groups of features a person recognises (the cast, the director,
the runtime...). A learner's columns are mapped to groups by name; a group's contribution is the sum of its
columns' TreeSHAP values (trees) or exact terms (linear heads)."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

# (group, pattern on a learner's column name), first match wins; see the column names in pipeline/features/
GROUP_PATTERNS = (
    ("cast", r"^(n_)?actor"),
    ("director", r"^(n_)?director"),
    ("studio", r"^(n_)?studio"),
    ("release year", r"^year"),
    ("runtime", r"^(minute|log_minute|is_short|runtime_missing)"),
    ("age rating", r"^age_rating"),
    ("story (tagline and description)", r"^(text_|word=|words_|has_tagline|has_description|tagline|description)"),
    ("title", r"^title_"),
    ("poster", r"^image_"),
)
GROUPS = tuple(g for g, _ in GROUP_PATTERNS) + ("other",)

# what each kind of column means, in plain words (first match wins); {kind} is the credit kind the column
# starts with. The report's glossary lists every column the shipped learners read under one of these.
COLUMN_GLOSSES = (
    (r"^(actor|director|studio)_hist_(mean|wmean|max|min|lead)$",
     "the {kind}s' record before the film: how their earlier films rated against their era (mean; "
     "billing-weighted mean; best; worst; the top-billed one's), smoothed toward the average for short careers"),
    (r"^(actor|director|studio)_hist_films_(mean|max)$", "how many earlier films the {kind}s had made (mean; most)"),
    (r"^(actor|director|studio)_hist_career_mean$", "years since the {kind}s' first film (mean)"),
    (r"^(actor|director|studio)_te_", "the {kind}s' ratings from films of every year (out-of-fold target encoding)"),
    (r"^(actor|director|studio)_\d+$", "the {kind}'s name itself as a category (by billing: 1 is the lead)"),
    (r"^(actor|director|studio)=", "the {kind}'s name itself (one column per person or studio)"),
    (r"^n_(actor|director|studio)$", "how many {kind}s are credited"),
    (r"^year", "release year (for the linear learner: a spline of it)"),
    (r"^(log_)?minute", "runtime in minutes (for the linear learner: a spline of its logarithm)"),
    (r"^is_short$", "runtime under the shortest feature length (params.yaml clean.min_runtime)"),
    (r"^runtime_missing$", "no runtime given (set to the training median)"),
    (r"^age_rating", "age rating (G, PG, PG-13, R, NC-17, NR, or missing)"),
    (r"^has_(tagline|description)$", "whether the film has a {kind}"),
    (r"^(tagline|description)_words$", "how many words its {kind} has"),
    (r"^text_pc", "the tagline and description's meaning: principal components of their sentence vectors"),
    (r"^text_knn_similarity$", "how close the most similar training stories are"),
    (r"^text_knn", "the ratings of the training films whose stories are most similar (k nearest)"),
    (r"^text_score", "a ridge's rating estimate from the story's vectors"),
    (r"^word=", "a word or two-word phrase of the tagline and description (TF-IDF)"),
    (r"^title_", "the title's length, a number or sequel numeral, a colon"),
    (r"^image_knn_similarity$", "how close the most similar training posters are"),
    (r"^image_knn", "the ratings of the training films whose posters look most similar (k nearest)"),
    (r"^image_", "the poster's look: principal components of its image vectors"),
)


def column_gloss(column: str) -> tuple[str, str]:
    """A column's plain-words meaning and its pattern as the glossary lists it (`actor_1` -> `actor_N`)."""
    for pattern, gloss in COLUMN_GLOSSES:
        found = re.match(pattern, column)
        if found:
            kind = found.group(1) if found.groups() else ""
            return gloss.replace("{kind}", kind or ""), _pattern(column)
    return "", _pattern(column)


def _pattern(column: str) -> str:
    """One name for a family of columns: names and words after "=", one-hot age ratings, numbered parts."""
    return re.sub(r"\d+", "N", re.sub(r"^age_rating_.*", "age_rating_…", re.sub(r"=.*", "=…", column)))


def feature_group(column: str) -> str:
    for group, pattern in GROUP_PATTERNS:
        if re.match(pattern, column):
            return group
    return "other"


def group_codes(columns: list[str]) -> np.ndarray:
    """Each column's position in GROUPS."""
    return np.array([GROUPS.index(feature_group(c)) for c in columns], dtype=np.int64)


def top_reasons(contributions: pd.DataFrame, k: int) -> list[list[tuple[str, float]]]:
    """Per row, the k groups with the largest absolute contributions, largest first."""
    values = contributions[list(GROUPS)].to_numpy()
    order = np.argsort(-np.abs(values), axis=1, kind="stable")[:, :k]
    return [[(GROUPS[j], float(values[i, j])) for j in row] for i, row in enumerate(order)]
