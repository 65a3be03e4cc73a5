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
change the ratings.
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
PLACEHOLDER_TAGLINE_SHARE = 0.02
PLACEHOLDER_TAGLINES = ("", "...", "Coming soon.", "TBA")

# --------------------------------------------------------------------------- word lists
FIRST_NAMES = (
    "Ava", "Liam", "Olivia", "Noah", "Emma", "Mason", "Sophia", "Lucas", "Mia", "Ethan", "Isla", "Owen",
    "Harper", "Caleb", "Grace", "Henry", "Chloe", "Jack", "Ruby", "Leo", "Nora", "Felix", "Hazel", "Miles",
    "Clara", "Elliot", "Ivy", "Jonah", "Lena", "Oscar", "Maya", "Theo", "Zoe", "Silas", "Iris", "Declan",
    "Vera", "Rowan", "June", "Arthur", "Stella", "Hugo", "Alice", "Victor", "Nina", "Walter", "Rose",
    "Frank", "Edith", "George", "Mabel", "Harold", "Lois", "Ray", "Dolores", "Vincent", "Gloria", "Louis",
    "Irene", "Samuel", "Bess", "Carl", "Joan", "Dennis", "Marion", "Glen", "Sylvia", "Paul", "Diane",
    "Boris", "Greta", "Omar", "Priya", "Kenji", "Amara", "Diego", "Lucia", "Tomas", "Ingrid", "Rafael",
    "Anika", "Malik", "Yara", "Sean", "Fiona", "Marcus", "Renee", "Colin", "Tessa", "Abel", "Freya",
    "Julian", "Adele", "Wesley", "Helen", "Curtis", "Lydia", "Dwight", "Pearl", "Russell",
)
LAST_NAMES = (
    "Brooks", "Hayes", "Carter", "Bennett", "Foster", "Reed", "Sullivan", "Ward", "Porter", "Hughes",
    "Grant", "Fleming", "Marsh", "Holloway", "Pierce", "Lawson", "Whitaker", "Monroe", "Calloway", "Dunn",
    "Barrett", "Crane", "Mercer", "Harlow", "Vance", "Keller", "Sutton", "Ramsey", "Doyle", "Archer",
    "Finch", "Lowell", "Prescott", "Wilder", "Garland", "Hale", "Ellison", "Maddox", "Quinn", "Rhodes",
    "Sterling", "Thorne", "Winslow", "Yates", "Abbott", "Blake", "Conway", "Dalton", "Everett", "Fairbanks",
    "Gibson", "Hartley", "Irving", "Jensen", "Kimball", "Langley", "Morrow", "Nolan", "Osborne", "Pruitt",
    "Rourke", "Shepard", "Tanner", "Underwood", "Vaughn", "Wolfe", "Ashford", "Bishop", "Cross", "Drake",
    "Emerson", "Frost", "Gaines", "Harmon", "Ingram", "Jordan", "Kane", "Lockhart", "McCoy", "Nash",
    "Okafor", "Park", "Rivera", "Santos", "Tanaka", "Novak", "Lindqvist", "Moreau", "Costa", "Petrov",
    "Achebe", "Mendez", "Kowalski", "Brennan", "Castillo", "Delgado", "Fitzgerald", "Greene", "Hollis",
    "Larkin", "Mulligan", "Pemberton", "Sinclair", "Talbot", "Whitfield", "Beaumont", "Caldwell",
    "Donovan", "Eastwood", "Forsythe", "Goodwin", "Holt", "Kerrigan", "Lennox", "Montague", "Prentiss",
)
STUDIO_HEADS = (
    "North", "Silver", "Red", "Blue", "Golden", "Iron", "Star", "Sun", "Moon", "Oak", "Stone", "Bright",
    "Black", "White", "Green", "High", "Deep", "Clear", "Wild", "Grand", "Storm", "Winter", "Summer",
    "Autumn", "Crystal", "Cedar", "Maple", "River", "Lake", "Eagle", "Falcon", "Lion", "Fox", "Wolf",
    "Bear", "Harbor", "Crown", "Royal", "Lantern", "Copper",
)
STUDIO_TAILS = (
    "light", "brook", "stone", "field", "gate", "wood", "ridge", "view", "star", "bridge", "haven", "wave",
    "crest", "peak", "vale", "ford", "mark", "line", "well", "port", "hill", "side", "dale", "wind", "fire",
    "water", "land", "way", "moor", "shore", "point", "glen", "grove", "bay", "rock", "mont", "wick",
    "worth", "cliff", "spire",
)
STUDIO_KINDS = ("Pictures", "Films", "Studios", "Entertainment", "Productions", "Media", "Releasing",
                "Film Company", "Motion Pictures", "Features")
