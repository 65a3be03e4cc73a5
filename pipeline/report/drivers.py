"""The report's features and drivers: a glossary of every input group and column the shipped learners read,
how much each group moves the whole stack's predictions (with bootstrap error bars over films), the people
and studios whose presence raises or lowers them most, and the map of the descriptions."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from pipeline.escape import markdown as md
from pipeline.escape import plot_text
from pipeline.report.common import BLUE, Figures, markdown_table

NAME_FILMS = 10          # people and studios ranked have at least this many rated films
NAMES_SHOWN = 5          # per direction
BOOTSTRAP = 200          # resamples of the films for the error bars
GROUP_WORDS = {"cast": "cast", "director": "director", "studio": "studio",
               "release year": "release year (the era: its level of ratings)", "runtime": "runtime",
               "age rating": "age rating", "story (tagline and description)": "story (tagline and description)",
               "title": "title", "poster": "poster", "other": "other"}


def features_section(art: Path) -> list[str]:
    path = art / "explain" / "glossary.csv"
    out = ["## 3. Features", "",
           "What the learners read, by the group of inputs a person recognises; every column of the shipped model's "
           "learners is listed under its group (N stands for a number: `actor_N` is the actor billed N-th; "
           "`word=…` is one column per word). Credits are read by their record *before* each film (the ratings of "
           "the person's or studio's earlier films only), so a film in training sees what a film not yet made sees.",
           ""]
    if not path.is_file():
        return out
    table = pd.read_csv(path).fillna("")
    table["group"] = table["group"].map(lambda g: GROUP_WORDS.get(g, g))
    table["column"] = table["column"].map(lambda c: ", ".join(f"`{part}`" for part in c.split(", ")))
    return out + [markdown_table(table.rename(columns={"learner": "read by"})), ""]


def drivers_section(art: Path, ds: pd.DataFrame, figs: Figures, seed: int) -> list[str]:
    path = art / "explain" / "contributions.parquet"
    out = ["## 8. What drives the ratings", ""]
    if not path.is_file():
        return out + ["The explanation stage did not run.", ""]
    parts = pd.read_parquet(path)
    groups = [g for g in GROUP_WORDS if g in parts and parts[g].abs().max() > 0]
    size = parts[groups].abs()
    rng = np.random.default_rng(seed)
    draws = np.stack([size.to_numpy()[rng.integers(0, len(size), len(size))].mean(axis=0) for _ in range(BOOTSTRAP)])
    low, high = np.percentile(draws, [2.5, 97.5], axis=0)
    mean = size.mean().to_numpy()
    order = np.argsort(mean)
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(groups) + 1.2))
    ax.barh([plot_text(GROUP_WORDS[groups[i]]) for i in order], mean[order],
            xerr=np.vstack([mean[order] - low[order], high[order] - mean[order]]), color=BLUE)
    ax.set(xlabel="average push on a prediction, either way (stars), 95% bootstrap interval",
           title="What moves the shipped model's predictions")
    up, down = (parts[groups] > 0.1).mean(), (parts[groups] < -0.1).mean()
    table = pd.DataFrame({"input group": [GROUP_WORDS[g] for g in groups],
                          "average push (stars) [95%]": [f"{m:.3f} [{lo:.3f}, {hi:.3f}]"
                                                         for m, lo, hi in zip(mean, low, high)],
                          "films pushed up > 0.1": [f"{up[g]:.0%}" for g in groups],
                          "films pushed down > 0.1": [f"{down[g]:.0%}" for g in groups]}).iloc[order[::-1]]
    years = ds.set_index("movie_id").loc[parts["movie_id"], "year"]
    out += [f"Each film's prediction split into what each input group adds to it (for the whole stack: each "
            f"learner's exact TreeSHAP values or linear terms, weighted by the blend), on the {len(parts):,} latest "
            f"rated films ({int(years.min())}-{int(years.max())}: the careers a producer can still hire from) as "
            "the shipped model reads them. The baseline is a film of the last training year with every "
            "input at its average; the pushes add up to the prediction. They are the model's associations, not "
            f"causes. Error bars: the average over {BOOTSTRAP} resamples of the films.", "",
            figs.save(fig, "drivers", "what moves the shipped model's predictions"), "", markdown_table(table), ""]
    return out + _names(parts, ds) + _text_map(art, figs)


def _names(parts: pd.DataFrame, ds: pd.DataFrame) -> list[str]:
    """The people and studios whose films the model pushes up or down most (their group's push, averaged)."""
    films = parts.merge(ds[["movie_id", "first_actor", "first_director", "first_studio"]], on="movie_id")
    out = [f"**Who raises and lowers a prediction.** The average push of a group on the films of each name with "
           f"{NAME_FILMS}+ rated films (the director's push on the films they direct, the studio's on those it is "
           "first listed on, the cast's on those a person leads), highest and lowest. A name's push is what the model "
           "learnt from their record; it is not their worth.", ""]
    for kind, group, who in (("director", "director", "director"), ("studio", "studio", "studio"),
                             ("actor", "cast", "lead actor")):
        by = films.groupby(f"first_{kind}")[group].agg(["size", "mean"])
        by = by[by["size"] >= NAME_FILMS].sort_values("mean", ascending=False)
        if len(by) < 2 * NAMES_SHOWN:
            continue
        shown = pd.concat([by.head(NAMES_SHOWN), by.tail(NAMES_SHOWN)])
        out += [markdown_table(pd.DataFrame({who: shown.index, "rated films": shown["size"].to_numpy(),
                                             f"average push of the {group} (stars)":
                                                 shown["mean"].map("{:+.3f}".format).to_numpy()}), (who,)), ""]
    return out


def _text_map(art: Path, figs: Figures) -> list[str]:
    path = art / "explain" / "umap.parquet"
    if not path.is_file():
        return []
    m = pd.read_parquet(path)
    fig, ax = plt.subplots(figsize=(8, 6.5))
    sc = ax.scatter(m["x"], m["y"], c=m["rating"], s=4, cmap="viridis", alpha=0.7)
    fig.colorbar(sc, ax=ax, label="rating (stars)")
    regions = m.groupby("cluster").agg(x=("x", "median"), y=("y", "median"), words=("words", "first"),
                                       movies=("rating", "size"), rating=("rating", "mean"))
    for _, r in regions.iterrows():
        ax.annotate(plot_text(r["words"]).replace(", ", "\n"), (r["x"], r["y"]), ha="center", va="center",
                    fontsize=7, bbox={"boxstyle": "round", "fc": "white", "alpha": 0.75, "lw": 0})
    ax.set(title="Descriptions mapped by meaning (UMAP), coloured by rating", xticks=[], yticks=[])
    regions = regions.sort_values("rating", ascending=False)
    between = float(((m.groupby("cluster")["rating"].transform("mean") - m["rating"].mean()) ** 2).mean()
                    / m["rating"].var(ddof=0))
    table = pd.DataFrame({"region (its most telling words)": regions["words"], "films": regions["movies"],
                          "mean rating": regions["rating"].map("{:.2f}".format)})
    best, worst = regions.iloc[0], regions.iloc[-1]
    return ["**The story map.** The descriptions of a sample of films placed by the meaning of their words (a 2-D "
            "UMAP of their sentence vectors: nearby films tell similar stories), cut into regions named by the words "
            "that set each apart (names of characters left out). The map sorts films by subject far more than by "
            f"rating: the regions' means span {worst['rating']:.2f} (*{md(worst['words'])}*) to {best['rating']:.2f} "
            f"(*{md(best['words'])}*), and the region a film falls in explains {between:.1%} of the ratings' "
            "variance. The story still helps the model, through finer neighbourhoods than these regions (its worth "
            "is in the stack section).", "",
            figs.save(fig, "umap_description", "map of the descriptions"), "",
            markdown_table(table, (table.columns[0],)), ""]
