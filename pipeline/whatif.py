"""What could change so a movie rates higher, and what would the ultimate movie look like.

Both answers are searches over the shipped model's predictions, never causal claims: they say
which changes the model *associates* with higher ratings. Every candidate is a real part
(a credited actor, director or studio with enough training films; a real tagline or
description) or a runtime/year, and each answer carries a support note. Candidates are
predicted in batches (one model call per batch), and the search uses Optuna (seeded TPE,
categorical and integer distributions; at most `max_edits` simultaneous edits).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.config import UltimateConfig, WhatIfConfig
from pipeline.data import MovieData
from pipeline.errors import InputError
from pipeline.model import ModelBundle

log = logging.getLogger(__name__)
KEEP = "keep"
ENTITY_FIELDS = {"director": "director", "studio": "studio", "lead_actor": "actor", "add_actor": "actor"}


@dataclass(frozen=True)
class Edit:
    field: str          # runtime | age_rating | director | studio | lead_actor | add_actor | tagline | description
    value: Any          # minutes, label, entity name, or the movie_id whose text is borrowed

    def describe(self, data: MovieData) -> str:
        if self.field in ("tagline", "description"):
            text = data.movies.loc[self.value, self.field]
            return f"{self.field} of '{data.movies.loc[self.value, 'name']}': \"{text[:80]}\""
        verbs = {"runtime": "runtime", "age_rating": "age rating", "director": "director", "studio": "studio",
                 "lead_actor": "lead actor", "add_actor": "new top-billed actor"}
        return f"{verbs[self.field]} → {self.value}"


def find_movie(data: MovieData, movie_id: int | None, name: str | None) -> int:
    """The movie to edit, by id or by unique title; a clear InputError otherwise."""
    if movie_id is not None:
        if movie_id not in data.movies.index:
            raise InputError("--movie-id", f"no movie with movie_id {movie_id} in {data.source}")
        return int(movie_id)
    hits = data.movies.index[data.movies["name"].str.casefold() == str(name).casefold()]
    if len(hits) == 0:
        raise InputError("--name", f"no movie named '{name}' in {data.source}")
    if len(hits) > 1:
        years = ", ".join(f"{i} ({data.movies.loc[i, 'date']})" for i in hits[:8])
        raise InputError("--name", f"'{name}' names {len(hits)} movies; pick one with --movie-id: {years}")
    return int(hits[0])


class Variants:
    """Builds candidate movies (copies of a base movie with edits) and predicts them in batches."""

    def __init__(self, bundle: ModelBundle, data: MovieData, cache_dir: Path, batch: int):
        self.bundle, self.data, self.cache_dir, self.batch = bundle, data, cache_dir, batch
        self.row_of = pd.Series(np.arange(len(data.movies)), index=data.movies.index)

    def _build(self, base: int, edit_sets: list[tuple[Edit, ...]]) -> MovieData:
        n = len(edit_sets)
        movies = self.data.movies.loc[[base] * n].copy()
        movies.index = pd.Index(np.arange(n), name="movie_id")
        embeddings = {k: np.repeat(v[self.row_of[base]][None, :], n, axis=0) for k, v in self.data.embeddings.items()}
        links = {kind: df[df["movie_id"] == base].sort_values("billing") for kind, df in self.data.credits.items()}
        credits: dict[str, list[pd.DataFrame]] = {kind: [] for kind in links}
        for i, edits in enumerate(edit_sets):
            own = {kind: list(df["name"]) for kind, df in links.items()}
            for edit in edits:
                if edit.field == "runtime":
                    movies.iloc[i, movies.columns.get_loc("minute")] = edit.value
                elif edit.field == "year":
                    movies.iloc[i, movies.columns.get_loc("date")] = edit.value
                elif edit.field == "age_rating":
                    movies.iloc[i, movies.columns.get_loc("theatrical_release_age_rating")] = edit.value
                elif edit.field in ("tagline", "description"):
                    movies.iloc[i, movies.columns.get_loc(edit.field)] = self.data.movies.loc[edit.value, edit.field]
                    if edit.field in embeddings:
                        embeddings[edit.field][i] = self.data.embeddings[edit.field][self.row_of[edit.value]]
                elif edit.field in ("director", "studio"):
                    own[edit.field] = [edit.value]
                elif edit.field == "lead_actor":
                    own["actor"] = [edit.value] + [a for a in own["actor"][1:] if a != edit.value]
                elif edit.field == "add_actor":
                    own["actor"] = [edit.value] + [a for a in own["actor"] if a != edit.value]
                elif edit.field == "cast":
                    own["actor"] = list(edit.value)
            for kind, names in own.items():
                credits[kind].append(pd.DataFrame({"movie_id": i, "name": names,
                                                   "billing": np.arange(1, len(names) + 1)}))
        frames = {kind: pd.concat(parts, ignore_index=True) if parts else links[kind].iloc[:0]
                  for kind, parts in credits.items()}
        return MovieData(movies, frames, embeddings, self.data.source, {})

    def predict(self, base: int, edit_sets: list[tuple[Edit, ...]]) -> pd.DataFrame:
        """`predicted_rating` and each learner's prediction per edit set, in batches of `batch`."""
        parts = [self.bundle.predict(self._build(base, edit_sets[i:i + self.batch]), self.cache_dir)
                 for i in range(0, len(edit_sets), self.batch)]
        return pd.concat(parts, ignore_index=True).drop(columns="movie_id")


