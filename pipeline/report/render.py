"""reports/report.md and reports/figures/*.png, rendered from the artifacts folder only.

Nothing here fits or scores anything: every number comes from a file an earlier stage wrote,
so the report can be re-rendered (`python -m pipeline report`) without rerunning the models.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from pipeline.escape import markdown as md  # noqa: E402
from pipeline.escape import plot_text  # noqa: E402
from pipeline.io import read_json, write_text  # noqa: E402
from pipeline.model.target import EraTarget  # noqa: E402
from pipeline.report.front import front_page, holdout_predictions  # noqa: E402

STACK = "stack"
STACK_BAG = "stack_fold_mean"     # the stack over the mean of each learner's fold models (not shipped)
MODALITY_ORDER = {"baseline": 0, "tabular": 1, "text": 2, "image": 3, "all": 4, "stack": 5}


def markdown_table(df: pd.DataFrame, names: tuple[str, ...] = ()) -> str:
    """A pipe table (no tabulate dependency); the columns in `names` hold text from the data, escaped."""
    cells = df.astype(str).apply(lambda col: col.map(md) if col.name in names else col)
    lines = ["| " + " | ".join(map(str, df.columns)) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(row) + " |" for row in cells.to_numpy()]
    return "\n".join(lines)


class Figures:
    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def save(self, fig: plt.Figure, name: str, alt: str) -> str:
        fig.tight_layout()
        fig.savefig(self.folder / f"{name}.png", dpi=110)
        plt.close(fig)
        return f"![{alt}](figures/{name}.png)"


def _skipped_learners(metrics: dict) -> list[dict]:
    """Enabled learners that did not run, with the reason the run recorded."""
    return [{"learner": name, "modality": info["modality"], "stacked": "", "CV RMSE (mean ± sd)": info["reason"],
             "_order": MODALITY_ORDER.get(info["modality"], 9), "_rmse": np.inf}
            for name, info in metrics.get("skipped_learners", {}).items()]


def _comparison(metrics: dict) -> pd.DataFrame:
    rows = _skipped_learners(metrics)
    learners = metrics["learners"] | {STACK: {"modality": "stack", "stacked": False}}
    for name, info in learners.items():
        h, c = metrics["holdout"][name], metrics["cv"][name]
        rows.append({"learner": name, "modality": info["modality"], "stacked": "yes" if info["stacked"] else "",
                     "CV RMSE (mean ± sd)": f"{c['rmse_mean']:.4f} ± {c['rmse_sd']:.4f}",
                     "CV R²": f"{c['r2_mean']:.3f}",
                     "holdout RMSE [95% CI]": f"{h['rmse']:.4f} [{h['rmse_ci_low']:.3f}, {h['rmse_ci_high']:.3f}]",
                     "holdout MAE": f"{h['mae']:.4f}", "holdout R²": f"{h['r2']:.3f}",
                     "holdout Spearman": f"{h['spearman']:.3f}", "_order": MODALITY_ORDER.get(info["modality"], 9),
                     "_rmse": h["rmse"]})
    return pd.DataFrame(rows).sort_values(["_order", "_rmse"]).fillna("")


def _paired(metrics: dict, learner: str, level: float) -> str:
    """" (the stack minus it, paired by film: -0.0026, 95% interval [-0.0061, +0.0009]; within noise)", when the
    run recorded it."""
    d = metrics.get("stack_minus", {}).get(learner)
    if d is None:
        return ""
    return (f" (the stack minus it, paired by film: {d['difference']:+.4f}, {level:.0%} interval [{d['ci_low']:+.4f}, "
            f"{d['ci_high']:+.4f}]{'; within noise' if d['ci_low'] <= 0 <= d['ci_high'] else ''})")


def _era_sentence(era: dict) -> str:
    if era["mode"] == "raw":
        return "The learners fit raw ratings (`learners.target: raw`)."
    (knot, level, slope), (s_knot, spread, s_slope) = era["level"], era["spread"]
    out = (f"The learners fit each rating relative to its era (`learners.target: {era['mode']}`, "
           "`pipeline/model/target.py`): fitted on the training rows, the mean rating is flat at "
           f"{level:.2f} until {knot:.0f}, then changes by {slope:+.4f} a year")
    if era["mode"] == "level_spread":
        out += (f"; the mean absolute deviation from it is {spread:.2f} until {s_knot:.0f}, then changes by "
                f"{s_slope:+.4f} a year. Learners model (rating − level) / spread")
    return out + (". The lines (dashed in the plot) continue past the last training year: a bet that the drift of the "
                  "training years goes on, which the newest years need not follow (the plot's yearly means).")


def _after_the_data_lines(art: Path) -> list[str]:
    """How the shipped model reads a film released after its data (written by the explain stage)."""
    path = art / "explain" / "after_the_data.json"
    if not path.is_file():
        return []
    return [f"**A film after the data.** {read_json(path)['text']}", ""]


def _overview(ds: pd.DataFrame, figs: Figures, split: dict, era: dict) -> list[str]:
    labelled = ds[ds["rating"].notna()]
    out = ["## The data", "",
           f"{len(ds):,} movies ({len(labelled):,} with a rating), released {int(ds['year'].min())}-"
           f"{int(ds['year'].max())}; mean rating {labelled['rating'].mean():.2f} (sd {labelled['rating'].std():.2f}). "
           f"Temporal holdout: the {split['n_holdout']:,} movies from {split['cutoff_year']} on; "
           f"{split['n_train']:,} earlier movies in {split['n_folds']} cross-validation folds. "
           + _era_sentence(era), ""]
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    axes[0].hist(labelled["rating"], bins=40, color="#4c72b0")
    axes[0].set(xlabel="rating", ylabel="movies", title="Rating distribution")
    by_year = labelled.groupby("year")["rating"].agg(["mean", "std", "size"])
    axes[1].plot(by_year.index, by_year["mean"], color="#4c72b0")
    axes[1].fill_between(by_year.index, by_year["mean"] - by_year["std"], by_year["mean"] + by_year["std"], alpha=0.25)
    target = EraTarget.from_dict(era)
    years = np.arange(by_year.index.min(), by_year.index.max() + 1)
    if era["mode"] != "raw":
        axes[1].plot(years, target.level(years), color="black", ls="--", lw=1, label="era level (training rows)")
    if era["mode"] == "level_spread":
        for sign in (-1, 1):
            axes[1].plot(years, target.level(years) + sign * target.spread(years), color="grey", ls="--", lw=1)
    axes[1].axvline(split["cutoff_year"] - 0.5, color="crimson", ls="--", label="holdout starts")
    axes[1].set(xlabel="release year", ylabel="rating (mean ± sd)", title="Rating by release year")
    axes[1].legend()
    out.append(figs.save(fig, "data_overview", "rating distribution and rating by year"))
    missing = ds.filter(regex="^(missing|no)_").mean().rename("share of movies").to_frame()
    missing["share of movies"] = missing["share of movies"].map(lambda v: f"{v:.1%}")
    out += ["", "Missingness in the raw input:", "", markdown_table(missing.reset_index(names="field")), ""]
    return out


RUNTIME_BANDS = [0, 90, 105, 120, 150, np.inf]      # minutes: under 90, 90-104, 105-119, 120-149, 150+
MIN_FILMS = 5                                        # studios and directors listed have at least this many
HEADLINE_FILMS = 20                                  # no sentence's finding rests on fewer movies than this


def _by_group(labelled: pd.DataFrame, column: str, order: list | None = None) -> pd.DataFrame:
    """Movies, mean and sd of the rating per value of `column` (in `order`, else by movies)."""
    g = labelled.groupby(column, observed=True)["rating"].agg(["size", "mean", "std"])
    g = g.reindex([o for o in order if o in g.index]) if order else g.sort_values("size", ascending=False)
    return pd.DataFrame({column.replace("_", " "): g.index.astype(str), "movies": g["size"].map("{:,}".format),
                         "mean rating": g["mean"].map("{:.2f}".format), "sd": g["std"].map("{:.2f}".format)})


def _spread_sentence(table: pd.DataFrame, what: str) -> str:
    """The highest- and lowest-rated groups among those with at least HEADLINE_FILMS movies."""
    table = table[table["movies"].str.replace(",", "").astype(int) >= HEADLINE_FILMS]
    if len(table) < 2:
        return f"No two {what} groups have {HEADLINE_FILMS}+ movies to compare."
    means = table["mean rating"].astype(float)
    hi, lo = table.iloc[int(means.argmax())], table.iloc[int(means.argmin())]
    key = table.columns[0]
    return (f"By {what}, {md(hi[key])} rates highest ({hi['mean rating']}, {hi['movies']} movies) and {md(lo[key])} "
            f"lowest ({lo['mean rating']}, {lo['movies']} movies): a gap of {means.max() - means.min():.2f} points "
            f"(groups of {HEADLINE_FILMS}+ movies).")


def _top_names(labelled: pd.DataFrame, kind: str, top: int = 10) -> tuple[pd.DataFrame, str]:
    counts = labelled.groupby(f"first_{kind}")["rating"].agg(["size", "mean"])
    counts = counts[counts["size"] >= MIN_FILMS]
    busiest = counts.sort_values("size", ascending=False).head(top)
    best = counts[counts["size"] >= HEADLINE_FILMS].sort_values("mean", ascending=False).head(3)
    table = pd.DataFrame({kind: busiest.index, "movies": busiest["size"].to_numpy(),
                          "mean rating": busiest["mean"].map("{:.2f}".format).to_numpy()})
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
    age = _by_group(labelled, "age_rating", ["G", "PG", "PG-13", "R", "NC-17", "NR", "(none)"]
                    + sorted(set(labelled["age_rating"]) - {"G", "PG", "PG-13", "R", "NC-17", "NR", "(none)"}))
    runtime = _by_group(labelled, "runtime", list(labelled["runtime"].cat.categories))
    out = ["## The data, explored", "",
           f"On all {len(labelled):,} rated movies (description only: nothing here is fitted or chosen).", "",
           "**Age rating.** " + _spread_sentence(age, "age rating"), "", markdown_table(age, ("age rating",)), "",
           "**Runtime.** " + _spread_sentence(runtime, "runtime"), "", markdown_table(runtime), ""]
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    for ax, column, table in ((axes[0], "age_rating", age), (axes[1], "runtime", runtime)):
        groups = [labelled.loc[labelled[column].astype(str) == v, "rating"] for v in table.iloc[:, 0]]
        ax.boxplot(groups, showfliers=False)
        ax.set_xticks(range(1, len(groups) + 1), table.iloc[:, 0].map(plot_text), rotation=20)
        ax.set(ylabel="rating", title=f"Rating by {column.replace('_', ' ')}")
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
    facts = ["year", "minute", *counts, "tagline_chars", "description_chars"]
    corr = labelled[facts + ["rating"]].corr(method="spearman")["rating"].drop("rating")
    strongest = corr.abs().idxmax()
    weak = "; none is large: a single fact says little about a rating, which is why the model leans on who made " \
           "a movie and what it is about" if abs(corr[strongest]) < 0.3 else ""
    out += [f"**Correlations with the rating** (Spearman, pairwise complete). The strongest is `{strongest}` "
            f"({corr[strongest]:+.2f}){weak}.", "",
            markdown_table(pd.DataFrame({"fact": corr.index, "Spearman ρ with rating": corr.map("{:+.3f}".format)})),
            ""]
    return out


def _comparison_section(metrics: dict, figs: Figures) -> list[str]:
    comp = _comparison(metrics)
    visible = comp.drop(columns=["_order", "_rmse"])
    out = ["## Modalities compared", "",
           "Every learner sees the same folds; CV scores are out-of-fold on the training years, holdout scores "
           "are on the later, untouched years (interval: bootstrap over holdout movies). `stack` blends the "
           "learners marked *stacked*; its CV score comes from an outer cross-validation over their "
           "out-of-fold columns.", "", markdown_table(visible), ""]
    fig, ax = plt.subplots(figsize=(8, 0.4 * len(comp) + 1))
    h = metrics["holdout"]
    names = [n for n in comp["learner"] if n in h][::-1]
    rmse = [h[n]["rmse"] for n in names]
    err = np.array([[h[n]["rmse"] - h[n]["rmse_ci_low"], h[n]["rmse_ci_high"] - h[n]["rmse"]] for n in names]).T
    colors = ["crimson" if n == STACK else "#4c72b0" for n in names]
    ax.barh(names, rmse, xerr=err, color=colors)
    ax.set(xlabel="holdout RMSE (lower is better), 95% bootstrap interval", title="Temporal holdout")
    out += [figs.save(fig, "modality_comparison", "holdout RMSE per learner"), ""]
    cold = metrics["slices"]["cold_start"]
    if cold:
        n = next(iter(cold.values()))["n"]
        rows = pd.DataFrame([{"learner": k, "RMSE": f"{v['rmse']:.4f}", "R²": f"{v['r2']:.3f}"}
                             for k, v in cold.items()])
        out += [f"**Cold start.** {n} holdout movies whose director and lead actor never appear in a training "
                "movie (no credit counts as unseen):", "", markdown_table(rows), ""]
    return out


def _text_vectors_lines(text: dict) -> list[str]:
    """How the model gets text vectors for new movies that come without them."""
    found = {s: e for s, e in (text.get("encoders") or {}).items() if e}
    lines = [f"- Supplied `{s}_embeddings.npy` reproduced offline by `{e['encoder']}` ({e['dim']} dimensions, "
             f"{'unit-normalised, ' if e['normalize'] else ''}{e['checked_rows']} texts re-embedded, lowest cosine "
             f"{e['min_cosine']:.6f}): `predict` computes these vectors for new movies." for s, e in found.items()]
    if text.get("note"):
        lines.append(f"- **Text vectors for new movies**: {text['note']}.")
    return lines + [""] if lines else []


def _intervals_section(metrics: dict) -> list[str]:
    iv = metrics.get("intervals")
    if not iv:
        return []
    levels = [f"{100 * lv:g}" for lv in iv["levels"]]
    cv = {"band": "CV (training years, cross-conformal)", "movies": metrics["split"]["n_train"]}
    rows = [cv | {f"{lv}% coverage": f"{iv['cv'][lv]:.1%}" for lv in levels}]
    for band in iv["holdout"]:
        label = "holdout, all" if band["band"] == "all" else f"holdout {band['band']}"
        rows.append({"band": label, "movies": band["movies"]}
                    | {f"{lv}% coverage": f"{band[f'coverage_{lv}']:.1%}" for lv in levels}
                    | {f"{lv}% median width": f"{band[f'median_width_{lv}']:.3f}" for lv in levels}
                    | {"RMSE": f"{band['rmse']:.4f}", "mean error": f"{band['mean_error']:+.3f}"})
    table = pd.DataFrame(rows).fillna("")
    scale = {"residual_line": "a line over release year fitted to the out-of-fold |residuals| (flat, then straight), "
             "which continues past the training years",
             "era_spread": "the era's spread line of the ratings"}.get(iv.get("scale"), iv.get("scale"))
    extra = f", times exp(a linear model of {', '.join(iv['difficulty'])})" if iv["difficulty"] else ""
    return ["## How sure: prediction intervals", "",
            f"Every prediction comes with intervals at {', '.join(f'{lv}%' for lv in levels)}: normalised split "
            "conformal prediction (crepes) calibrated on the training rows' out-of-fold residuals, scaled by "
            f"{scale}{extra}. Nominal against observed coverage: on the training years by cross-conformal "
            "checks (each fold calibrated on the others), and on the later, untouched holdout years, where the "
            "ratings drift away from anything calibrated; widths in rating points. Mean error is prediction "
            "minus rating.", "", markdown_table(table), ""]


def _stacker_section(art: Path, metrics: dict) -> list[str]:
    st = metrics["stacker"]
    weights = pd.Series(st["weights"])
    if st["method"] != "ridge":
        return ["## The stack", "", "Meta-learner: `lgbm` on the learners' out-of-fold predictions and the raw "
                "features; its gain importances:", "",
                markdown_table(pd.DataFrame({"column": weights.index, "gain": weights.map("{:.1f}".format)})), ""]
    learners = [n for n in weights.index if (art / "oof" / f"{n}.parquet").is_file()]
    oof = {n: pd.read_parquet(art / "oof" / f"{n}.parquet").query("part == 'oof'")["prediction"] for n in learners}
    movement = pd.Series({n: weights[n] * oof[n].std() for n in learners})
    table = pd.DataFrame({"column": weights.index, "weight": weights.map("{:.4f}".format),
                          "share of the blend's movement": [f"{movement[n] / movement.sum():.0%}"
                                                            if n in movement else "" for n in weights.index]})
    total = weights[learners].sum()
    stretch = (f"The learner weights sum to {total:.2f}: the blend moves {total - 1:.0%} further from the average "
               "movie than the learners' own predictions do (each learner shrinks toward the mean, and the blend "
               "undoes some of it)" if total > 1.005 else f"The learner weights sum to {total:.2f}")
    return ["## The stack", "",
            "Meta-learner: ridge over the learners' out-of-fold predictions, with non-negative learner weights; raw "
            "features (such as `year`, in rating points per year) enter with free sign. " + stretch
            + f"; the intercept ({st['intercept']:.2f}) and the raw features' terms put the level back. A learner's "
            "*share* is its weight times the spread of its predictions, as a share of all learners': how much of "
            "what moves a prediction away from the average comes from it.", "",
            markdown_table(table), ""]


def _tuning_section(art: Path, metrics: dict, run_info: dict, figs: Figures) -> list[str]:
    tuning = metrics.get("tuning") or {}
    if not tuning:
        return ["## Tuning", "",
                "Tuning was off for this run (`tuning.enabled: false`): params.yaml defaults were used.", ""]
    rows = [{"layer": n, "trials (complete / pruned)": f"{r['n_complete']} / {r['n_pruned']}",
             "defaults, inner-CV RMSE": "" if r["default_value"] is None else f"{r['default_value']:.4f}",
             "best, inner-CV RMSE": f"{r['best_value']:.4f}", "seconds": f"{r['seconds']:.0f}",
             "best parameters": ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                          for k, v in r["best_params"].items())} for n, r in tuning.items()]
    out = ["## Tuning", "",
           "Optuna (seeded TPE, fold-level median pruning) tuned each layer on an inner cross-validation of the "
           "training rows only (a different shuffle from the evaluation folds); the first trial of each study is "
           "the params.yaml defaults. The holdout was never seen. CV figures above use the tuned parameters, so "
           "they are mildly optimistic; the holdout figures are not.", "", markdown_table(pd.DataFrame(rows)), ""]
    out += _optuna_figures(art, tuning, run_info, figs)
    return out


def _optuna_figures(art: Path, tuning: dict, run_info: dict, figs: Figures) -> list[str]:
    """Optuna's own optimisation-history and parameter-importance plots, from the stored studies."""
    import optuna
    from optuna.visualization import matplotlib as ov

    from pipeline.config import TuningConfig
    from pipeline.training.scheduler import storage_for
    storage = storage_for(TuningConfig.model_validate(run_info["params"]["tuning"]), art / "tuning")
    out = []
    for name, result in tuning.items():
        try:
            study = optuna.load_study(study_name=result["study_name"], storage=storage)
        except KeyError:
            out += [f"- `{name}`: study `{result['study_name']}` not found in the tuning storage.", ""]
            continue
        with warnings.catch_warnings():       # optuna marks its matplotlib backend experimental
            warnings.simplefilter("ignore")
            history = ov.plot_optimization_history(study).figure
            links = [figs.save(history, f"tuning_{name}_history", f"{name} optimisation history")]
            if result["n_complete"] >= 3:
                links.append(figs.save(ov.plot_param_importances(study).figure, f"tuning_{name}_importance",
                                       f"{name} parameter importance"))
        out += [f"**{name}**", ""] + links + [""]
    return out


