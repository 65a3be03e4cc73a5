"""What could change so a movie rates higher, and what would the ultimate movie look like.

Both answers are searches over the shipped model's predictions, never causal claims: they say
which changes the model *associates* with higher ratings. Every change is one a producer could
make, judged from the model's catalogue of training movies (pipeline/model/catalogue.py):

- **people and studios who can be hired**: at least `min_films` training films, a credit in the
  last `active_within_years` years of the training data (credits after a silence of more than
  `career_gap_years`, if no more than `archive_credits` of them, are archive footage: David Bowie
  in 2017 and 2020) and, for people, a first credit less than `max_career_years` before the
  movie's year (archive footage keeps Orson Welles "active" in 2021); for actors, billing in the
  top `actor_billing` in at least half their training films (people who carry roles: Martin
  Scorsese's 24 acting credits are mostly cameos in his own films); and a silence since the last
  credit that their own pace explains: fewer than `silent_credits` films expected in it at their
  rate of credits (Philip Seymour Hoffman, 27 films 1992-2015, would have made ten since;
  20th Century Fox, renamed in 2020, dozens);
- **of the movie's kind**: an actor, director or studio is offered only if at least `kind_films`
  of their films, and `kind_share` of them, had the movie's age rating (no documentary broadcaster
  for a PG-13 comedy), and an
  age rating only if at least `kind_share` of the `neighbours` training movies with the most similar
  story had it (no NC-17 for a family film);
- **runtime** in `runtime_steps` around the movie's own, within the runtimes the model reads (the
  cleaning's clip: a longer cut would be predicted as the longest it has seen).

Single edits are listed by predicted rating, those whose gain exceeds the base learners' disagreement about
it first, then those within it (marked).

The tagline and the description are not edited: they are the film itself, and borrowing another
film's text measures which stories rate higher (`explain` shows the story's share), not how to
write one. Every answer carries its interval and is flagged when its gain is within the base
learners' disagreement about it. Candidates are predicted in batches (one model call per
batch); the combination is searched with Optuna (seeded TPE; at most `max_edits` edits).

The ultimate movie starts from a story: of the recent training movies released in cinemas with an
age rating in `ultimate.age_ratings` and a runtime in `ultimate.runtime`, the one whose tagline,
description, age rating and runtime the model rates highest without any credits; then Optuna casts
it with hireable people and a studio of its kind, and sets its runtime (within `runtime_steps` of
the story's) and its year; coordinate ascent (`ultimate.sweeps`) then tries every offered value of one
choice at a time from Optuna's best, so the card is not beaten by a single edit Optuna happened to miss.
"""
from __future__ import annotations

import difflib
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.config import UltimateConfig, WhatIfConfig
from pipeline.data.clean import age_categories
from pipeline.data.load import LINK_FILES, MovieData
from pipeline.errors import InputError
from pipeline.escape import markdown as md
from pipeline.model.bundle import ModelBundle
from pipeline.model.catalogue import NEWCOMERS, title_key
from pipeline.model.intervals import level_name

KEEP = "keep"
ENTITY_FIELDS = {"director": "director", "studio": "studio", "lead_actor": "actor", "add_actor": "actor"}
PEOPLE = ("actor", "director")


@dataclass(frozen=True)
class Edit:
    field: str          # runtime | age_rating | director | studio | lead_actor | add_actor | year | cast
    value: Any          # minutes, label, entity name, year, or a tuple of names (cast)

    def describe(self) -> str:
        verbs = {"runtime": "runtime", "age_rating": "age rating", "director": "director", "studio": "studio",
                 "lead_actor": "lead actor", "add_actor": "new top-billed actor", "year": "release year"}
        return f"{verbs[self.field]} → {self.value}"


def find_movie(data: MovieData, movie_id: int | None, name: str | None) -> int:
    """The movie to edit, by id or by unique title; a clear InputError (with close titles) otherwise."""
    if movie_id is not None:
        if movie_id not in data.movies.index:
            raise InputError("--movie-id", f"no movie with movie_id {movie_id} in {data.source}")
        return int(movie_id)
    hits = data.movies.index[data.movies["name"].str.casefold() == str(name).casefold()]
    if len(hits) == 0:
        titles = data.movies["name"].drop_duplicates()
        close = difflib.get_close_matches(str(name).casefold(), titles.str.casefold().tolist(), n=3, cutoff=0.75)
        spelled = {t.casefold(): t for t in titles}
        hint = f"; did you mean {', '.join(repr(spelled[c]) for c in close)}?" if close else ""
        raise InputError("--name", f"no movie named '{name}' in {data.source}{hint}")
    if len(hits) > 1:
        years = ", ".join(f"{i} ({data.movies.loc[i, 'date']})" for i in hits[:8])
        raise InputError("--name", f"'{name}' names {len(hits)} movies; pick one with --movie-id: {years}")
    return int(hits[0])