def entity_support(bundle: ModelBundle) -> dict[str, pd.DataFrame]:
    """Per kind: each training entity's film count and shrunken deviation, from the first shipped encoder
    of credits (time-aware history, or the cross-fitted encodings: over all training films they agree)."""
    encoder = next(enc for lr in bundle.learners.values()
                   for enc in (getattr(lr, "history_", None), getattr(lr, "encoder_", None)) if enc is not None)
    return {kind: pd.DataFrame({"films": s.count, "deviation": s.deviation}, index=s.names.astype(str))
            for kind, s in encoder.support().items()}


def candidate_pools(bundle: ModelBundle, cfg: WhatIfConfig) -> dict[str, list[str]]:
    """Best-encoded entities with at least `min_films` training films, per kind."""
    pools = {}
    for kind, table in entity_support(bundle).items():
        eligible = table[table["films"] >= cfg.min_films].sort_values("deviation", ascending=False)
        pools[kind] = list(eligible.index[:cfg.pool_size])
    return pools


def support_note(edits: tuple[Edit, ...], support: dict[str, pd.DataFrame], bundle: ModelBundle) -> str:
    notes = []
    for edit in edits:
        if edit.field in ENTITY_FIELDS:
            films = support[ENTITY_FIELDS[edit.field]]["films"].get(str(edit.value), 0)
            notes.append(f"{edit.value}: {int(films)} training films")
        elif edit.field == "runtime" and not bundle.stats.runtime_low <= edit.value <= bundle.stats.runtime_high:
            notes.append(f"runtime {edit.value} min is outside the training range "
                         f"{bundle.stats.runtime_low:g}-{bundle.stats.runtime_high:g}")
        elif edit.field == "year" and not bundle.stats.year_min <= edit.value <= bundle.stats.year_max:
            notes.append(f"year {edit.value} is outside the training years {bundle.stats.year_min}-"
                         f"{bundle.stats.year_max} (trees do not extrapolate)")
    return "; ".join(notes) or "within the training data"


def single_edits(data: MovieData, movie_id: int, pools: dict[str, list[str]], cfg: WhatIfConfig,
                 age_ratings: tuple[str, ...], seed: int) -> list[Edit]:
    movie = data.movies.loc[movie_id]
    edits = []
    if pd.notna(movie["minute"]):
        edits += [Edit("runtime", int(movie["minute"]) + step) for step in cfg.runtime_steps
                  if int(movie["minute"]) + step > 0]
    current_age = movie["theatrical_release_age_rating"]
    edits += [Edit("age_rating", label) for label in age_ratings if label != current_age]
    own = {kind: set(df.loc[df["movie_id"] == movie_id, "name"]) for kind, df in data.credits.items()}
    edits += [Edit("director", name) for name in pools["director"] if name not in own["director"]]
    edits += [Edit("studio", name) for name in pools["studio"] if name not in own["studio"]]
    for field in ("lead_actor", "add_actor"):
        edits += [Edit(field, name) for name in pools["actor"] if name not in own["actor"]]
    rng = np.random.default_rng(seed)
    donors = data.movies.index[data.movies.index != movie_id].to_numpy()
    donors = rng.choice(donors, size=min(cfg.text_pool, len(donors)), replace=False)
    edits += [Edit(field, int(d)) for field in ("tagline", "description") for d in donors]
    return edits


def _breakdown(row: pd.Series, base: pd.Series, learners: list[str]) -> str:
    return ", ".join(f"{n} {row[n] - base[n]:+.3f}" for n in learners)


