"""The report's data sections: what the data holds and how ratings moved over the years, the exploration an
analyst does before modelling (no headline on fewer than HEADLINE_FILMS films), and the cleaning log."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from pipeline.escape import markdown as md
from pipeline.escape import plot_text
from pipeline.io import read_json
from pipeline.report.common import BLUE, RED, Figures, markdown_table

RUNTIME_BANDS = [0, 90, 105, 120, 150, np.inf]      # minutes: under 90, 90-104, 105-119, 120-149, 150+
MIN_FILMS = 5                                        # studios and directors listed have at least this many
HEADLINE_FILMS = 20                                  # no sentence's finding rests on fewer movies than this


def _era_sentence(era: dict) -> str:
    if era["mode"] == "raw":
        return "The learners fit the ratings as they are."
    (knot, level, slope), (s_knot, spread, s_slope) = era["level"], era["spread"]
    out = ("The learners fit each rating relative to its era. Fitted on the training films, the mean rating is "
           f"flat at {level:.2f} until {knot:.0f}, then changes by {slope:+.4f} a year")
    if era["mode"] == "level_spread":
        out += (f"; the typical distance from it is {spread:.2f} until {s_knot:.0f}, then changes by {s_slope:+.4f} "
                "a year, and the learners predict a rating's distance from its era's level in those units")
    return out + (". The lines (dashed in the plot) continue past the last training year: a bet that the drift of "
                  "the training years goes on, which the newest years need not follow (the plot's yearly means).")


def after_the_data(art: Path) -> list[str]:
    """How the shipped model reads a film released after its data (written by the explain stage)."""
    path = art / "explain" / "after_the_data.json"
    return [f"**A film after the data.** {read_json(path)['text']}", ""] if path.is_file() else []


def data_section(art: Path, ds: pd.DataFrame, figs: Figures, metrics: dict) -> list[str]:
    split, era = metrics["split"], metrics["era_target"]
    labelled = ds[ds["rating"].notna()]
    out = ["## 1. The data", "",
           f"{len(ds):,} movies ({len(labelled):,} with a rating), released {int(ds['year'].min())}-"
           f"{int(ds['year'].max())}; mean rating {labelled['rating'].mean():.2f} stars (sd "
           f"{labelled['rating'].std():.2f}). The model is judged on the {split['n_holdout']:,} films from "
           f"{split['cutoff_year']} on (the holdout, never used to fit or choose anything) after learning from the "
           f"{split['n_train']:,} earlier films, in {split['n_folds']} cross-validation folds. "
           + _era_sentence(era), ""]
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    axes[0].hist(labelled["rating"], bins=40, color=BLUE)
    axes[0].set(xlabel="rating (stars)", ylabel="movies", title="Rating distribution")
    by_year = labelled.groupby("year")["rating"].agg(["mean", "std", "size"])
    axes[1].plot(by_year.index, by_year["mean"], color=BLUE, label="yearly mean")
    axes[1].fill_between(by_year.index, by_year["mean"] - by_year["std"], by_year["mean"] + by_year["std"],
                         alpha=0.25, label="± 1 sd")
    lines = metrics.get("era_lines")
    if lines and era["mode"] != "raw":
        years, level, spread = (np.asarray(lines[k]) for k in ("years", "level", "spread"))
        axes[1].plot(years, level, color="black", ls="--", lw=1, label="era level (fitted on training films)")
        if era["mode"] == "level_spread":
            for sign in (-1, 1):
                axes[1].plot(years, level + sign * spread, color="grey", ls="--", lw=1)
    axes[1].axvline(split["cutoff_year"] - 0.5, color=RED, ls="--", label="holdout starts")
    axes[1].set(xlabel="release year", ylabel="rating (stars)", title="Rating by release year")
    axes[1].legend(fontsize=8)
    out.append(figs.save(fig, "data_overview", "rating distribution and rating by year"))
    missing = ds.filter(regex="^(missing|no)_").mean().rename("share of movies").to_frame()
    missing["share of movies"] = missing["share of movies"].map(lambda v: f"{v:.1%}")
    out += ["", "Missing in the raw input:", "", markdown_table(missing.reset_index(names="field")), ""]
    return out + after_the_data(art) + _exploration(ds, figs)


def _by_group(labelled: pd.DataFrame, column: str, order: list | None = None) -> pd.DataFrame:
    """Movies, mean and sd of the rating per value of `column` (in `order`, else by movies), and the mean
    shrunk toward the overall mean by HEADLINE_FILMS pseudo-films (small groups' means are noisy)."""
    g = labelled.groupby(column, observed=True)["rating"].agg(["size", "mean", "std"])
    g = g.reindex([o for o in order if o in g.index]) if order else g.sort_values("size", ascending=False)
    shrunk = _shrunk(g["size"], g["mean"], labelled["rating"].mean())
    return pd.DataFrame({column.replace("_", " "): g.index.astype(str), "movies": g["size"].map("{:,}".format),
                         "mean rating": g["mean"].map("{:.2f}".format), "shrunken mean": shrunk.map("{:.2f}".format),
                         "sd": g["std"].map("{:.2f}".format)})


def _shrunk(size: pd.Series, mean: pd.Series, overall: float) -> pd.Series:
    """Group means pulled toward the overall mean as if each group had HEADLINE_FILMS more average films."""
    return (size * mean + HEADLINE_FILMS * overall) / (size + HEADLINE_FILMS)


def _spread_sentence(table: pd.DataFrame, what: str) -> str:
    """The highest- and lowest-rated groups among those with at least HEADLINE_FILMS movies."""
    table = table[table["movies"].str.replace(",", "").astype(int) >= HEADLINE_FILMS]
    if len(table) < 2:
        return f"No two {what} groups have {HEADLINE_FILMS}+ movies to compare."
    means = table["mean rating"].astype(float)
    hi, lo = table.iloc[int(means.argmax())], table.iloc[int(means.argmin())]
    key = table.columns[0]
    return (f"By {what}, {md(hi[key])} rates highest ({hi['mean rating']}, {hi['movies']} movies) and {md(lo[key])} "
            f"lowest ({lo['mean rating']}, {lo['movies']} movies): a gap of {means.max() - means.min():.2f} stars "
            f"(groups of {HEADLINE_FILMS}+ movies).")


def _top_names(labelled: pd.DataFrame, kind: str, top: int = 10) -> tuple[pd.DataFrame, str]:
    counts = labelled.groupby(f"first_{kind}")["rating"].agg(["size", "mean"])
    counts = counts[counts["size"] >= MIN_FILMS]
    busiest = counts.sort_values("size", ascending=False).head(top)
    best = counts[counts["size"] >= HEADLINE_FILMS].sort_values("mean", ascending=False).head(3)
    shrunk = _shrunk(busiest["size"], busiest["mean"], labelled["rating"].mean())
    table = pd.DataFrame({kind: busiest.index, "movies": busiest["size"].to_numpy(),
                          "mean rating": busiest["mean"].map("{:.2f}".format).to_numpy(),
                          "shrunken mean": shrunk.map("{:.2f}".format).to_numpy()})
    sentence = (f"Of the {len(counts):,} {kind}s first-listed on {MIN_FILMS}+ rated movies, the best rated of those "
                f"with {HEADLINE_FILMS}+ are " + (", ".join(f"{md(n)} ({r['mean']:.2f}, {r['size']:.0f} movies)"
                                                            for n, r in best.iterrows()) or "none") + ".")
    return table, sentence


def _exploration(ds: pd.DataFrame, figs: Figures) -> list[str]:
    """What an analyst looks at before modelling: rating by the facts of a movie, on all rated movies."""
    labelled = ds[ds["rating"].notna()].assign(
        age_rating=lambda d: d["age_rating"].replace("", "(none)"),
        runtime=lambda d: pd.cut(d["minute"], RUNTIME_BANDS, right=False,
                                 labels=["under 90 min", "90-104", "105-119", "120-149", "150+"]))
    known = ["G", "PG", "PG-13", "R", "NC-17", "NR", "(none)"]
    age = _by_group(labelled, "age_rating", known + sorted(set(labelled["age_rating"]) - set(known)))
    runtime = _by_group(labelled, "runtime", list(labelled["runtime"].cat.categories))
    out = ["### The data, explored", "",
           f"On all {len(labelled):,} rated movies (description only: nothing here is fitted or chosen). The shrunken "
           f"mean pulls a group's mean toward the overall mean as if it had {HEADLINE_FILMS} more average films: "
           "a small group's mean is mostly noise.", "",
           "**Age rating.** " + _spread_sentence(age, "age rating"), "", markdown_table(age, ("age rating",)), "",
           "**Runtime.** " + _spread_sentence(runtime, "runtime"), "", markdown_table(runtime), ""]
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    for ax, column, table in ((axes[0], "age_rating", age), (axes[1], "runtime", runtime)):
        groups = [labelled.loc[labelled[column].astype(str) == v, "rating"] for v in table.iloc[:, 0]]
        ax.boxplot(groups, showfliers=False)
        ax.set_xticks(range(1, len(groups) + 1), [f"{plot_text(v)}\n({n})" for v, n in
                                                  zip(table.iloc[:, 0], table["movies"])], fontsize=8)
        ax.set(ylabel="rating (stars)", title=f"Rating by {column.replace('_', ' ')} (movies)")
    out += [figs.save(fig, "rating_by_facts", "rating by age rating and runtime"), ""]
    for kind in ("studio", "director"):
        if f"first_{kind}" in labelled:
            table, sentence = _top_names(labelled, kind)
            out += [f"**{kind.capitalize()}s** (the first listed per movie), the ten with the most rated movies. "
                    + sentence, "", markdown_table(table, (kind,)), ""]
    remakes = labelled[labelled["remake"]]
    if len(remakes):
        out += [f"**Remakes.** {len(remakes):,} rated movies share a title with a movie released in an earlier "
                f"year; they rate {remakes['rating'].mean():.2f} on average against "
                f"{labelled.loc[~labelled['remake'], 'rating'].mean():.2f} for the rest.", ""]
    counts = [c for c in ("n_actors", "n_directors", "n_studios") if c in labelled]
    if counts:
        out += ["**Credits per movie** (median, and share with none): " + "; ".join(
            f"{c.removeprefix('n_')} {labelled[c].median():.0f} ({(labelled[c] == 0).mean():.1%} none)"
            for c in counts) + ".", ""]
    facts = {"year": "release year", "minute": "runtime", **{c: f"number of {c.removeprefix('n_')}" for c in counts},
             "tagline_chars": "tagline length", "description_chars": "description length"}
    corr = labelled[list(facts) + ["rating"]].corr(method="spearman")["rating"].drop("rating")
    strongest = corr.abs().idxmax()
    weak = "; none is large: a single fact says little about a rating, which is why the model leans on who made " \
           "a movie and what it is about" if abs(corr[strongest]) < 0.3 else ""
    out += [f"**Correlations with the rating** (Spearman rank correlation, on the films that have both). The "
            f"strongest is {facts[strongest]} ({corr[strongest]:+.2f}){weak}.", "",
            markdown_table(pd.DataFrame({"fact": [facts[c] for c in corr.index],
                                         "Spearman ρ with rating": corr.map("{:+.3f}".format)})), ""]
    return out


def cleaning_section(art: Path, metrics: dict) -> list[str]:
    log = pd.DataFrame(read_json(art / "cleaning_log.json"))[["step", "decision", "count"]]
    out = ["## 2. Cleaning", "", "Every cleaning decision and how many rows it touched (statistics fitted on the "
           "training films only):", "", markdown_table(log), "", "**Kinds of input used:**", ""]
    out += [f"- **{m}**: {status}" for m, status in metrics["modalities"].items()] + [""]
    return out + _text_vectors_lines(metrics.get("text_vectors") or {})


def _text_vectors_lines(text: dict) -> list[str]:
    """How the model gets text vectors for new movies that come without them."""
    found = {s: e for s, e in (text.get("encoders") or {}).items() if e}
    lines = [f"- The supplied {s} vectors are reproduced offline by the sentence encoder {e['encoder']} "
             f"({e['dim']} dimensions, {e['checked_rows']} texts re-embedded, lowest cosine similarity "
             f"{e['min_cosine']:.6f}): the tool computes them for new movies itself." for s, e in found.items()]
    if text.get("note"):
        lines.append(f"- **Text vectors for new movies**: {text['note']}.")
    return lines + [""] if lines else []