def _ablation_section(metrics: dict, enabled: bool, excluded: list[str]) -> list[str]:
    off = ([f"Off in every learner of this run, so not in the table (`learners.exclude_blocks`): "
            f"{', '.join(excluded)}.", ""] if excluded else [])
    if not enabled:
        return ["## Ablation", "", "Ablation was off for this run (`ablation.enabled: false`).", "", *off]
    rows = metrics.get("ablation") or []
    full_cv, full = metrics["cv"][STACK], metrics["shipped"]["bag_holdout"]
    n_stacked = sum(info["stacked"] for info in metrics["learners"].values())
    table = pd.DataFrame([{"stack": "full", "learners": n_stacked,
                           "CV RMSE": f"{full_cv['rmse_mean']:.4f}", "CV R²": f"{full_cv['r2_mean']:.3f}",
                           "holdout RMSE": f"{full['rmse']:.4f}", "holdout R²": f"{full['r2']:.3f}",
                           "Δ holdout RMSE": ""}] +
                         [{"stack": r["ablation"], "learners": "", "CV RMSE": "", "CV R²": "", "holdout RMSE": "",
                           "holdout R²": "", "Δ holdout RMSE": f"skipped: {r['skipped']}"} if "skipped" in r else
                          {"stack": r["ablation"], "learners": len(r["learners"]),
                           "CV RMSE": f"{r['cv']['rmse_mean']:.4f}", "CV R²": f"{r['cv']['r2_mean']:.3f}",
                           "holdout RMSE": f"{r['holdout']['rmse']:.4f}", "holdout R²": f"{r['holdout']['r2']:.3f}",
                           "Δ holdout RMSE": f"{r['holdout']['rmse'] - full['rmse']:+.4f}"} for r in rows])
    return ["## Ablation", "",
            "The stack rebuilt with a group of features removed from every stacked learner (learners left with "
            "nothing drop out; the rest are refitted out of fold). A positive Δ is what the group is worth on the "
            "holdout. Every row, *full* included, scores the mean of the fold models (a refit per row would double "
            "the stage), so *full* differs from the shipped stack's holdout figure above.", "",
            markdown_table(table), "", *off]