class Variants:
    """Builds candidate movies (copies of a base movie with edits) and predicts them in batches; every
    prediction (stacked and per learner) is clipped to the rating scale."""

    def __init__(self, bundle: ModelBundle, data: MovieData, cache_dir: Path, batch: int):
        self.bundle, self.data, self.cache_dir, self.batch = bundle, data, cache_dir, batch
        self.row_of = pd.Series(np.arange(len(data.movies)), index=data.movies.index)
        self.columns = {c: data.movies.columns.get_loc(c) for c in ("minute", "date", "theatrical_release_age_rating")}

    def _build(self, base: int, edit_sets: list[tuple[Edit, ...]]) -> MovieData:
        n = len(edit_sets)
        movies = self.data.movies.loc[[base] * n].copy()
        movies.index = pd.Index(np.arange(n), name="movie_id")
        embeddings = {k: np.repeat(v[self.row_of[base]][None, :], n, axis=0) for k, v in self.data.embeddings.items()}
        links = {kind: list(df.loc[df["movie_id"] == base].sort_values("billing")["name"])
                 for kind, df in self.data.credits.items()}
        credits: dict[str, tuple[list[int], list[str]]] = {kind: ([], []) for kind in links}
        column = {"runtime": "minute", "year": "date", "age_rating": "theatrical_release_age_rating"}
        for i, edits in enumerate(edit_sets):
            own = dict(links)
            for edit in edits:
                if edit.field in column:
                    movies.iloc[i, self.columns[column[edit.field]]] = edit.value
                elif edit.field in ("director", "studio"):
                    own[edit.field] = [edit.value]
                elif edit.field == "lead_actor":
                    own["actor"] = [edit.value] + [a for a in own["actor"][1:] if a != edit.value]
                elif edit.field == "add_actor":
                    own["actor"] = [edit.value] + [a for a in own["actor"] if a != edit.value]
                elif edit.field == "cast":
                    own["actor"] = list(edit.value)
            for kind, names in own.items():
                credits[kind][0].extend([i] * len(names))
                credits[kind][1].extend(names)
        frames = {kind: pd.DataFrame({"movie_id": np.array(ids, dtype=np.int64), "name": names}) for kind, (ids, names)
                  in credits.items()}
        for frame in frames.values():
            frame["billing"] = frame.groupby("movie_id").cumcount().astype(np.int64) + 1
        return MovieData(movies, frames, embeddings, self.data.source, {})

    def predict(self, base: int, edit_sets: list[tuple[Edit, ...]]) -> pd.DataFrame:
        """`predicted_rating`, each learner's prediction and the interval bounds per edit set."""
        parts = [self.bundle.predict(self._build(base, edit_sets[i:i + self.batch]), self.cache_dir)
                 for i in range(0, len(edit_sets), self.batch)]
        return clip_predictions(pd.concat(parts, ignore_index=True).drop(columns="movie_id"), self.bundle)


def clip_predictions(preds: pd.DataFrame, bundle: ModelBundle) -> pd.DataFrame:
    columns = ["predicted_rating", *bundle.learners]
    preds[columns] = preds[columns].clip(*bundle.cfg.data.rating_range)
    return preds


def entity_support(bundle: ModelBundle) -> dict[str, pd.DataFrame]:
    """Per kind: each training entity's film count and shrunken deviation, from the first shipped encoder
    of credits (time-aware history, or the cross-fitted encodings: over all training films they agree)."""
    encoder = next(enc for lr in bundle.learners.values() for enc in lr.encoders())
    return {kind: pd.DataFrame({"films": s.count, "deviation": s.deviation}, index=s.names.astype(str))
            for kind, s in encoder.support().items()}


