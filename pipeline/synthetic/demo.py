"""A deterministic synthetic dataset in the case's folder layout (the README's data contract).

Why: the pipeline must run, be tested and be benchmarked on a fresh machine without
the real case data. The generator plants known effects (entity quality, year drift,
runtime, age rating, genre and tone carried by texts and embeddings) so tests can use
them as oracles, and records them in `truth.json`.

The rating model, in "spread units" z (a movie's deviation in units of its year's spread):

    z = CAST_WEIGHT * billing-weighted mean cast quality
      + DIRECTOR_WEIGHT * mean director quality + STUDIO_WEIGHT * mean studio quality
      + genre effect + TONE_WEIGHT * tone + RUNTIME_SLOPE_Z * (clipped minute - RUNTIME_CENTER)
      + age-rating effect + NOISE_SD * noise
    rating = clip(year_mean(date) + year_spread(date) * z, RATING_MIN, RATING_MAX), 2 decimals

Every numeric step is vectorised; only the per-movie text strings are built with list
comprehensions. Randomness comes from one `np.random.default_rng(seed)`, split into
independent child streams so that, for instance, the embedding dimensions do not
change the ratings. `generate_demo` calls one function per step (latents, cast, directors,
studios, rating, names, texts, embeddings, files); the words the texts are made of are in
`vocabulary.py`.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from pipeline.io import atomic_path, write_text
from pipeline.synthetic.vocabulary import (
    DESCRIPTION_SENTENCES,
    DESCRIPTION_TEMPLATES,
    FILLER_SENTENCES,
    FILLER_SHARE,
    FIRST_NAMES,
    GENRE_LABELS,
    GENRE_NOUNS,
    GENRE_SUBJECTS,
    GENRE_VERBS,
    LAST_NAMES,
    PLACEHOLDER_TAGLINE_SHARE,
    PLACEHOLDER_TAGLINES,
    PLACES,
    STORY_TEMPLATE_COUNT,
    STUDIO_HEADS,
    STUDIO_KINDS,
    STUDIO_TAILS,
    TAGLINE_TEMPLATES,
    TITLE_ADJECTIVES,
    TITLE_NOUNS,
    TITLE_SEQUELS,
    TITLE_TEMPLATE_PROBS,
    TITLE_TEMPLATES,
    TONE_WORDS_HIGH,
    TONE_WORDS_LOW,
)

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- layout
MOVIES_FILE = "movies.csv"
ACTORS_FILE = "actors.csv"
DIRECTORS_FILE = "directors.csv"
STUDIOS_FILE = "studios.csv"
TAGLINE_EMB_FILE = "tagline_embeddings.npy"
DESCRIPTION_EMB_FILE = "description_embeddings.npy"
POSTER_EMB_FILE = "poster_embeddings.npy"
TRUTH_FILE = "truth.json"
MOVIE_COLUMNS = ("movie_id", "original_id", "name", "date", "tagline", "description", "minute",
                 "theatrical_release_age_rating", "rating")

MIN_MOVIES = 20                     # below this the planted stars cannot have enough films
ORIGINAL_ID_START = 1_000_001       # like the case's ids: increasing, with gaps
ORIGINAL_ID_MAX_GAP = 3

# --------------------------------------------------------------------------- year drift
YEAR_MIN, YEAR_MAX = 1930, 2024
YEAR_BETA_A, YEAR_BETA_B = 1.6, 1.0          # density rising towards recent years
YEAR_MEAN_AT_MIN = 3.40                      # mean rating of YEAR_MIN movies
YEAR_SLOPE = -0.45 / 85                      # mean rating per year: ~2.95 by 2015
SPREAD_AT_MIN = 0.25                         # rating sd of YEAR_MIN movies
SPREAD_SLOPE = 0.30 / 85                     # ~0.55 by 2015
REFERENCE_YEAR = 2000                        # year at which slopes are quoted in rating points
RATING_MIN, RATING_MAX = 0.5, 5.0
RATING_DECIMALS = 2

# --------------------------------------------------------------------------- runtime
RUNTIME_MEDIAN = 102.0
RUNTIME_LOG_SD = 0.15                        # lognormal: ~95% within 76-137 minutes
SHORT_SHARE, SHORT_RANGE = 0.02, (1, 40)     # outliers: shorts under 40 minutes
LONG_SHARE, LONG_RANGE = 0.005, (241, 600)   # outliers: epics over 240 minutes
RUNTIME_CENTER = 105.0
RUNTIME_CLIP = (40.0, 240.0)                 # the runtime effect saturates outside this range
RUNTIME_SLOPE_Z = 0.012                      # spread units per minute (monotone increasing)

# --------------------------------------------------------------------------- age rating
AGE_RATINGS = ("", "NR", "R", "PG-13", "PG", "G", "NC-17")
AGE_PROBS = (0.25, 0.22, 0.22, 0.14, 0.132, 0.033, 0.005)
AGE_EFFECTS_RAW = (0.0, 0.10, 0.05, -0.12, 0.0, 0.08, -0.15)   # spread units, centred below

# --------------------------------------------------------------------------- genre and tone
GENRES = ("drama", "comedy", "horror", "action", "romance", "thriller", "documentary", "animation")
GENRE_PROBS = (0.24, 0.20, 0.09, 0.12, 0.10, 0.12, 0.05, 0.08)
GENRE_EFFECTS_RAW = (0.35, -0.15, -0.80, -0.30, 0.0, -0.05, 0.70, 0.25)   # spread units, centred
TONE_WEIGHT = 0.35                           # tone ~ N(0, 1): acclaimed (+) vs trashy (-)
TONE_TEXT_SHARPNESS = 1.5                    # how strongly tone picks the tone words

# --------------------------------------------------------------------------- entities
# popularity of rank k ~ (k + offset)^-exponent, per entity kind: (exponent, offset)
ZIPF_ACTORS = (0.8, 10.0)                    # busiest actor in a few % of movies, as in the case data
ZIPF_DIRECTORS = (0.9, 5.0)
ZIPF_STUDIOS = (0.9, 4.0)
QUALITY_CLIP = 2.5                           # ordinary entities' quality ~ N(0, 1) clipped
STAR_QUALITY = 3.2                           # the planted best actor / director: clearly above all
STAR_MIN_FILMS = 10
STAR_FILM_SHARE = 0.01                       # the stars' share of all movies (at least STAR_MIN_FILMS)
STAR_LEAD_SHARE = 0.85                       # how often the best actor is billed first
STAR_SUPPORT_RANK = 50                       # otherwise billed like the 50th most popular actor
CAST_WEIGHT, DIRECTOR_WEIGHT, STUDIO_WEIGHT = 0.60, 0.50, 0.30
BILLING_DECAY = 0.6                          # billing weight of position j (0 = lead) is decay**j
BILLING_NOISE = 0.7                          # popular actors tend to be billed first, not always
ACTORS_PER_MOVIE = 2.0                       # actor pool size relative to n_movies
DIRECTORS_PER_MOVIE = 0.12
STUDIOS_PER_MOVIE = 0.03
MIN_POOL = 30                                # smallest entity pool, for tiny datasets
CAST_MIN, CAST_EXTRA, CAST_EXTRA_P = 2, 13, 0.4   # cast size = 2 + Binomial(13, 0.4): 2..15
NO_CAST_SHARE = 0.03
DIRECTOR_COUNT_PROBS = (0.50, 0.45, 0.05)    # 0, 1 or 2 directors
STUDIO_COUNT_PROBS = (0.0, 0.88, 0.12)       # 1 or 2 studios
DUPLICATE_ROW_RATE = 17 / 10_599             # exact duplicate actor rows, as in the case data

# --------------------------------------------------------------------------- noise
NOISE_SD = 0.55                              # chosen so an oracle reaches R^2 ~ 0.7

# --------------------------------------------------------------------------- embeddings
TEXT_GENRE_STRENGTH = {"tagline": 0.8, "description": 1.0}
TEXT_TONE_STRENGTH = {"tagline": 0.4, "description": 0.6}
TEXT_NOISE = {"tagline": 1.3, "description": 1.0}           # total noise norm
POSTER_GENRE_STRENGTH = 0.6
POSTER_NOISE = 1.0                                          # per-dimension sd
POSTER_SCALE = 10.0                                         # raw image vectors are not unit norm


@dataclass(frozen=True)
class DemoTruth:
    """The planted effects of a generated dataset: the oracle tests check models against."""
    n_movies: int
    seed: int
    best_actor: str                      # highest hidden quality, >= STAR_MIN_FILMS films, usually the lead
    best_director: str                   # highest hidden quality, >= STAR_MIN_FILMS films
    best_actor_films: int
    best_director_films: int
    runtime_slope: float                 # rating points per minute at REFERENCE_YEAR (> 0: longer is better)
    runtime_clip: tuple[float, float]    # the runtime effect is flat outside this range
    year_slope: float                    # change of the mean rating per year (< 0)
    spread_slope: float                  # change of the rating sd per year (> 0)
    genre_effects: dict[str, float] = field(default_factory=dict)        # spread units
    age_rating_effects: dict[str, float] = field(default_factory=dict)   # spread units, "" = missing
    effect_weights: dict[str, float] = field(default_factory=dict)       # cast/director/studio/tone/noise
    ideal_r2: float = 0.0                # R^2 of the noise-free rating against the rating

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (tuples become lists)."""
        d = asdict(self)
        d["runtime_clip"] = list(self.runtime_clip)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "DemoTruth":
        """Inverse of to_dict."""
        return cls(**{**d, "runtime_clip": tuple(d["runtime_clip"])})

    @classmethod
    def load(cls, path: Path) -> "DemoTruth":
        """Read a truth.json (or the truth.json of a demo folder)."""
        path = Path(path)
        if path.is_dir():
            path = path / TRUTH_FILE
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))