def whatif(bundle: ModelBundle, data: MovieData, movie_id: int, cfg: WhatIfConfig, seed: int,
           cache_dir: Path) -> dict[str, Any]:
    """The movie's prediction, its best single edits and the best combination of at most `max_edits`."""
    import optuna
    variants = Variants(bundle, data, cache_dir, cfg.batch)
    learners = list(bundle.learners)
    support = entity_support(bundle)
    edits = single_edits(data, movie_id, candidate_pools(bundle, cfg), cfg, bundle.cfg.clean.age_ratings, seed)
    preds = variants.predict(movie_id, [()] + [(e,) for e in edits])
    base, singles = preds.iloc[0], preds.iloc[1:].reset_index(drop=True)
    singles["edit"] = edits
    singles = singles.sort_values("predicted_rating", ascending=False, kind="stable")

    # the combination: up to max_edits slots, each "none" or one of the best single values of some field;
    # two slots on the same field keep the first, so every sample is feasible by construction
    options: dict[str, Edit] = {}
    for edit in singles["edit"]:
        if sum(e.field == edit.field for e in options.values()) < cfg.combo_choices:
            options[f"{edit.field}:{len(options)}"] = edit
    slot = optuna.distributions.CategoricalDistribution([KEEP, *options])

    def combo_of(params: dict[str, str]) -> tuple[Edit, ...]:
        first_per_field: dict[str, Edit] = {}
        for value in params.values():
            if value != KEEP:
                first_per_field.setdefault(options[value].field, options[value])
        return tuple(first_per_field.values())

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    best: tuple[float, tuple[Edit, ...], pd.Series] = (float(base["predicted_rating"]), (), base)
    per_round = -(-cfg.trials // cfg.rounds)
    for start in range(0, cfg.trials, per_round):
        trials = [study.ask({f"edit_{k + 1}": slot for k in range(cfg.max_edits)})
                  for _ in range(min(per_round, cfg.trials - start))]
        combos = [combo_of(t.params) for t in trials]
        rows = variants.predict(movie_id, combos)
        for trial, combo, (_, row) in zip(trials, combos, rows.iterrows()):
            study.tell(trial, float(row["predicted_rating"]))
            if row["predicted_rating"] > best[0]:
                best = (float(row["predicted_rating"]), combo, row)

    def answer(combo: tuple[Edit, ...], row: pd.Series) -> dict[str, Any]:
        return {"edits": [e.describe(data) for e in combo], "predicted_rating": float(row["predicted_rating"]),
                "change": float(row["predicted_rating"] - base["predicted_rating"]),
                "learners": _breakdown(row, base, learners), "support": support_note(combo, support, bundle)}

    movie = data.movies.loc[movie_id]
    return {"movie_id": movie_id, "name": movie["name"], "year": int(movie["date"]),
            "actual_rating": None if pd.isna(movie["rating"]) else float(movie["rating"]),
            "predicted_rating": float(base["predicted_rating"]),
            "learner_predictions": {n: float(base[n]) for n in learners},
            "single_edits": [answer((r["edit"],), r) for _, r in singles.head(cfg.top).iterrows()],
            "best_combination": answer(best[1], best[2]), "candidates": len(edits), "trials": cfg.trials}


def ultimate(bundle: ModelBundle, data: MovieData, cfg: UltimateConfig, wcfg: WhatIfConfig, seed: int,
             cache_dir: Path) -> dict[str, Any]:
    """The highest-predicted movie composed of real parts within the params.yaml constraints."""
    import optuna
    pools = candidate_pools(bundle, wcfg)
    support = entity_support(bundle)
    variants = Variants(bundle, data, cache_dir, wcfg.batch)
    rng = np.random.default_rng(seed)
    movies = data.movies.index.to_numpy()
    donors = [int(d) for d in rng.choice(movies, size=min(wcfg.text_pool, len(movies)), replace=False)]
    template = donors[0]                          # supplies nothing the search does not overwrite but the poster
    low, high = cfg.cast_size
    space = {"director": optuna.distributions.CategoricalDistribution(pools["director"]),
             "studio": optuna.distributions.CategoricalDistribution(pools["studio"]),
             "cast_size": optuna.distributions.IntDistribution(low, high),
             "runtime": optuna.distributions.IntDistribution(cfg.runtime[0], cfg.runtime[1], step=5),
             "age_rating": optuna.distributions.CategoricalDistribution(list(bundle.cfg.clean.age_ratings)),
             "year": optuna.distributions.IntDistribution(cfg.years[0], cfg.years[1]),
             "tagline": optuna.distributions.CategoricalDistribution(donors),
             "description": optuna.distributions.CategoricalDistribution(donors)}
    space |= {f"actor_{k}": optuna.distributions.CategoricalDistribution(pools["actor"]) for k in range(1, high + 1)}

    def edits_of(p: dict[str, Any]) -> tuple[Edit, ...]:
        cast = list(dict.fromkeys(p[f"actor_{k}"] for k in range(1, p["cast_size"] + 1)))
        return (Edit("director", p["director"]), Edit("studio", p["studio"]), Edit("cast", tuple(cast)),
                Edit("runtime", p["runtime"]), Edit("age_rating", p["age_rating"]), Edit("year", p["year"]),
                Edit("tagline", p["tagline"]), Edit("description", p["description"]))

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    best: tuple[float, dict[str, Any] | None, pd.Series | None] = (-np.inf, None, None)
    per_round = -(-cfg.trials // wcfg.rounds)
    for start in range(0, cfg.trials, per_round):
        trials = [study.ask(space) for _ in range(min(per_round, cfg.trials - start))]
        rows = variants.predict(template, [edits_of(t.params) for t in trials])
        for trial, (_, row) in zip(trials, rows.iterrows()):
            study.tell(trial, float(row["predicted_rating"]))
            if row["predicted_rating"] > best[0]:
                best = (float(row["predicted_rating"]), trial.params, row)
    params, row = best[1], best[2]
    cast = list(dict.fromkeys(params[f"actor_{k}"] for k in range(1, params["cast_size"] + 1)))
    learner_preds = {n: float(row[n]) for n in bundle.learners}
    stacked_spread = float(np.std(list(learner_preds.values()), ddof=1)) if len(learner_preds) > 1 else 0.0
    return {"predicted_rating": best[0], "learner_predictions": learner_preds, "learner_spread": stacked_spread,
            "director": params["director"], "studio": params["studio"], "cast": cast,
            "runtime": params["runtime"], "age_rating": params["age_rating"], "year": params["year"],
            "tagline": data.movies.loc[params["tagline"], "tagline"],
            "tagline_from": data.movies.loc[params["tagline"], "name"],
            "description": data.movies.loc[params["description"], "description"],
            "description_from": data.movies.loc[params["description"], "name"],
            "support": support_note(edits_of(params)[:2] + tuple(Edit("lead_actor", a) for a in cast)
                                    + edits_of(params)[3:6], support, bundle),
            "trials": cfg.trials}


def whatif_markdown(answer: dict[str, Any]) -> str:
    actual = "" if answer["actual_rating"] is None else f", actual {answer['actual_rating']:.2f}"
    lines = [f"### {answer['name']} ({answer['year']})", "",
             f"Predicted {answer['predicted_rating']:.2f}{actual}. Best single edits:", "",
             "| edit | predicted | change | per learner | support |", "|---|---|---|---|---|"]
    for e in answer["single_edits"]:
        lines.append(f"| {e['edits'][0]} | {e['predicted_rating']:.3f} | {e['change']:+.3f} | {e['learners']} | "
                     f"{e['support']} |")
    combo = answer["best_combination"]
    lines += ["", f"Best combination ({len(combo['edits'])} edits, {answer['trials']} Optuna trials): "
              f"predicted {combo['predicted_rating']:.3f} ({combo['change']:+.3f}).", ""]
    lines += [f"- {e}" for e in combo["edits"]] + [f"- support: {combo['support']}", ""]
    return "\n".join(lines)


def ultimate_markdown(card: dict[str, Any]) -> str:
    return "\n".join([
        "### The ultimate movie (as the model sees it)", "",
        f"**Predicted rating {card['predicted_rating']:.2f}** (base learners spread ± {card['learner_spread']:.2f}: "
        + ", ".join(f"{n} {v:.2f}" for n, v in card["learner_predictions"].items()) + ")", "",
        f"- Year {card['year']}, {card['runtime']} minutes, rated {card['age_rating']}",
        f"- Directed by {card['director']}; studio {card['studio']}",
        f"- Cast (billing order): {', '.join(card['cast'])}",
        f"- Tagline (from *{card['tagline_from']}*): \"{card['tagline']}\"",
        f"- Description (from *{card['description_from']}*): {card['description']}",
        f"- Support: {card['support']}", ""])