class Casting:
    """Who and what may be offered to a movie of a given year, age rating and story (see the module text)."""

    def __init__(self, bundle: ModelBundle, cfg: WhatIfConfig):
        self.bundle, self.cfg, self.catalogue = bundle, cfg, bundle.catalogue
        self.data_end = int(self.catalogue.movies["year"].max())
        deviation = entity_support(bundle)
        shares = self.catalogue.rating_shares
        self.people: dict[str, pd.DataFrame] = {}
        for kind, careers in self.catalogue.careers(cfg.career_gap_years, cfg.archive_credits).items():
            table = careers.join(deviation[kind]["deviation"], how="inner") if kind in deviation else careers.iloc[:0]
            self.people[kind] = table.join(shares[kind], how="left").fillna(0.0)

    def pools(self, year: int, age_rating: str) -> dict[str, list[str]]:
        """Per kind, the `pool_size` best-encoded names who can be hired for a film of this year and rating."""
        cfg, out = self.cfg, {kind: [] for kind in LINK_FILES}
        for kind, table in self.people.items():
            silence = self.data_end - table["active"]
            pace = (table["films"] - 1) / np.maximum(table["active"] - table["first"], 1)
            ok = ((table["films"] >= cfg.min_films) & (silence <= cfg.active_within_years)
                  & (pace * silence <= cfg.silent_credits))
            if kind in PEOPLE:
                ok &= table["first"] > year - cfg.max_career_years
            if kind == "actor" and cfg.actor_billing is not None:
                ok &= table["billing"] <= cfg.actor_billing
            ok &= self.fits(table, age_rating)
            out[kind] = list(table[ok].sort_values("deviation", ascending=False, kind="stable").index[:cfg.pool_size])
        return out

    def fits(self, table: pd.DataFrame, age_rating: str) -> pd.Series:
        share = table[age_rating] if age_rating in table.columns else pd.Series(0.0, index=table.index)
        return (share >= self.cfg.kind_share) & (share * table["films"] >= self.cfg.kind_films - 1e-9)

    def fits_name(self, kind: str, name: str, age_rating: str) -> bool:
        table = self.people[kind]
        return name in table.index and bool(self.fits(table.loc[[name]], age_rating).iloc[0])

    def age_ratings(self, story: np.ndarray | None) -> tuple[list[str], str]:
        """The age ratings a film of this story could carry, and how that was decided."""
        labels = list(self.bundle.cfg.clean.age_ratings)
        if story is None or self.catalogue.stories is None or not np.any(story):
            return labels, "age ratings not checked against the story (no story vectors)"
        near = self.catalogue.neighbours(story, self.cfg.neighbours)
        shares = self.catalogue.movies["age_rating"].iloc[near].value_counts(normalize=True)
        kept = [label for label in labels if shares.get(label, 0.0) >= self.cfg.kind_share]
        return kept, (f"age ratings held by at least {self.cfg.kind_share:.0%} of the {self.cfg.neighbours} "
                      f"training movies with the most similar story: {', '.join(kept) or 'none'}")

    def note(self, edits: tuple[Edit, ...]) -> str:
        """Each name's films and credited years; runtime and year outside the training data."""
        notes, stats = [], self.bundle.stats
        for edit in edits:
            names = edit.value if edit.field == "cast" else (edit.value,)
            kind = "actor" if edit.field == "cast" else ENTITY_FIELDS.get(edit.field)
            for name in names if kind else ():
                row = self.people[kind].loc[name]
                notes.append(f"{name}: {int(row['films'])} training films, {int(row['first'])}–{int(row['last'])}")
            if edit.field == "runtime" and not stats.runtime_low <= edit.value <= stats.runtime_high:
                notes.append(f"runtime {edit.value} min is outside the training range "
                             f"{stats.runtime_low:g}-{stats.runtime_high:g}")
            elif edit.field == "year" and not stats.year_min <= edit.value <= stats.year_max:
                notes.append(f"year {edit.value} is outside the training years {stats.year_min}-{stats.year_max} "
                             f"(the model carries its nearest trends on)")
        return "; ".join(notes) or "within the training data"


def story_vector(bundle: ModelBundle, data: MovieData, movie_id: int, cache_dir: Path) -> np.ndarray | None:
    frame = bundle.frame(data.subset(np.array([movie_id])), cache_dir)
    return frame.blocks["text"][0] if "text" in frame.blocks else None


def single_edits(data: MovieData, movie_id: int, pools: dict[str, list[str]], ratings: list[str],
                 cfg: WhatIfConfig, runtimes: tuple[float, float]) -> list[Edit]:
    """Every single edit offered; runtimes only within `runtimes`, the range the model reads (the cleaning's
    clip: a longer cut would be predicted as the longest one it has seen)."""
    movie = data.movies.loc[movie_id]
    edits = []
    if pd.notna(movie["minute"]):
        edits += [Edit("runtime", int(movie["minute"]) + step) for step in cfg.runtime_steps
                  if runtimes[0] <= int(movie["minute"]) + step <= runtimes[1]]
    edits += [Edit("age_rating", label) for label in ratings if label != movie["theatrical_release_age_rating"]]
    own = {kind: set(df.loc[df["movie_id"] == movie_id, "name"]) for kind, df in data.credits.items()}
    edits += [Edit(kind, name) for kind in ("director", "studio") for name in pools[kind] if name not in own[kind]]
    edits += [Edit(field, name) for field in ("lead_actor", "add_actor") for name in pools["actor"]
              if name not in own["actor"]]
    return edits