def _whatif_section(art: Path) -> list[str]:
    path = art / "whatif.json"
    if not path.is_file():
        return []
    from pipeline.serving.whatif import ultimate_markdown, whatif_markdown
    answers = read_json(path)
    out = ["## What if?", "",
           "What the shipped model predicts if one thing about a movie changed (runtime, age rating, director, "
           "studio, the lead actor or a top-billed addition), and the best combination of a few such changes. "
           "**These are the model's associations, not causal effects**: a director's encoding summarises the "
           "films they made, not what they would make of this one. Only changes a producer could make are "
           "offered: people and studios still working, with enough training films, who have made films of this "
           "age rating, and age ratings that films with a similar story carry (each answer lists its rules; "
           "`whatif` in params.yaml sets them). Taglines and descriptions are not edited: they are the film "
           "itself (the reasons in `explain` show what the story adds). Each answer shows its interval; a change "
           "marked *within noise* is no larger than the base learners' disagreement about it. The support column "
           "gives each name's training films and first and last credited years.", ""]
    for answer in answers["movies"]:
        out.append(whatif_markdown(answer))
    if answers.get("missing"):
        out += [f"(movie_ids {answers['missing']} from whatif.movies are not in this data set)", ""]
    out.append(ultimate_markdown(answers["ultimate"]))
    return out