TITLE_ADJECTIVES = (
    "Silent", "Last", "Crimson", "Broken", "Golden", "Lost", "Hidden", "Midnight", "Wild", "Dark", "Final",
    "Endless", "Burning", "Frozen", "Secret", "Little", "Long", "Bright", "Savage", "Sweet", "Perfect",
    "Empty", "Distant", "Hollow", "Forgotten", "Electric", "Lonely", "Bitter", "Quiet", "Restless",
    "Scarlet", "Iron", "Velvet", "Fallen", "Northern", "Second", "Wicked", "Gentle", "Stolen", "Blue",
)
TITLE_NOUNS = (
    "River", "Summer", "Road", "Kingdom", "Night", "Heart", "Shadow", "City", "House", "Game", "Promise",
    "Storm", "Horizon", "Witness", "Garden", "Stranger", "Harbor", "Mirror", "Dream", "Echo", "Fire",
    "Winter", "Hunter", "Island", "Letter", "Machine", "Orchard", "Signal", "Valley", "Wolf", "Crown",
    "Highway", "Ghost", "Daughter", "Secret", "Season", "Empire", "Frontier", "Lullaby", "Affair",
    "Verdict", "Voyage", "Ransom", "Masquerade", "Paradise", "Diner", "Legacy", "Sky", "Border", "Waltz",
)
TITLE_SEQUELS = (" 2", " II", ": Part Two", " Returns")
# {0}=adjective {1}=noun {2}=second noun {3}=sequel mark; small-space templates are rare, so
# about 3% of 1,500 names repeat (the case data: 370 repeated titles in 10,599)
TITLE_TEMPLATES = ("The {0} {1} of the {2}", "{1} of the {0} {2}", "The {0} {1}", "{0} {1}",
                   "{1} of the {2}", "The {1} and the {2}", "{0} {1}{3}", "{1}", "The {1}")
TITLE_TEMPLATE_PROBS = (0.28, 0.28, 0.10, 0.10, 0.10, 0.05, 0.05, 0.02, 0.02)

GENRE_LABELS = {"drama": "drama", "comedy": "comedy", "horror": "horror film", "action": "action film",
                "romance": "romance", "thriller": "thriller", "documentary": "documentary",
                "animation": "animated adventure"}
GENRE_SUBJECTS = {
    "drama": ("a grieving widow", "an aging pianist", "an estranged brother", "a young teacher",
              "a struggling family", "a factory worker", "a small-town doctor", "an immigrant mother"),
    "comedy": ("a hapless groom", "a slacker roommate", "an uptight accountant", "a washed-up comic",
               "a clumsy substitute teacher", "a pair of bumbling thieves", "an overconfident salesman",
               "a chaotic bridal party"),
    "horror": ("a babysitter", "a group of campers", "the new tenant", "a lonely caretaker",
               "a paranormal investigator", "a college student", "a grieving couple", "the night nurse"),
    "action": ("a former soldier", "a rookie cop", "an ex-assassin", "a getaway driver",
               "a special forces team", "a rogue agent", "a bounty hunter", "a retired boxer"),
    "romance": ("a shy florist", "a pen pal", "a widowed baker", "a traveling musician", "a bride-to-be",
                "a childhood sweetheart", "a lonely architect", "a summer intern"),
    "thriller": ("a detective", "an insurance investigator", "a journalist", "a key witness",
                 "a defense lawyer", "an undercover agent", "a paranoid hacker", "a missing woman's sister"),
    "documentary": ("the filmmaker", "a team of scientists", "a veteran journalist", "a local activist",
                    "a wildlife photographer", "a former inmate", "a jazz legend", "a retired astronaut"),
    "animation": ("a curious young fox", "a toy robot", "a brave little mouse", "a young dragon",
                  "a runaway princess", "a lost penguin", "a talking car", "a family of monsters"),
}
GENRE_NOUNS = {
    "drama": ("memory", "loss", "forgiveness", "family", "inheritance", "silence", "home", "grief"),
    "comedy": ("wedding", "road trip", "prank", "mix-up", "bachelor party", "talent show", "family reunion",
               "lottery ticket"),
    "horror": ("curse", "ghost", "cellar", "ritual", "demon", "graveyard", "possession", "slasher"),
    "action": ("heist", "explosion", "car chase", "shootout", "hostage crisis", "mercenary army", "warlord",
               "showdown"),
    "romance": ("first kiss", "love letter", "summer fling", "engagement", "heartbreak", "second chance",
                "secret admirer", "courtship"),
    "thriller": ("conspiracy", "murder", "blackmail", "kidnapping", "cover-up", "alibi", "double-cross",
                 "secret"),
    "documentary": ("history", "climate", "archive", "testimony", "wildlife", "justice", "music industry",
                    "ocean"),
    "animation": ("magic", "adventure", "enchanted forest", "kingdom", "friendship", "treasure", "quest",
                  "talking animals"),
}
GENRE_VERBS = {
    "drama": ("confronts", "returns to", "wrestles with", "slowly rebuilds", "cannot escape",
              "comes to terms with"),
    "comedy": ("botches", "stumbles into", "tries to fake", "accidentally ruins", "bets everything on",
               "crashes"),
    "horror": ("awakens", "is stalked by", "unearths", "cannot outrun", "summons", "is trapped with"),
    "action": ("battles", "races against", "takes down", "fights through", "hunts down", "must stop"),
    "romance": ("falls for", "rediscovers", "cannot forget", "writes to", "is torn over", "chases"),
    "thriller": ("uncovers", "is framed for", "investigates", "is drawn into", "exposes", "cannot trust"),
    "documentary": ("examines", "documents", "revisits", "investigates", "chronicles", "explores"),
    "animation": ("befriends", "sets out to find", "must save", "discovers", "learns about", "teams up with"),
}
TONE_WORDS_HIGH = ("haunting", "tender", "masterful", "luminous", "profound", "quietly devastating",
                   "unforgettable", "richly observed", "beautifully crafted", "intimate", "moving", "lyrical")