def learner_noise(rows: pd.DataFrame, base: pd.Series, learners: list[str]) -> pd.Series:
    """Per row, the base learners' disagreement about its change against `base`: the standard deviation of
    their changes (a gain no larger than it is within noise)."""
    if len(learners) < 2:
        return pd.Series(0.0, index=rows.index)
    return (rows[learners].astype(np.float64) - base[learners].astype(np.float64)).std(axis=1, ddof=1)


def answer_row(row: pd.Series, base: pd.Series | None, bundle: ModelBundle) -> dict[str, Any]:
    """A prediction with its interval and, against `base`, its change, each learner's change and whether the
    change is within the learners' disagreement about it (their standard deviation)."""
    learners = list(bundle.learners)
    spread = float(np.std([row[n] for n in learners], ddof=1)) if len(learners) > 1 else 0.0
    strong = bundle.cfg.whatif.strong_disagreement
    out: dict[str, Any] = {"predicted_rating": float(row["predicted_rating"]),
                           "learners": {n: float(row[n]) for n in learners}, "learner_spread": spread,
                           "disagree": strong is not None and spread > strong}
    levels = bundle.cfg.intervals.levels if bundle.intervals else ()
    out["intervals"] = {level_name(lv): [float(row[f"lower_{level_name(lv)}"]), float(row[f"upper_{level_name(lv)}"])]
                        for lv in levels}
    if base is not None:
        changes = np.array([row[n] - base[n] for n in learners])
        spread = float(learner_noise(row.to_frame().T, base, learners).iloc[0])
        change = float(row["predicted_rating"] - base["predicted_rating"])
        out |= {"change": change, "learner_changes": dict(zip(learners, changes.tolist())),
                "noise": spread, "within_noise": bool(change <= spread)}
    return out