COLUMN_LEGEND = (("_hist_", "`_hist_` columns encode the credited actors, directors and studios by the ratings of "
                             "their earlier films only"),
                 ("_te_", "`_te_` columns are out-of-fold target encodings of them, from films of every year"))


def _importance_section(art: Path, figs: Figures, top: int) -> list[str]:
    out = ["## What drives the ratings", ""]
    shipped = sorted((art / "importance").glob("*_catboost_shipped.csv"))
    if shipped:
        imp = pd.read_csv(shipped[0]).head(top)
        fig, ax = plt.subplots(figsize=(8, 0.3 * len(imp) + 1))
        ax.barh(imp["feature"][::-1], imp["importance"][::-1], color="#4c72b0")
        ax.set(xlabel="CatBoost PredictionValuesChange", title="Tabular learner: CatBoost's own importance")
        legend = [text for marker, text in COLUMN_LEGEND if imp["feature"].str.contains(marker, regex=False).any()]
        out += ["CatBoost's own importances of the shipped tabular learner"
                + (f" ({'; '.join(legend)})" if legend else "") + ":", "",
                figs.save(fig, "importance_catboost", "CatBoost feature importance"), ""]
    shap_path = art / "explain" / "shap_values.parquet"
    if shap_path.is_file():
        import shap
        values = pd.read_parquet(shap_path)
        features = pd.read_parquet(art / "explain" / "shap_features.parquet")[values.columns]
        numeric = features.apply(lambda c: pd.to_numeric(c, errors="coerce"))
        explanation = shap.Explanation(values=values.to_numpy(), data=numeric.to_numpy(),
                                       feature_names=list(values.columns))
        with warnings.catch_warnings():    # categorical columns have no numeric colour: expected NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            shap.plots.beeswarm(explanation, max_display=top, show=False)
        fig = plt.gcf()
        fig.set_size_inches(9, 0.35 * top + 1.5)
        out += [f"SHAP values of the same model on {len(values):,} movies (each dot a movie; colour: the feature's "
                "value, grey for categorical columns; right of zero: pushes the predicted rating up):", "",
                figs.save(fig, "shap_beeswarm", "SHAP beeswarm of the tabular learner"), ""]
    out += ["Per-learner importances (mean and sd over fold models) are in `artifacts/importance/`.", ""]
    return out