# =========================================================================== helpers
def _zipf_probs(n: int, shape: tuple[float, float], reserved: int = 0) -> np.ndarray:
    """Zipf popularity over ranks 0..n-1; the first `reserved` entities are placed by hand (p = 0)."""
    exponent, offset = shape
    p = (np.arange(n, dtype=np.float64) + offset) ** -exponent
    p[:reserved] = 0.0
    return p / p.sum()


def _qualities(rng: np.random.Generator, n: int, n_stars: int = 0) -> np.ndarray:
    """Hidden quality ~ N(0, 1) clipped to +-QUALITY_CLIP; stars get STAR_QUALITY, above everyone."""
    q = np.clip(rng.standard_normal(n), -QUALITY_CLIP, QUALITY_CLIP)
    q[:n_stars] = STAR_QUALITY
    return q


def _pool_size(n_movies: int, per_movie: float) -> int:
    return max(MIN_POOL, int(np.ceil(n_movies * per_movie)))


def _group_starts(movie: np.ndarray) -> np.ndarray:
    """Position of each row within its movie, for rows sorted by movie."""
    first = np.searchsorted(movie, movie, side="left")
    return np.arange(movie.size) - first


def _dedupe_within_movie(movie: np.ndarray, entity: np.ndarray) -> np.ndarray:
    """Mask keeping the first occurrence of each (movie, entity) pair."""
    return ~pd.DataFrame({"m": movie, "e": entity}).duplicated().to_numpy()