def whatif(bundle: ModelBundle, data: MovieData, movie_id: int, cfg: WhatIfConfig, seed: int,
           cache_dir: Path, seconds: float | None = None) -> dict[str, Any]:
    """The movie's prediction, its best single edits and the best combination of at most `max_edits`. With
    `seconds`, the combination's search starts no new round of trials past that time (every single edit is
    still scored); the answer's `cut_short` says whether it stopped early, and its rules say after how many."""
    import optuna
    deadline = None if seconds is None else time.perf_counter() + seconds
    movie = data.movies.loc[movie_id]
    year = int(movie["date"])
    casting = Casting(bundle, cfg)
    current = age_categories(data.movies.loc[[movie_id], "theatrical_release_age_rating"], bundle.cfg.clean).iloc[0]
    ratings, ratings_note = casting.age_ratings(story_vector(bundle, data, movie_id, cache_dir))
    pools = casting.pools(year, current)
    edits = single_edits(data, movie_id, pools, ratings, cfg, (bundle.stats.runtime_low, bundle.stats.runtime_high))
    variants = Variants(bundle, data, cache_dir, cfg.batch)
    preds = variants.predict(movie_id, [()] + [(e,) for e in edits])
    base, singles = preds.iloc[0], preds.iloc[1:].reset_index(drop=True)
    singles["edit"] = edits
    singles = singles.sort_values("predicted_rating", ascending=False, kind="stable")

    # the combination: up to max_edits slots, each "keep" or one of the best single values of some field;
    # two slots on the same field keep the first; people and studios must fit the combination's age rating
    options: dict[str, Edit] = {}
    for edit in singles["edit"]:
        if sum(e.field == edit.field for e in options.values()) < cfg.combo_choices:
            options[f"{edit.field}:{len(options)}"] = edit
    slot = optuna.distributions.CategoricalDistribution([KEEP, *options])

    def combo_of(params: dict[str, str]) -> tuple[Edit, ...] | None:
        first_per_field: dict[str, Edit] = {}
        for value in params.values():
            if value != KEEP:
                first_per_field.setdefault(options[value].field, options[value])
        combo = tuple(first_per_field.values())
        rating = next((e.value for e in combo if e.field == "age_rating"), current)
        fits = all(casting.fits_name(ENTITY_FIELDS[e.field], e.value, rating) for e in combo
                   if e.field in ENTITY_FIELDS)
        return combo if fits else None

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    best: tuple[float, tuple[Edit, ...], pd.Series] = (float(base["predicted_rating"]), (), base)
    per_round = -(-cfg.trials // cfg.rounds)
    tried = 0
    for start in range(0, cfg.trials, per_round):
        if deadline is not None and time.perf_counter() > deadline:
            break
        tried = min(start + per_round, cfg.trials)
        trials = [study.ask({f"edit_{k + 1}": slot for k in range(cfg.max_edits)})
                  for _ in range(min(per_round, cfg.trials - start))]
        combos = [combo_of(t.params) for t in trials]
        feasible = [(t, c) for t, c in zip(trials, combos) if c is not None]
        for trial in (t for t, c in zip(trials, combos) if c is None):
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        rows = variants.predict(movie_id, [c for _, c in feasible]) if feasible else pd.DataFrame()
        for (trial, combo), (_, row) in zip(feasible, rows.iterrows()):
            study.tell(trial, float(row["predicted_rating"]))
            if row["predicted_rating"] > best[0]:
                best = (float(row["predicted_rating"]), combo, row)

    def answer(combo: tuple[Edit, ...], row: pd.Series) -> dict[str, Any]:
        return ({"edits": [e.describe() for e in combo], "changes": [{"field": e.field, "value": e.value} for e in combo],
                 "support": casting.note(combo)} | answer_row(row, base, bundle))

    # listed: the edits whose gain exceeds the learners' disagreement first, then those within it
    gain = singles["predicted_rating"] - base["predicted_rating"]
    noise = gain <= learner_noise(singles, base, list(bundle.learners))
    shown = singles.assign(noise=noise).sort_values(
        ["noise", "predicted_rating"], ascending=[True, False], kind="stable").head(cfg.top)
    in_training, known = bundle.catalogue.known(pd.Series([movie["name"]]), pd.Series([year]))
    actual = movie["rating"] if pd.notna(movie["rating"]) else known[0]
    return {"movie_id": movie_id, "name": movie["name"], "year": year,
            "actual_rating": None if pd.isna(actual) else float(actual), "in_training_data": bool(in_training[0]),
            "unknown_names": bundle.catalogue.unknown_names(data.subset(np.array([movie_id]))).iloc[0],
            **answer_row(base, None, bundle),
            "single_edits": [answer((r["edit"],), r) for _, r in shown.iterrows()],
            "best_combination": answer(best[1], best[2]), "candidates": len(edits), "trials": tried,
            "cut_short": tried < cfg.trials,
            "rules": casting_rules(cfg, casting.data_end) + [ratings_note] + (
                [f"The combined edit's search stopped after {tried} of {cfg.trials} trials: it reached its "
                 f"{seconds:g} s limit."] if tried < cfg.trials else [])}


def casting_rules(cfg: WhatIfConfig, data_end: int) -> list[str]:
    return [f"people and studios with at least {cfg.min_films} training films and a credit since "
            f"{data_end - cfg.active_within_years} (the training data ends in {data_end}; a few credits after "
            f"{cfg.career_gap_years}+ silent years are archive footage) and silent for no longer than their own "
            f"pace of credits explains ({cfg.silent_credits:g} films); people whose first credit is under "
            f"{cfg.max_career_years} years before the film",
            f"each has made at least {cfg.kind_films} films ({cfg.kind_share:.0%} of theirs) at the film's age rating",
            *([f"actors billed in the top {cfg.actor_billing:g} in at least half their films (people who carry "
               "roles, not cameos)"] if cfg.actor_billing is not None else [])]


def ultimate(bundle: ModelBundle, cfg: UltimateConfig, wcfg: WhatIfConfig, seed: int, cache_dir: Path,
             starts: list[dict[str, Any]] = ()) -> dict[str, Any]:
    """The highest-predicted movie a producer could make: a real recent story, cast with hireable people and a
    studio of its kind (see the module text). `starts`: what-if answers (their `name`, `year` and best
    combination's `changes`) whose films, edited so, are searched on from as well (when recent and of an age rating
    searched), so no edited film the report shows is predicted above the card unless the card's rules (a
    recent story, hireable people, a cast of at most `cast_size`, a year not yet made) hold it down. Depends on
    the model alone, never on a data folder."""
    catalogue, casting = bundle.catalogue, Casting(bundle, wcfg)
    movies = catalogue.movies
    told = (movies["tagline"].str.len() > 0) | (movies["description"].str.len() > 0)
    eligible = (told & (movies["year"] >= casting.data_end - wcfg.active_within_years)
                & movies["age_rating"].isin(cfg.age_ratings)).to_numpy()
    recent = np.flatnonzero(eligible & movies["minute"].between(cfg.runtime[0], cfg.runtime[1]).to_numpy())
    if len(recent) == 0:
        raise InputError("params.yaml", f"no training movie since {casting.data_end - wcfg.active_within_years} "
                         f"has a tagline or description, an age rating in ultimate.age_ratings and a runtime in "
                         f"ultimate.runtime: nothing to build the ultimate movie from")
    stories = catalogue.movie_data(recent, Path("<catalogue>"), credits=False)
    stories.movies["date"] = cfg.years[0]
    scored = clip_predictions(bundle.predict(stories, cache_dir), bundle)
    cards = [_cast_story(bundle, casting, int(recent[int(np.argmax(scored["predicted_rating"].to_numpy()))]),
                         cfg, wcfg, seed, cache_dir, None)]
    keys = title_key(movies["name"], movies["year"]).to_numpy()
    for start in starts:
        rows = np.flatnonzero(keys == title_key(pd.Series([start["name"]]), pd.Series([start["year"]])).iloc[0])
        if len(rows) and eligible[rows[0]]:       # its runtime is brought into ultimate.runtime by the search
            changes = [(c["field"], c["value"]) for c in start["best_combination"]["changes"]]
            cards.append(_cast_story(bundle, casting, int(rows[0]), cfg, wcfg, seed, cache_dir, changes))
    card = max(cards, key=lambda c: c["predicted_rating"])
    return card | {"stories": len(recent), "trials": cfg.trials}


def _cast_story(bundle: ModelBundle, casting: Casting, story: int, cfg: UltimateConfig, wcfg: WhatIfConfig, seed: int,
                cache_dir: Path, edits: list[tuple[str, Any]] | None) -> dict[str, Any]:
    """The story cast, dated and cut by Optuna (`edits` None) or from the story's own film with the what-if's
    `edits` (field, value) applied, then coordinate ascent; its card."""
    import optuna
    movies = bundle.catalogue.movies
    base = bundle.catalogue.movie_data(np.array([story]), Path("<catalogue>"))
    age_rating = str(movies["age_rating"].iloc[story])
    pools = casting.pools(cfg.years[1], age_rating)
    minute, span = int(movies["minute"].iloc[story]), max(abs(s) for s in wcfg.runtime_steps)
    lo, hi = max(cfg.runtime[0], minute - span), min(cfg.runtime[1], minute + span)
    low, high = cfg.cast_size
    dist = optuna.distributions
    space: dict[str, Any] = {"cast_size": dist.IntDistribution(low, high),
                             "runtime": dist.IntDistribution(lo, lo + 5 * ((hi - lo) // 5), step=5),
                             "year": dist.IntDistribution(cfg.years[0], cfg.years[1])}
    space |= {kind: dist.CategoricalDistribution(pools[kind]) for kind in ("director", "studio") if pools[kind]}
    if pools["actor"]:
        space |= {f"actor_{k}": dist.CategoricalDistribution(pools["actor"]) for k in range(1, high + 1)}

    def edits_of(p: dict[str, Any]) -> tuple[Edit, ...]:
        cast = tuple(dict.fromkeys(p[f"actor_{k}"] for k in range(1, p["cast_size"] + 1))) if pools["actor"] else ()
        return (*(Edit(kind, p[kind]) for kind in ("director", "studio") if kind in p), Edit("cast", cast),
                Edit("runtime", p["runtime"]), Edit("year", p["year"]))

    variants = Variants(bundle, base, cache_dir, wcfg.batch)
    if edits is None:
        params, best = _optuna_cast(space, edits_of, partial(variants.predict, story), cfg.trials, wcfg.rounds, seed)
    else:
        params = _film_as_cast(base, story, space, pools, dict(edits), cfg)
        best = (-np.inf, (), None)
    sweeps = max(cfg.sweeps, 1) if edits is not None else cfg.sweeps      # a start is always climbed from
    best = _ascend(best, params, space, edits_of, partial(variants.predict, story), sweeps)
    chosen, row = {e.field: e.value for e in best[1]}, best[2]
    film = movies.iloc[story]
    return {"title": film["name"], "story_from": f"{film['name']} ({int(film['year'])})",
            "from_whatif": edits is not None,
            "tagline": film["tagline"], "description": film["description"], "age_rating": age_rating,
            "director": chosen.get("director"), "studio": chosen.get("studio"), "cast": list(chosen["cast"]),
            "runtime": int(chosen["runtime"]), "year": int(chosen["year"]),
            "support": casting.note(best[1]), "rules": casting_rules(wcfg, casting.data_end),
            **answer_row(row, None, bundle)}


def _optuna_cast(space: dict[str, Any], edits_of: Callable, predict: Callable, trials: int, rounds: int,
                 seed: int) -> tuple[dict[str, Any], tuple]:
    """Optuna's seeded TPE over every choice at once, asked and predicted in `rounds` batches: its best
    parameters and (prediction, edits, row)."""
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    best: tuple[float, tuple[Edit, ...], pd.Series | None] = (-np.inf, (), None)
    per_round = -(-trials // rounds)
    for start in range(0, trials, per_round):
        asked = [study.ask(space) for _ in range(min(per_round, trials - start))]
        combos = [edits_of(t.params) for t in asked]
        for trial, combo, (_, row) in zip(asked, combos, predict(combos).iterrows()):
            study.tell(trial, float(row["predicted_rating"]))
            if row["predicted_rating"] > best[0]:
                best = (float(row["predicted_rating"]), combo, row)
    return study.best_params, best


def _film_as_cast(base: MovieData, story: int, space: dict[str, Any], pools: dict[str, list[str]],
                  edits: dict[str, Any], cfg: UltimateConfig) -> dict[str, Any]:
    """The story's own film with a what-if's edits, as the search's parameters: its director, studio and
    cast (in billing order) where they are offered (else the best offered), its runtime on the search's grid,
    the first year searched."""
    own = {kind: list(df.sort_values("billing")["name"]) for kind, df in base.credits.items()}
    cast = own.get("actor", [])
    if "lead_actor" in edits:
        cast = [edits["lead_actor"]] + [a for a in cast[1:] if a != edits["lead_actor"]]
    if "add_actor" in edits:
        cast = [edits["add_actor"]] + [a for a in cast if a != edits["add_actor"]]
    offered = [a for a in cast if a in pools["actor"]]
    offered += [a for a in pools["actor"] if a not in offered]
    size = min(max(len([a for a in cast if a in pools["actor"]]), cfg.cast_size[0]), cfg.cast_size[1])
    runtime = space["runtime"]
    minute = int(edits.get("runtime", base.movies["minute"].iloc[0]))
    params: dict[str, Any] = {"cast_size": size, "year": cfg.years[0],
                              "runtime": int(np.clip(runtime.low + runtime.step * round((minute - runtime.low)
                                                                                         / runtime.step),
                                                     runtime.low, runtime.high))}
    for kind in ("director", "studio"):
        if kind in space:
            wanted = [edits[kind]] if kind in edits else own.get(kind, [])[:1]
            params[kind] = next((n for n in wanted if n in pools[kind]), pools[kind][0])
    if pools["actor"]:
        params |= {f"actor_{k}": offered[(k - 1) % len(offered)] for k in range(1, cfg.cast_size[1] + 1)}
    return params


def _ascend(best: tuple[float, tuple[Edit, ...], pd.Series], params: dict[str, Any], space: dict[str, Any],
            edits_of: Callable[[dict[str, Any]], tuple[Edit, ...]],
            predict: Callable[[list[tuple[Edit, ...]]], pd.DataFrame], sweeps: int) -> tuple:
    """Coordinate ascent from the search's best `params`: each choice in turn set to every value its
    distribution offers (one batch), the best kept if it beats `best`; `sweeps` passes, fewer if one
    changes nothing. TPE samples every choice at once; this finishes what it started, one choice at a time."""
    if best[2] is None:            # a start that was never predicted
        row = predict([edits_of(params)]).iloc[0]
        best = (float(row["predicted_rating"]), edits_of(params), row)
    for _ in range(sweeps):
        improved = False
        for key, distribution in space.items():
            values = (distribution.choices if hasattr(distribution, "choices") else
                      range(distribution.low, distribution.high + 1, distribution.step))
            candidates = [params | {key: v} for v in values if v != params[key]]
            if not candidates:
                continue
            rows = predict([edits_of(p) for p in candidates]).reset_index(drop=True)
            top = int(np.argmax(rows["predicted_rating"].to_numpy()))
            if rows["predicted_rating"].iloc[top] > best[0]:
                params, improved = candidates[top], True
                best = (float(rows["predicted_rating"].iloc[top]), edits_of(params), rows.iloc[top])
        if not improved:
            break
    return best


def _disagreement(answer: dict[str, Any]) -> str:
    """A sentence beside the interval when the learners disagree strongly (else ""): the interval does not
    widen for it, so the reader must be told."""
    if not answer.get("disagree"):
        return ""
    values = answer["learners"].values()
    return (f" **The learners disagree strongly here** (from {min(values):.2f} to {max(values):.2f}, sd "
            f"{answer['learner_spread']:.2f}): the interval does not widen for that (a term for it lost on forward "
            "validation), so this answer is less sure than its interval says.")


def _interval(answer: dict[str, Any]) -> str:
    return "".join(f" [{lo:.2f}, {hi:.2f}]" for lo, hi in list(answer["intervals"].values())[:1])


def _level(answer: dict[str, Any]) -> str:
    return next(iter(answer["intervals"]), "")


def whatif_markdown(answer: dict[str, Any]) -> str:
    """The answer as the CLI prints it and the report shows it (one function: they cannot differ)."""
    level = _level(answer)
    if answer["actual_rating"] is None:
        seen = "not in the training data"
    elif answer["in_training_data"]:
        seen = f"actual {answer['actual_rating']:.2f}; one of the model's training movies, so it has seen this rating"
    else:
        seen = f"actual {answer['actual_rating']:.2f}; not in the training data"
    lines = [f"### {md(answer['name'])} ({answer['year']})", "",
             f"Predicted **{answer['predicted_rating']:.2f}**" + (f", {level}% interval{_interval(answer)}" if level
                                                                  else "") + f" ({seen})."
             + _disagreement(answer), "",
             *([f"{NEWCOMERS.capitalize()}: {md(answer['unknown_names'])}.", ""]
               if answer.get("unknown_names") else []),
             "Offered: " + "; ".join(answer["rules"]) + ".", "",
             f"| edit | predicted{f' ({level}% interval)' if level else ''} | change | per learner | support |",
             "|---|---|---|---|---|"]
    for e in answer["single_edits"]:
        lines.append(f"| {md(e['edits'][0])} | {e['predicted_rating']:.3f}{_interval(e)} | {_change(e)} | "
                     f"{_per_learner(e)} | {md(e['support'])} |")
    if answer["single_edits"] and all(e["within_noise"] for e in answer["single_edits"]):
        lines += ["", "No single edit moves the prediction by more than the base learners disagree about it: read "
                  "these as no change."]
    combo = answer["best_combination"]
    n = len(combo["edits"])
    lines += ["", f"Best combination ({n} edit{'s' * (n != 1)}, {answer['trials']} Optuna trials): predicted "
              f"{combo['predicted_rating']:.3f}{_interval(combo)}, change {_change(combo)}." + _disagreement(combo), ""]
    lines += [f"- {md(e)}" for e in combo["edits"]] + [f"- per learner: {_per_learner(combo)}",
                                                       f"- support: {md(combo['support'])}", ""]
    return "\n".join(lines)


def _change(answer: dict[str, Any]) -> str:
    flag = f" (within noise ±{answer['noise']:.2f})" if answer["within_noise"] else ""
    return f"{answer['change']:+.3f}{flag}"


def _per_learner(answer: dict[str, Any]) -> str:
    return ", ".join(f"{n} {v:+.3f}" for n, v in answer["learner_changes"].items())


def ultimate_markdown(card: dict[str, Any]) -> str:
    level = _level(card)
    return "\n".join([
        "### The ultimate movie (as the model sees it)", "",
        f"**Predicted rating {card['predicted_rating']:.2f}**" + (f", {level}% interval{_interval(card)}" if level
                                                                  else "")
        + f" (per learner, sd {card['learner_spread']:.2f}: "
        + ", ".join(f"{n} {v:.2f}" for n, v in card["learners"].items()) + ")." + _disagreement(card), "",
        (f"- Story of *{md(card['story_from'])}*, whose edited film in the what-if answers it starts from and "
         f"recasts (the search's own story, the best-rated of {card['stories']} recent theatrical training stories "
         f"without credits, came lower): \"{md(card['tagline'])}\" {md(card['description'])}"
         if card.get("from_whatif") else
         f"- Story of *{md(card['story_from'])}*, the best-rated of {card['stories']} recent theatrical training "
         f"stories without credits: \"{md(card['tagline'])}\" {md(card['description'])}"),
        f"- Year {card['year']}, {card['runtime']} minutes, rated {md(card['age_rating'])} (the story's own rating)",
        f"- Directed by {md(card['director'] or 'nobody who fits')}; studio {md(card['studio'] or 'none that fits')}",
        f"- Cast (billing order): {md(', '.join(card['cast']) or 'nobody who fits')}",
        f"- Offered: {'; '.join(card['rules'])}",
        f"- Support: {md(card['support'])}", ""])