TONE_WORDS_LOW = ("loud", "outrageous", "mindless", "cheap", "ridiculous", "over-the-top", "derivative",
                  "clumsy", "shameless", "trashy", "noisy", "formulaic")
PLACES = ("a small town", "New York", "the desert", "a remote island", "Los Angeles", "the suburbs",
          "a snowbound cabin", "1970s Chicago", "a coastal village", "deep space", "the Old West",
          "a boarding school", "Paris", "a city hospital", "the frontier", "a crumbling mansion")
FILLER_SENTENCES = ("Based on a true story.", "Nothing will ever be the same.", "Time is running out.",
                    "Along the way, old secrets surface.", "Adapted from the bestselling novel.",
                    "Some things cannot be undone.", "The truth is stranger than anyone expected.",
                    "Not everyone will make it home.")
# Slots: {0}=subject {1}=verb {2}=noun {3}=second noun {4}=tone word {5}=second tone word {6}=place
#        {7}=genre label
TAGLINE_TEMPLATES = ("{4} and {5}. Unforgettable.", "Every {2} has a price.", "In {6}, {0} {1} the {2}.",
                     "The {2} was only the beginning.", "A {4} story of {2}.", "This time, {0} {1} the {2}.",
                     "{4}, {5} and impossible to forget.", "No {2}. No mercy. No way back.")
DESCRIPTION_TEMPLATES = ("In {6}, {0} {1} the {2}.", "When {0} {1} the {2}, everything changes.",
                         "{0} {1} the {2} in this {4} {7}.", "A {4} tale of {2} and {3}, set in {6}.",
                         "What follows is {4} and {5}.", "{0} {1} a {2} nobody saw coming.")