def _sample_links(rng: np.random.Generator, counts: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows (movie, entity) with `counts[i]` Zipf-sampled entities for movie i, in movie order."""
    movie = np.repeat(np.arange(counts.size), counts)
    entity = rng.choice(p.size, size=movie.size, p=p)
    return movie, entity


def _count_choice(rng: np.random.Generator, n: int, probs: Sequence[float]) -> np.ndarray:
    return rng.choice(len(probs), size=n, p=np.asarray(probs) / np.sum(probs))


def _entity_mean(movie: np.ndarray, values: np.ndarray, weights: np.ndarray, n_movies: int) -> np.ndarray:
    """Weighted mean per movie; 0 (the average entity) for movies without rows."""
    num = np.bincount(movie, weights * values, minlength=n_movies)
    den = np.bincount(movie, weights, minlength=n_movies)
    return np.divide(num, den, out=np.zeros(n_movies), where=den > 0)


def _unique_codes(rng: np.random.Generator, n: int, space: int) -> np.ndarray:
    """n distinct codes; codes >= space mark a 'tier' (disambiguated name), used only when space runs out."""
    if n <= space:
        return rng.choice(space, size=n, replace=False)
    tiers = -(-n // space)
    extra = space + rng.choice((tiers - 1) * space, size=n - space, replace=False)
    return rng.permutation(np.concatenate([np.arange(space), extra]))


def _initials(tier: int) -> str:
    """Tier 1 -> 'A.', 26 -> 'Z.', 27 -> 'A. A.': a middle initial that keeps names unique."""
    letters = []
    t = tier - 1
    while True:
        letters.append(chr(ord("A") + t % 26) + ".")
        t = t // 26 - 1
        if t < 0:
            return " ".join(reversed(letters))


def _person_names(rng: np.random.Generator, n: int) -> np.ndarray:
    """Readable unique person names ('Ava Brooks', then 'Ava K. Brooks' once plain names run out)."""
    nf, nl = len(FIRST_NAMES), len(LAST_NAMES)
    space = nf * nl
    codes = _unique_codes(rng, n, space)
    base, tier = codes % space, codes // space
    first = np.asarray(FIRST_NAMES, dtype=object)[base % nf]
    last = np.asarray(LAST_NAMES, dtype=object)[base // nf]
    middle = {t: _initials(t) + " " for t in np.unique(tier) if t > 0}
    return np.array([f"{f} {middle.get(t, '')}{s}" for f, s, t in zip(first, last, tier.tolist())], dtype=object)


def _studio_names(rng: np.random.Generator, n: int) -> np.ndarray:
    """Readable unique studio names ('Northlight Pictures'); a numeral only when names run out."""
    nh, nt, nk = len(STUDIO_HEADS), len(STUDIO_TAILS), len(STUDIO_KINDS)
    space = nh * nt * nk
    codes = _unique_codes(rng, n, space)
    base, tier = codes % space, codes // space
    head = np.asarray(STUDIO_HEADS, dtype=object)[base % nh]
    tail = np.asarray(STUDIO_TAILS, dtype=object)[(base // nh) % nt]
    kind = np.asarray(STUDIO_KINDS, dtype=object)[base // (nh * nt)]
    return np.array([f"{h}{t} {k}" + (f" {tr + 1}" if tr else "") for h, t, k, tr in
                     zip(head, tail, kind, tier.tolist())], dtype=object)


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def _flat_lookup(table: dict[str, tuple[str, ...]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flatten per-genre word lists: (all words, offset per genre, length per genre)."""
    lists = [table[g] for g in GENRES]
    lengths = np.array([len(x) for x in lists])
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    return np.array([w for x in lists for w in x], dtype=object), offsets, lengths


def _genre_words(rng: np.random.Generator, table: dict[str, tuple[str, ...]], genre: np.ndarray) -> np.ndarray:
    words, offsets, lengths = _flat_lookup(table)
    idx = offsets[genre] + (rng.random(genre.size) * lengths[genre]).astype(np.int64)
    return words[idx]


def _tone_words(rng: np.random.Generator, tone: np.ndarray) -> np.ndarray:
    """A tone word per movie: from the acclaimed list with probability sigmoid(sharpness * tone)."""
    high = rng.random(tone.size) < 1.0 / (1.0 + np.exp(-TONE_TEXT_SHARPNESS * tone))
    hi_words = np.asarray(TONE_WORDS_HIGH, dtype=object)
    lo_words = np.asarray(TONE_WORDS_LOW, dtype=object)
    return np.where(high, hi_words[rng.integers(0, hi_words.size, tone.size)],
                    lo_words[rng.integers(0, lo_words.size, tone.size)])


def _slot_words(rng: np.random.Generator, genre: np.ndarray, tone: np.ndarray) -> list[np.ndarray]:
    """One draw of every template slot, for every movie (see TAGLINE_TEMPLATES)."""
    n = genre.size
    labels = np.array([GENRE_LABELS[g] for g in GENRES], dtype=object)
    return [_genre_words(rng, GENRE_SUBJECTS, genre), _genre_words(rng, GENRE_VERBS, genre),
            _genre_words(rng, GENRE_NOUNS, genre), _genre_words(rng, GENRE_NOUNS, genre),
            _tone_words(rng, tone), _tone_words(rng, tone),
            np.asarray(PLACES, dtype=object)[rng.integers(0, len(PLACES), n)], labels[genre]]


def _titles(rng: np.random.Generator, n: int) -> list[str]:
    """Movie names from a finite space, so a few repeat (remakes)."""
    adj = np.asarray(TITLE_ADJECTIVES, dtype=object)[rng.integers(0, len(TITLE_ADJECTIVES), n)]
    noun = np.asarray(TITLE_NOUNS, dtype=object)[rng.integers(0, len(TITLE_NOUNS), n)]
    noun2 = np.asarray(TITLE_NOUNS, dtype=object)[rng.integers(0, len(TITLE_NOUNS), n)]
    seq = np.asarray(TITLE_SEQUELS, dtype=object)[rng.integers(0, len(TITLE_SEQUELS), n)]
    tpl = _count_choice(rng, n, TITLE_TEMPLATE_PROBS).tolist()
    return [TITLE_TEMPLATES[t].format(a, b, c, s) for t, a, b, c, s in zip(tpl, adj, noun, noun2, seq)]


def _taglines(rng: np.random.Generator, genre: np.ndarray, tone: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Genre- and tone-flavoured taglines; a few placeholders. Returns (texts, placeholder mask)."""
    n = genre.size
    slots = _slot_words(rng, genre, tone)
    tpl = rng.integers(0, len(TAGLINE_TEMPLATES), n).tolist()
    texts = [_cap(TAGLINE_TEMPLATES[t].format(*w)) for t, *w in zip(tpl, *slots)]
    placeholder = rng.random(n) < PLACEHOLDER_TAGLINE_SHARE
    which = rng.integers(0, len(PLACEHOLDER_TAGLINES), n)
    for i in np.flatnonzero(placeholder).tolist():
        texts[i] = PLACEHOLDER_TAGLINES[which[i]]
    return texts, placeholder


def _descriptions(rng: np.random.Generator, genre: np.ndarray, tone: np.ndarray) -> list[str]:
    """1-4 sentences: a genre story sentence first, then story, tone or filler sentences."""
    n = genre.size
    lo, hi = DESCRIPTION_SENTENCES
    n_sent = rng.integers(lo, hi + 1, n)
    parts: list[list[str]] = []
    for k in range(hi):
        slots = _slot_words(rng, genre, tone)
        if k == 0:
            tpl = rng.integers(0, STORY_TEMPLATE_COUNT, n)
        else:
            tpl = rng.integers(0, len(DESCRIPTION_TEMPLATES), n)
            tpl = np.where(rng.random(n) < FILLER_SHARE, len(DESCRIPTION_TEMPLATES) + tpl % len(FILLER_SENTENCES),
                           tpl)
        templates = DESCRIPTION_TEMPLATES + FILLER_SENTENCES
        parts.append([_cap(templates[t].format(*w)) for t, *w in zip(tpl.tolist(), *slots)])
    return [" ".join(p[:m]) for p, m in zip(zip(*parts), n_sent.tolist())]


def _unit_rows(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _text_embeddings(rng: np.random.Generator, genre: np.ndarray, tone: np.ndarray, dim: int,
                     placeholder: np.ndarray | None) -> dict[str, np.ndarray]:
    """Sentence-embedding stand-ins: genre direction + tone direction + noise, unit norm.

    Tagline and description share one 'semantic space' (the same genre and tone directions),
    as two texts embedded by one model would. Placeholder taglines all get one vector, as a
    real model gives one vector to one string."""
    n = genre.size
    genre_dirs = _unit_rows(rng.standard_normal((len(GENRES), dim)))
    tone_dir = _unit_rows(rng.standard_normal((1, dim)))[0]
    out: dict[str, np.ndarray] = {}
    for kind in ("tagline", "description"):
        noise = rng.standard_normal((n, dim)) * (TEXT_NOISE[kind] / np.sqrt(dim))
        x = TEXT_GENRE_STRENGTH[kind] * genre_dirs[genre] + TEXT_TONE_STRENGTH[kind] * tone[:, None] * tone_dir
        out[kind] = _unit_rows(x + noise)
    empty = _unit_rows(rng.standard_normal((1, dim)))[0]
    if placeholder is not None:
        out["tagline"][placeholder] = empty
    return {k: v.astype(np.float32) for k, v in out.items()}


def _poster_embeddings(rng: np.random.Generator, genre: np.ndarray, dim: int) -> np.ndarray:
    """CLIP-like raw image vectors: a weak genre direction plus noise (not unit norm)."""
    dirs = _unit_rows(rng.standard_normal((len(GENRES), dim))) * np.sqrt(dim)
    x = POSTER_GENRE_STRENGTH * dirs[genre] + POSTER_NOISE * rng.standard_normal((genre.size, dim))
    return (POSTER_SCALE / np.sqrt(dim) * x).astype(np.float32)


def _centred(effects: Sequence[float], probs: Sequence[float]) -> np.ndarray:
    """Effects minus their frequency-weighted mean, so they are deviations from the year mean."""
    e, p = np.asarray(effects, dtype=np.float64), np.asarray(probs, dtype=np.float64)
    return e - np.dot(e, p / p.sum())




# =========================================================================== generator sections
@dataclass(frozen=True)
class _Movies:
    """Movie-level latents, one entry per movie: what the rating, the texts and the embeddings read."""
    genre: np.ndarray                    # index into GENRES
    tone: np.ndarray
    year: np.ndarray
    minute: np.ndarray
    age: np.ndarray                      # index into AGE_RATINGS
    noise: np.ndarray                    # the rating's unexplained part, N(0, 1)
    original_id: np.ndarray


@dataclass(frozen=True)
class _Links:
    """One entity kind: its (movie, entity) rows, pool size and each movie's mean hidden quality."""
    movie: np.ndarray
    entity: np.ndarray
    n_entities: int
    quality: np.ndarray                  # per movie; 0 (the average entity) for movies without rows
    written: np.ndarray                  # the rows as written to the CSV (the cast repeats a few)


@dataclass(frozen=True)
class _Ratings:
    values: np.ndarray
    genre_effects: np.ndarray            # centred, spread units
    age_effects: np.ndarray              # centred, spread units
    ideal_r2: float


@dataclass(frozen=True)
class _Names:
    actors: np.ndarray
    directors: np.ndarray
    studios: np.ndarray


@dataclass(frozen=True)
class _Texts:
    titles: list[str]
    taglines: list[str]
    placeholder: np.ndarray              # taglines replaced by a placeholder (they share one embedding)
    descriptions: list[str]


def _latents(rng: np.random.Generator, n: int) -> _Movies:
    """Genre, tone, year, runtime (with short and long outliers), age rating, rating noise and ids."""
    genre = _count_choice(rng, n, GENRE_PROBS)
    tone = rng.standard_normal(n)
    year = YEAR_MIN + np.floor((YEAR_MAX - YEAR_MIN + 1) * rng.beta(YEAR_BETA_A, YEAR_BETA_B, n)).astype(np.int64)
    year = np.minimum(year, YEAR_MAX)
    minute = np.rint(RUNTIME_MEDIAN * np.exp(RUNTIME_LOG_SD * rng.standard_normal(n))).astype(np.int64)
    kind = rng.random(n)
    short, long_ = kind < SHORT_SHARE, kind > 1.0 - LONG_SHARE
    minute[short] = rng.integers(*SHORT_RANGE, size=int(short.sum()))
    minute[long_] = rng.integers(LONG_RANGE[0], LONG_RANGE[1] + 1, size=int(long_.sum()))
    age = _count_choice(rng, n, AGE_PROBS)
    noise = rng.standard_normal(n)
    gaps = rng.integers(1, ORIGINAL_ID_MAX_GAP + 1, n - 1)
    original_id = ORIGINAL_ID_START + np.concatenate([[0], np.cumsum(gaps)])
    return _Movies(genre, tone, year, minute, age, noise, original_id)


def _cast(rng: np.random.Generator, n: int, cast_extra: int, n_star_films: int) -> _Links:
    """Zipf-popular actors billed by popularity (+ noise); actor 0 is the star and usually the lead."""
    n_actors = _pool_size(n, ACTORS_PER_MOVIE)
    cast_size = CAST_MIN + rng.binomial(cast_extra, CAST_EXTRA_P, n)
    cast_size[rng.random(n) < NO_CAST_SHARE] = 0
    movie, actor = _sample_links(rng, cast_size, _zipf_probs(n_actors, ZIPF_ACTORS, reserved=1))
    key = np.log1p(actor) + BILLING_NOISE * rng.standard_normal(actor.size)
    star_movies = np.sort(rng.choice(np.flatnonzero(cast_size > 0), size=n_star_films, replace=False))
    star_key = np.where(rng.random(n_star_films) < STAR_LEAD_SHARE, -np.inf,
                        np.log1p(STAR_SUPPORT_RANK) + BILLING_NOISE * rng.standard_normal(n_star_films))
    movie = np.concatenate([movie, star_movies])
    actor = np.concatenate([actor, np.zeros(n_star_films, dtype=actor.dtype)])
    order = np.lexsort((np.concatenate([key, star_key]), movie))
    movie, actor = movie[order], actor[order]
    keep = _dedupe_within_movie(movie, actor)
    movie, actor = movie[keep], actor[keep]
    billing = _group_starts(movie)
    actor_q = _qualities(rng, n_actors, n_stars=1)
    quality = _entity_mean(movie, actor_q[actor], BILLING_DECAY ** billing, n)
    n_dup = max(1, round(n * DUPLICATE_ROW_RATE))
    written = np.sort(np.concatenate([np.arange(movie.size), rng.choice(movie.size, n_dup, replace=False)]))
    return _Links(movie, actor, n_actors, quality, written)


def _directors(rng: np.random.Generator, n: int, n_star_films: int) -> _Links:
    """0-2 Zipf-popular directors per movie; director 0 is the star and directs n_star_films movies."""
    n_directors = _pool_size(n, DIRECTORS_PER_MOVIE)
    count = _count_choice(rng, n, DIRECTOR_COUNT_PROBS)
    star_movies = np.sort(rng.choice(n, size=n_star_films, replace=False))
    count[star_movies] = np.maximum(count[star_movies], 1)
    movie, director = _sample_links(rng, count, _zipf_probs(n_directors, ZIPF_DIRECTORS, reserved=1))
    first_row = np.concatenate([[0], np.cumsum(count)[:-1]])
    director[first_row[star_movies]] = 0
    keep = _dedupe_within_movie(movie, director)
    movie, director = movie[keep], director[keep]
    director_q = _qualities(rng, n_directors, n_stars=1)
    quality = _entity_mean(movie, director_q[director], np.ones(director.size), n)
    return _Links(movie, director, n_directors, quality, np.arange(movie.size))


def _studios(rng: np.random.Generator, n: int) -> _Links:
    """1-2 Zipf-popular studios per movie; no star (studio quality is a weaker, ordinary effect)."""
    n_studios = _pool_size(n, STUDIOS_PER_MOVIE)
    count = _count_choice(rng, n, STUDIO_COUNT_PROBS)
    movie, studio = _sample_links(rng, count, _zipf_probs(n_studios, ZIPF_STUDIOS))
    keep = _dedupe_within_movie(movie, studio)
    movie, studio = movie[keep], studio[keep]
    studio_q = _qualities(rng, n_studios)
    quality = _entity_mean(movie, studio_q[studio], np.ones(studio.size), n)
    return _Links(movie, studio, n_studios, quality, np.arange(movie.size))


def _ratings(movies: _Movies, cast: _Links, directors: _Links, studios: _Links) -> _Ratings:
    """The rating model of the module docstring; ideal_r2 is what knowing every planted effect reaches."""
    genre_eff = _centred(GENRE_EFFECTS_RAW, GENRE_PROBS)
    age_eff = _centred(AGE_EFFECTS_RAW, AGE_PROBS)
    signal = (CAST_WEIGHT * cast.quality + DIRECTOR_WEIGHT * directors.quality + STUDIO_WEIGHT * studios.quality
              + genre_eff[movies.genre] + TONE_WEIGHT * movies.tone
              + RUNTIME_SLOPE_Z * (np.clip(movies.minute, *RUNTIME_CLIP) - RUNTIME_CENTER) + age_eff[movies.age])
    since = movies.year - YEAR_MIN
    mean_y, spread_y = YEAR_MEAN_AT_MIN + YEAR_SLOPE * since, SPREAD_AT_MIN + SPREAD_SLOPE * since
    rating = np.round(np.clip(mean_y + spread_y * (signal + NOISE_SD * movies.noise), RATING_MIN, RATING_MAX),
                      RATING_DECIMALS)
    ideal = np.clip(mean_y + spread_y * signal, RATING_MIN, RATING_MAX)
    ideal_r2 = float(1.0 - np.sum((rating - ideal) ** 2) / np.sum((rating - rating.mean()) ** 2))
    return _Ratings(rating, genre_eff, age_eff, ideal_r2)


def _names(rng: np.random.Generator, cast: _Links, directors: _Links, studios: _Links) -> _Names:
    """Entity names; actors and directors are drawn as one pool, so no actor shares a director's name."""
    people = _person_names(rng, cast.n_entities + directors.n_entities)
    return _Names(actors=people[:cast.n_entities], directors=people[cast.n_entities:],
                  studios=_studio_names(rng, studios.n_entities))


def _texts(rng: np.random.Generator, movies: _Movies) -> _Texts:
    """Titles, then genre- and tone-flavoured taglines and descriptions."""
    titles = _titles(rng, movies.genre.size)
    taglines, placeholder = _taglines(rng, movies.genre, movies.tone)
    descriptions = _descriptions(rng, movies.genre, movies.tone)
    return _Texts(titles, taglines, placeholder, descriptions)


def _embeddings(rng: np.random.Generator, movies: _Movies, placeholder: np.ndarray, text_dim: int,
                image_dim: int) -> dict[str, np.ndarray]:
    """The three embedding arrays, by file name."""
    text = _text_embeddings(rng, movies.genre, movies.tone, text_dim, placeholder)
    poster = _poster_embeddings(rng, movies.genre, image_dim)
    return {TAGLINE_EMB_FILE: text["tagline"], DESCRIPTION_EMB_FILE: text["description"], POSTER_EMB_FILE: poster}


def _link_table(links: _Links, original_id: np.ndarray, column: str, names: np.ndarray) -> pd.DataFrame:
    movie, entity = links.movie[links.written], links.entity[links.written]
    return pd.DataFrame({"movie_id": movie, "original_id": original_id[movie], column: names[entity]})


def _tables(movies: _Movies, ratings: _Ratings, texts: _Texts, names: _Names, cast: _Links, directors: _Links,
            studios: _Links) -> dict[str, pd.DataFrame]:
    """The four CSV tables of the case layout, by file name."""
    frame = pd.DataFrame({
        "movie_id": np.arange(movies.genre.size), "original_id": movies.original_id, "name": texts.titles,
        "date": movies.year, "tagline": texts.taglines, "description": texts.descriptions, "minute": movies.minute,
        "theatrical_release_age_rating": np.asarray(AGE_RATINGS, dtype=object)[movies.age],
        "rating": ratings.values,
    }, columns=list(MOVIE_COLUMNS))
    return {
        MOVIES_FILE: frame,
        ACTORS_FILE: _link_table(cast, movies.original_id, "actor_name", names.actors),
        DIRECTORS_FILE: _link_table(directors, movies.original_id, "director_name", names.directors),
        STUDIOS_FILE: _link_table(studios, movies.original_id, "studio", names.studios),
    }


def _truth(n: int, seed: int, names: _Names, cast: _Links, directors: _Links, ratings: _Ratings) -> DemoTruth:
    ref = REFERENCE_YEAR - YEAR_MIN
    spread_ref = SPREAD_AT_MIN + SPREAD_SLOPE * ref
    return DemoTruth(
        n_movies=n, seed=int(seed),
        best_actor=str(names.actors[0]), best_director=str(names.directors[0]),
        best_actor_films=int(np.count_nonzero(cast.entity == 0)),
        best_director_films=int(np.count_nonzero(directors.entity == 0)),
        runtime_slope=float(RUNTIME_SLOPE_Z * spread_ref), runtime_clip=RUNTIME_CLIP,
        year_slope=float(YEAR_SLOPE), spread_slope=float(SPREAD_SLOPE),
        genre_effects={g: float(e) for g, e in zip(GENRES, ratings.genre_effects)},
        age_rating_effects={a: float(e) for a, e in zip(AGE_RATINGS, ratings.age_effects)},
        effect_weights={"cast": CAST_WEIGHT, "director": DIRECTOR_WEIGHT, "studio": STUDIO_WEIGHT,
                        "tone": TONE_WEIGHT, "noise_sd": NOISE_SD, "billing_decay": BILLING_DECAY},
        ideal_r2=ratings.ideal_r2,
    )


def _write(out: Path, tables: dict[str, pd.DataFrame], arrays: dict[str, np.ndarray], truth: DemoTruth) -> None:
    """Every file of the folder, each atomically, so an interrupted run leaves no half-written file."""
    out.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        with atomic_path(out / name) as tmp:
            df.to_csv(tmp, index=False, lineterminator="\n", encoding="utf-8")
    for name, arr in arrays.items():
        with atomic_path(out / name) as tmp, tmp.open("wb") as fh:
            np.save(fh, arr, allow_pickle=False)
    write_text(out / TRUTH_FILE, json.dumps(truth.to_dict(), indent=2, sort_keys=True) + "\n")


# =========================================================================== generator
def generate_demo(out_dir: Path, n_movies: int = 1500, seed: int = 0, *, text_dim: int = 32,
                  image_dim: int = 16, cast_extra: int = CAST_EXTRA) -> DemoTruth:
    """Write a synthetic dataset in the case layout to `out_dir` and return its planted truth.

    A cast has 2 + Binomial(cast_extra, 0.4) actors (the default: 7 on average; the case data has 15).

    Same (n_movies, seed, dims) -> byte-identical files. Ratings, tables and texts do not
    depend on the embedding dimensions (separate random streams)."""
    if n_movies < MIN_MOVIES:
        raise ValueError(f"n_movies must be at least {MIN_MOVIES}, got {n_movies}")
    if text_dim < 1 or image_dim < 1:
        raise ValueError(f"embedding dimensions must be positive, got text_dim={text_dim}, image_dim={image_dim}")
    started = time.perf_counter()
    out = Path(out_dir)
    n = int(n_movies)
    # one child stream per section; the sections sharing one (crew: directors then studios) must keep
    # their order, or every seed's files change
    r_movie, r_cast, r_crew, r_names, r_text, r_emb = np.random.default_rng(seed).spawn(6)
    n_star_films = max(STAR_MIN_FILMS, round(n * STAR_FILM_SHARE))
    movies = _latents(r_movie, n)
    cast = _cast(r_cast, n, cast_extra, n_star_films)
    directors = _directors(r_crew, n, n_star_films)
    studios = _studios(r_crew, n)
    ratings = _ratings(movies, cast, directors, studios)
    names = _names(r_names, cast, directors, studios)
    texts = _texts(r_text, movies)
    arrays = _embeddings(r_emb, movies, texts.placeholder, text_dim, image_dim)
    tables = _tables(movies, ratings, texts, names, cast, directors, studios)
    truth = _truth(n, seed, names, cast, directors, ratings)
    _write(out, tables, arrays, truth)
    log.info("demo data: %d movies, %d actor rows, %d director rows, %d studio rows -> %s (%.2fs)",
             n, len(tables[ACTORS_FILE]), len(tables[DIRECTORS_FILE]), len(tables[STUDIOS_FILE]), out,
             time.perf_counter() - started)
    return truth
