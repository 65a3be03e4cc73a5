"""The report's validation: the shipped model on the later films by release year (beside the best single
learner and the reference), cold-start films, the prediction intervals' coverage, and where the stack errs."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from pipeline.artifacts import REFERENCE, STACK, STACK_BAG
from pipeline.report.common import BLUE, RED, Figures, markdown_table
from pipeline.report.models import best_single

MIN_YEAR_FILMS = 20       # a year's mean residual is drawn when it has this many films


def validation_section(art: Path, ds: pd.DataFrame, metrics: dict, figs: Figures) -> list[str]:
    return (["## 7. Validation", ""] + _by_year(metrics) + _cold_start(metrics) + _intervals(metrics)
            + _errors(art, ds, figs))


def _by_year(metrics: dict) -> list[str]:
    shipped = metrics.get("shipped")
    if not shipped:
        return []
    bag, diff, bands, best = shipped["bag_holdout"], shipped["refit_minus_bag"], metrics["bands"], best_single(metrics)
    columns = [("stack (shipped)", STACK), ("stack, fold models' mean", STACK_BAG), (f"{best} (best single)", best),
               ("reference", REFERENCE), ("year trend", "baseline_year_trend")]
    rows = []
    for k, band in enumerate(bands[STACK]):
        row = {"release years": band["band"], "films": band["n"]}
        for label, name in columns:
            if name in bands:
                row[f"{label} RMSE"] = f"{bands[name][k]['rmse']:.4f}"
                row[f"{label} mean error"] = f"{bands[name][k]['mean_error']:+.3f}"
        rows.append(row)
    return ["### The holdout by release year", "",
            "The stack's holdout figures are the shipped model's: its recipe (cleaning, each stacked learner refitted "
            "once, the stacker's blend) fitted on the training films only and predicted as the `predict` command "
            "does. The model the tool ships is then refitted the same way on every rated film. The mean of each "
            f"learner's fold models would score {bag['rmse']:.4f}; shipped minus that: {diff['difference']:+.4f} "
            f"(paired 95% interval {diff['ci_low']:+.4f} to {diff['ci_high']:+.4f}). Mean error is prediction minus "
            "rating: negative means that band's films were predicted too low. A film not yet made is newer than "
            "every training film, so the newest band is where users meet the model.", "",
            markdown_table(pd.DataFrame(rows)), ""]


def _cold_start(metrics: dict) -> list[str]:
    cold = metrics["slices"]["cold_start"]
    if not cold:
        return []
    n = next(iter(cold.values()))["n"]
    rows = pd.DataFrame([{"learner": k, "RMSE": f"{v['rmse']:.4f}", "R²": f"{v['r2']:.3f}"} for k, v in cold.items()])
    return ["### Cold start", "",
            f"{n:,} holdout films whose director and lead actor appear in no training film (a film without one "
            "counts as unseen):", "", markdown_table(rows), ""]


def _intervals(metrics: dict) -> list[str]:
    iv = metrics.get("intervals")
    if not iv:
        return []
    levels = [f"{100 * lv:g}" for lv in iv["levels"]]
    cv = {"where": "CV (training years, each fold calibrated on the others)", "films": metrics["split"]["n_train"]}
    rows = [cv | {f"{lv}% coverage": f"{iv['cv'][lv]:.1%}" for lv in levels}]
    for band in iv["holdout"]:
        label = "holdout, all" if band["band"] == "all" else f"holdout {band['band']}"
        rows.append({"where": label, "films": band["movies"]}
                    | {f"{lv}% coverage": f"{band[f'coverage_{lv}']:.1%}" for lv in levels}
                    | {f"{lv}% median width": f"{band[f'median_width_{lv}']:.2f}" for lv in levels}
                    | {"RMSE": f"{band['rmse']:.4f}", "mean error": f"{band['mean_error']:+.3f}"})
    scale = {"residual_line": "a line over release year fitted to the size of the training films' out-of-fold errors "
                              "(flat, then straight, continued past the training years)",
             "era_spread": "the ratings' spread line"}.get(iv.get("scale"), iv.get("scale"))
    extra = f", times a factor read from {', '.join(iv['difficulty'])}" if iv["difficulty"] else ""
    return ["### How sure: prediction intervals", "",
            f"Every prediction comes with ranges at {', '.join(f'{lv}%' for lv in levels)}: each is as wide as the "
            "training films' own out-of-fold errors say it must be to hold the real rating that often (split "
            "conformal prediction, which assumes nothing about the errors' shape), scaled by "
            f"{scale}{extra}. Intended against observed coverage, on the training years and on the later holdout "
            "years, where ratings drift away from anything calibrated; widths in stars. The ranges do not widen "
            "when the learners disagree about a film (a term for it lost on forward validation): the what-if "
            "answers say so where they disagree strongly.", "", markdown_table(pd.DataFrame(rows).fillna("")), ""]


def _errors(art: Path, ds: pd.DataFrame, figs: Figures) -> list[str]:
    pred = pd.read_parquet(art / "oof" / f"{STACK}.parquet").merge(ds[["movie_id", "year", "rating"]], on="movie_id")
    pred["residual"] = pred["prediction"] - pred["rating"]
    hold = pred[pred["part"] == "holdout"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    axes[0].scatter(hold["rating"], hold["prediction"], s=5, alpha=0.4, color=BLUE)
    lims = [min(hold["rating"].min(), hold["prediction"].min()), max(hold["rating"].max(), hold["prediction"].max())]
    axes[0].plot(lims, lims, color=RED, lw=1, label="perfect prediction")
    axes[0].set(xlabel="real rating (stars)", ylabel="predicted (stars)", title="Holdout films: predicted vs real")
    axes[0].legend(fontsize=8)
    by_year = pred.groupby("year")["residual"].agg(["mean", "std", "size"])
    by_year = by_year[by_year["size"] >= MIN_YEAR_FILMS]
    axes[1].axhline(0, color="grey", lw=1)
    axes[1].plot(by_year.index, by_year["mean"], color=BLUE, label="mean error of the year's films")
    axes[1].fill_between(by_year.index, by_year["mean"] - by_year["std"], by_year["mean"] + by_year["std"],
                         alpha=0.25, color=BLUE, label="± 1 sd of its films' errors (two in three inside)")
    axes[1].axvline(hold["year"].min() - 0.5, color=RED, ls="--", label="holdout starts")
    axes[1].set(xlabel="release year", ylabel="prediction − real (stars)", title="Errors by release year")
    axes[1].legend(fontsize=8, loc="lower left")
    return ["### Where the stack errs", "",
            "Left: each holdout film. The predictions are pulled toward the middle (a film rated 4.5 is predicted "
            "nearer 4): the model is sure of little at the extremes. Right: the mean error of each year's films "
            f"(years with {MIN_YEAR_FILMS}+ films), out of fold on the training years and on the holdout after "
            "them, with the shaded band holding one standard deviation of the films' errors around it. A drift "
            "away from zero after the cutoff is the price of predicting the future.", "",
            figs.save(fig, "errors", "predicted vs real and errors by year"), ""]
