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