def _errors_section(art: Path, ds: pd.DataFrame, figs: Figures) -> list[str]:
    pred = pd.read_parquet(art / "oof" / f"{STACK}.parquet").merge(ds[["movie_id", "year", "rating"]], on="movie_id")
    pred["residual"] = pred["prediction"] - pred["rating"]
    hold = pred[pred["part"] == "holdout"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    axes[0].scatter(hold["rating"], hold["prediction"], s=5, alpha=0.4)
    lims = [min(hold["rating"].min(), hold["prediction"].min()), max(hold["rating"].max(), hold["prediction"].max())]
    axes[0].plot(lims, lims, color="crimson", lw=1)
    axes[0].set(xlabel="actual rating", ylabel="predicted (stack)", title="Holdout: predicted vs actual")
    by_year = pred.groupby("year")["residual"].agg(["mean", "std"])
    axes[1].axhline(0, color="grey", lw=1)
    axes[1].plot(by_year.index, by_year["mean"], label="mean residual")
    axes[1].fill_between(by_year.index, by_year["mean"] - by_year["std"], by_year["mean"] + by_year["std"], alpha=0.25)
    axes[1].axvline(hold["year"].min() - 0.5, color="crimson", ls="--", label="holdout starts")
    axes[1].set(xlabel="release year", ylabel="prediction - actual", title="Residuals by release year (OOF, holdout)")
    axes[1].legend()
    return ["## Where the stack errs", "",
            "Left: holdout movies. Right: out-of-fold residuals on training years and holdout residuals after the "
            "cutoff; a drift away from zero after the cutoff is the price of predicting the future.", "",
            figs.save(fig, "errors", "predicted vs actual and residuals by year"), ""]


def _umap_section(art: Path, figs: Figures) -> list[str]:
    path = art / "explain" / "umap.parquet"
    if not path.is_file():
        return []
    m = pd.read_parquet(path)
    fig, ax = plt.subplots(figsize=(8, 6.5))
    sc = ax.scatter(m["x"], m["y"], c=m["rating"], s=4, cmap="viridis", alpha=0.7)
    fig.colorbar(sc, ax=ax, label="rating")
    regions = m.groupby("cluster").agg(x=("x", "median"), y=("y", "median"), words=("words", "first"),
                                       movies=("rating", "size"), rating=("rating", "mean"))
    for _, r in regions.iterrows():
        ax.annotate(r["words"].replace(", ", "\n"), (r["x"], r["y"]), ha="center", va="center", fontsize=7,
                    bbox={"boxstyle": "round", "fc": "white", "alpha": 0.75, "lw": 0})
    ax.set(title="Description embeddings, UMAP 2-D", xticks=[], yticks=[])
    regions = regions.sort_values("rating", ascending=False)
    table = pd.DataFrame({"region (its most telling words)": regions["words"], "movies": regions["movies"],
                          "mean rating": regions["rating"].map("{:.2f}".format)})
    best, worst = regions.iloc[0], regions.iloc[-1]
    return ["## The text map", "",
            f"A 2-D UMAP of {len(m):,} movies' description vectors, coloured by rating: regions of similar stories "
            "that rate alike are what the text learners pick up. Each of the map's k-means regions is named by the "
            f"words its descriptions use most beyond the rest (TF-IDF). *{md(best['words'])}* rates highest "
            f"({best['rating']:.2f}), *{md(worst['words'])}* lowest ({worst['rating']:.2f}).", "",
            figs.save(fig, "umap_description", "UMAP map"), "", markdown_table(table, (table.columns[0],)), ""]


def _shipped_section(metrics: dict, best: str) -> list[str]:
    shipped = metrics.get("shipped")
    if not shipped:
        return []
    bag, diff = shipped["bag_holdout"], shipped["refit_minus_bag"]
    bands = metrics["bands"]
    rows = []
    for k, band in enumerate(bands[STACK]):
        row = {"release years": band["band"], "movies": band["n"]}
        for label, name in (("stack (shipped)", STACK), ("stack, fold models' mean", STACK_BAG),
                            (f"{best} (best single)", best), ("year trend", "baseline_year_trend")):
            row[f"{label} RMSE"] = f"{bands[name][k]['rmse']:.4f}"
            row[f"{label} mean error"] = f"{bands[name][k]['mean_error']:+.3f}"
        rows.append(row)
    return ["## The model that ships, by release year", "",
            "The stack's holdout figures in this report are the shipped model's: the same recipe as "
            "`artifacts/model` (preprocessing and each stacked learner refitted once, blended with the stacker's "
            "weights), fitted on the training rows only and predicted through `ModelBundle.predict`, as `predict` "
            f"does. The mean of each learner's fold models would score {bag['rmse']:.4f}; shipped minus that: "
            f"{diff['difference']:+.4f} (paired bootstrap 95% interval {diff['ci_low']:+.4f} to "
            f"{diff['ci_high']:+.4f}). Single learners' rows elsewhere are their fold models' mean (no single "
            "learner ships alone). Mean error is prediction minus rating: a negative value means the model "
            "rates that band's movies too low. A movie not yet made is always newer than every training movie, "
            "so the newest band is where users meet the model.", "", markdown_table(pd.DataFrame(rows)), ""]


def render_report(art: Path, reports: Path, products: Path | None = None) -> Path:
    """The report of the run in `art`; `products`: where its metrics, run record and what-if answers are
    (default `art`; during a run, the staging folder they are published from)."""
    products = products or art
    metrics, run_info = read_json(products / "metrics.json"), read_json(products / "run.json")
    cleaning = read_json(art / "cleaning_log.json")
    ds = pd.read_parquet(art / "dataset.parquet")
    figs = Figures(reports / "figures")
    stack = metrics["holdout"][STACK]
    best = min((n for n, i in metrics["learners"].items() if i["modality"] != "baseline"),
               key=lambda n: metrics["holdout"][n]["rmse"])
    lines = ["# Movie rating prediction: report", ""]
    lines += front_page(holdout_predictions(art, ds), metrics, STACK)
    lines += ["## In numbers", "",
              "The stack predicts the later movies' ratings with RMSE "
              f"{stack['rmse']:.4f} (R² {stack['r2']:.3f}); the best single learner, `{best}`, has "
              f"{metrics['holdout'][best]['rmse']:.4f}{_paired(metrics, best, run_info['params']['evaluation']['ci'])}"
              "; predicting the training mean gives "
              f"{metrics['holdout']['baseline_mean']['rmse']:.4f} and a linear trend in release year "
              f"{metrics['holdout']['baseline_year_trend']['rmse']:.4f}.", ""]
    lines += _overview(ds, figs, metrics["split"], metrics["era_target"])
    lines += _after_the_data_lines(art)
    lines += _exploration(ds, figs)
    log_df = pd.DataFrame(cleaning)[["step", "decision", "count"]]
    lines += ["## Cleaning log", "", "Every cleaning decision and how many rows it touched (statistics fitted on "
              "training rows only):", "", markdown_table(log_df), "", "### Modalities", ""]
    lines += [f"- **{m}**: {status}" for m, status in metrics["modalities"].items()] + [""]
    lines += _text_vectors_lines(metrics.get("text_vectors") or {})
    lines += _comparison_section(metrics, figs)
    lines += _shipped_section(metrics, best)
    lines += _intervals_section(metrics)
    lines += _stacker_section(art, metrics)
    lines += _ablation_section(metrics, run_info["params"]["ablation"]["enabled"],
                               run_info["params"]["learners"]["exclude_blocks"])
    lines += _tuning_section(art, metrics, run_info, figs)
    lines += _importance_section(art, figs, int(run_info["params"]["report"]["top_features"]))
    lines += _errors_section(art, ds, figs)
    lines += _umap_section(art, figs)
    lines += _whatif_section(products)
    stages = {k: v for k, v in run_info["timings"].items() if k != "report"}   # its own time lands in run.json
    peak = run_info.get("peak_memory_mb", {})
    timings = pd.DataFrame({"stage": list(stages) + ["total before the report"],
                            "seconds": [f"{v:.1f}" for v in stages.values()] + [f"{sum(stages.values()):.1f}"],
                            "peak memory (MB)": [f"{peak[k]:,.0f}" if k in peak else "" for k in stages]
                            + [f"{max((peak[k] for k in stages if k in peak), default=0):,.0f}"]})
    fits = pd.DataFrame([{"learner": n, "CV fit seconds (all folds)": f"{i['fit_seconds']:.1f}"}
                         for n, i in metrics["learners"].items()])
    lines += ["## Run time", "", markdown_table(timings), "", markdown_table(fits), "",
              "## Parameters", "", f"Data: `{run_info['data_dir_shown']}` (relative to the run's folder). "
              f"Parameters from `{run_info['params_source']}` (seed {run_info['seed']}); "
              f"code {run_info.get('git_commit') or 'not in git'}; packages: "
              + ", ".join(f"{k} {v}" for k, v in run_info["versions"].items()) + ". Every parameter the run used, "
              "tuned values included: [`artifacts/params.yaml`](../artifacts/params.yaml).", ""]
    path = reports / "report.md"
    write_text(path, "\n".join(lines))
    return path