STORY_TEMPLATE_COUNT = 3                    # the first description sentence is one of the first three
DESCRIPTION_SENTENCES = (1, 4)              # inclusive range of sentences per description
FILLER_SHARE = 0.25                         # chance a later sentence is a genre-free filler


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
    out.mkdir(parents=True, exist_ok=True)
    n = int(n_movies)
    r_movie, r_cast, r_crew, r_names, r_text, r_emb = np.random.default_rng(seed).spawn(6)

    # ---- movie-level latents
    genre = r_movie.choice(len(GENRES), size=n, p=np.asarray(GENRE_PROBS) / np.sum(GENRE_PROBS))
    tone = r_movie.standard_normal(n)
    year = YEAR_MIN + np.floor((YEAR_MAX - YEAR_MIN + 1) * r_movie.beta(YEAR_BETA_A, YEAR_BETA_B, n)).astype(np.int64)
    year = np.minimum(year, YEAR_MAX)
    minute = np.rint(RUNTIME_MEDIAN * np.exp(RUNTIME_LOG_SD * r_movie.standard_normal(n))).astype(np.int64)
    kind = r_movie.random(n)
    short, long_ = kind < SHORT_SHARE, kind > 1.0 - LONG_SHARE
    minute[short] = r_movie.integers(*SHORT_RANGE, size=int(short.sum()))
    minute[long_] = r_movie.integers(LONG_RANGE[0], LONG_RANGE[1] + 1, size=int(long_.sum()))
    age = _count_choice(r_movie, n, AGE_PROBS)
    noise = r_movie.standard_normal(n)
    original_id = ORIGINAL_ID_START + np.concatenate([[0], np.cumsum(r_movie.integers(1, ORIGINAL_ID_MAX_GAP + 1,
                                                                                        n - 1))])

    # ---- cast: Zipf-popular actors, billing order by popularity (+ noise); actor 0 is the star
    n_actors = _pool_size(n, ACTORS_PER_MOVIE)
    cast_size = CAST_MIN + r_cast.binomial(cast_extra, CAST_EXTRA_P, n)
    cast_size[r_cast.random(n) < NO_CAST_SHARE] = 0
    a_movie, a_actor = _sample_links(r_cast, cast_size, _zipf_probs(n_actors, ZIPF_ACTORS, reserved=1))
    a_key = np.log1p(a_actor) + BILLING_NOISE * r_cast.standard_normal(a_actor.size)
    n_star_films = max(STAR_MIN_FILMS, round(n * STAR_FILM_SHARE))
    star_movies = np.sort(r_cast.choice(np.flatnonzero(cast_size > 0), size=n_star_films, replace=False))
    star_key = np.where(r_cast.random(n_star_films) < STAR_LEAD_SHARE, -np.inf,
                        np.log1p(STAR_SUPPORT_RANK) + BILLING_NOISE * r_cast.standard_normal(n_star_films))
    a_movie = np.concatenate([a_movie, star_movies])
    a_actor = np.concatenate([a_actor, np.zeros(n_star_films, dtype=a_actor.dtype)])
    a_key = np.concatenate([a_key, star_key])
    order = np.lexsort((a_key, a_movie))
    a_movie, a_actor = a_movie[order], a_actor[order]
    keep = _dedupe_within_movie(a_movie, a_actor)
    a_movie, a_actor = a_movie[keep], a_actor[keep]
    billing = _group_starts(a_movie)
    actor_q = _qualities(r_cast, n_actors, n_stars=1)
    cast_q = _entity_mean(a_movie, actor_q[a_actor], BILLING_DECAY ** billing, n)
    n_dup = max(1, round(n * DUPLICATE_ROW_RATE))
    dup_rows = np.sort(np.concatenate([np.arange(a_movie.size), r_cast.choice(a_movie.size, n_dup, replace=False)]))

    # ---- directors (director 0 is the star) and studios
    n_directors = _pool_size(n, DIRECTORS_PER_MOVIE)
    d_count = _count_choice(r_crew, n, DIRECTOR_COUNT_PROBS)
    dir_star_movies = np.sort(r_crew.choice(n, size=n_star_films, replace=False))
    d_count[dir_star_movies] = np.maximum(d_count[dir_star_movies], 1)
    d_movie, d_dir = _sample_links(r_crew, d_count, _zipf_probs(n_directors, ZIPF_DIRECTORS, reserved=1))
    first_row = np.concatenate([[0], np.cumsum(d_count)[:-1]])
    d_dir[first_row[dir_star_movies]] = 0
    keep = _dedupe_within_movie(d_movie, d_dir)
    d_movie, d_dir = d_movie[keep], d_dir[keep]
    director_q = _qualities(r_crew, n_directors, n_stars=1)
    dir_q = _entity_mean(d_movie, director_q[d_dir], np.ones(d_dir.size), n)

    n_studios = _pool_size(n, STUDIOS_PER_MOVIE)
    s_movie, s_studio = _sample_links(r_crew, _count_choice(r_crew, n, STUDIO_COUNT_PROBS),
                                      _zipf_probs(n_studios, ZIPF_STUDIOS))
    keep = _dedupe_within_movie(s_movie, s_studio)
    s_movie, s_studio = s_movie[keep], s_studio[keep]
    studio_q = _qualities(r_crew, n_studios)
    stu_q = _entity_mean(s_movie, studio_q[s_studio], np.ones(s_studio.size), n)

    # ---- the rating
    genre_eff = _centred(GENRE_EFFECTS_RAW, GENRE_PROBS)
    age_eff = _centred(AGE_EFFECTS_RAW, AGE_PROBS)
    signal = (CAST_WEIGHT * cast_q + DIRECTOR_WEIGHT * dir_q + STUDIO_WEIGHT * stu_q + genre_eff[genre]
              + TONE_WEIGHT * tone + RUNTIME_SLOPE_Z * (np.clip(minute, *RUNTIME_CLIP) - RUNTIME_CENTER)
              + age_eff[age])
    since = year - YEAR_MIN
    mean_y, spread_y = YEAR_MEAN_AT_MIN + YEAR_SLOPE * since, SPREAD_AT_MIN + SPREAD_SLOPE * since
    rating = np.round(np.clip(mean_y + spread_y * (signal + NOISE_SD * noise), RATING_MIN, RATING_MAX),
                      RATING_DECIMALS)
    ideal = np.clip(mean_y + spread_y * signal, RATING_MIN, RATING_MAX)
    ideal_r2 = float(1.0 - np.sum((rating - ideal) ** 2) / np.sum((rating - rating.mean()) ** 2))

    # ---- names and texts
    people = _person_names(r_names, n_actors + n_directors)
    actor_names, director_names = people[:n_actors], people[n_actors:]
    studio_names = _studio_names(r_names, n_studios)
    titles = _titles(r_text, n)
    taglines, placeholder = _taglines(r_text, genre, tone)
    descriptions = _descriptions(r_text, genre, tone)

    # ---- embeddings
    text_emb = _text_embeddings(r_emb, genre, tone, text_dim, placeholder)
    poster_emb = _poster_embeddings(r_emb, genre, image_dim)

    # ---- write
    movies = pd.DataFrame({
        "movie_id": np.arange(n), "original_id": original_id, "name": titles, "date": year,
        "tagline": taglines, "description": descriptions, "minute": minute,
        "theatrical_release_age_rating": np.asarray(AGE_RATINGS, dtype=object)[age], "rating": rating,
    }, columns=list(MOVIE_COLUMNS))
    a_movie_d, a_actor_d = a_movie[dup_rows], a_actor[dup_rows]
    tables = {
        MOVIES_FILE: movies,
        ACTORS_FILE: pd.DataFrame({"movie_id": a_movie_d, "original_id": original_id[a_movie_d],
                                   "actor_name": actor_names[a_actor_d]}),
        DIRECTORS_FILE: pd.DataFrame({"movie_id": d_movie, "original_id": original_id[d_movie],
                                      "director_name": director_names[d_dir]}),
        STUDIOS_FILE: pd.DataFrame({"movie_id": s_movie, "original_id": original_id[s_movie],
                                    "studio": studio_names[s_studio]}),
    }
    for name, df in tables.items():
        with atomic_path(out / name) as tmp:
            df.to_csv(tmp, index=False, lineterminator="\n", encoding="utf-8")
    arrays = {TAGLINE_EMB_FILE: text_emb["tagline"], DESCRIPTION_EMB_FILE: text_emb["description"],
              POSTER_EMB_FILE: poster_emb}
    for name, arr in arrays.items():
        with atomic_path(out / name) as tmp, tmp.open("wb") as fh:
            np.save(fh, arr, allow_pickle=False)

    ref = REFERENCE_YEAR - YEAR_MIN
    spread_ref = SPREAD_AT_MIN + SPREAD_SLOPE * ref
    truth = DemoTruth(
        n_movies=n, seed=int(seed),
        best_actor=str(actor_names[0]), best_director=str(director_names[0]),
        best_actor_films=int(np.count_nonzero(a_actor == 0)),
        best_director_films=int(np.count_nonzero(d_dir == 0)),
        runtime_slope=float(RUNTIME_SLOPE_Z * spread_ref), runtime_clip=RUNTIME_CLIP,
        year_slope=float(YEAR_SLOPE), spread_slope=float(SPREAD_SLOPE),
        genre_effects={g: float(e) for g, e in zip(GENRES, genre_eff)},
        age_rating_effects={a: float(e) for a, e in zip(AGE_RATINGS, age_eff)},
        effect_weights={"cast": CAST_WEIGHT, "director": DIRECTOR_WEIGHT, "studio": STUDIO_WEIGHT,
                        "tone": TONE_WEIGHT, "noise_sd": NOISE_SD, "billing_decay": BILLING_DECAY},
        ideal_r2=ideal_r2,
    )
    payload = json.dumps(truth.to_dict(), indent=2, sort_keys=True) + "\n"
    write_text(out / TRUTH_FILE, payload)
    log.info("demo data: %d movies, %d actor rows, %d director rows, %d studio rows -> %s (%.2fs)",
             n, len(tables[ACTORS_FILE]), len(d_movie), len(s_movie), out, time.perf_counter() - started)
    return truth
