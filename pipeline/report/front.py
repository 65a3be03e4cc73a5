"""The report's first page: the answer in stars, for a reader who decides whether to use the tool.

Every figure comes from the run's artifacts (the stack's holdout predictions, metrics.json); nothing is fitted.
The holdout is the films released from the split's cutoff year on, which the evaluated model never saw.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from pipeline.artifacts import REFERENCE, STACK
from pipeline.report.common import BLUE, RED, Figures, within_noise

# ablation rows a reader recognises as kinds of information, in plain words
MODALITY_WORDS = {"without tabular": "the facts and credits (year, runtime, age rating, people, studio)",
                  "without text": "the tagline and description", "without image": "the poster"}
TOP_SHARE = 0.2          # "the top fifth"
DECILES = 10


def holdout_predictions(art: Path, ds: pd.DataFrame) -> pd.DataFrame:
    """movie_id, year, rating and the stack's prediction of every holdout film."""
    stack = pd.read_parquet(art / "oof" / f"{STACK}.parquet")
    stack = stack[stack["part"] == "holdout"]
    return stack.merge(ds[["movie_id", "year", "rating"]], on="movie_id")


def top_share_hit(rating: np.ndarray, predicted: np.ndarray, share: float = TOP_SHARE) -> tuple[float, float]:
    """Of the films the model ranks in its top `share`, the fraction truly in the top `share`; same for the
    bottom."""
    k = max(1, int(round(share * len(rating))))
    true_top, true_bottom = set(np.argsort(-rating, kind="stable")[:k]), set(np.argsort(rating, kind="stable")[:k])
    model_top, model_bottom = np.argsort(-predicted, kind="stable")[:k], np.argsort(predicted, kind="stable")[:k]
    return (float(np.mean([i in true_top for i in model_top])),
            float(np.mean([i in true_bottom for i in model_bottom])))


def by_decile(rating: np.ndarray, predicted: np.ndarray) -> pd.DataFrame:
    """The films cut into tenths by predicted rating: each tenth's mean real and predicted rating and the
    standard error of its real mean."""
    tenth = pd.qcut(pd.Series(predicted).rank(method="first"), DECILES, labels=False)
    g = pd.DataFrame({"tenth": tenth + 1, "real": rating, "predicted": predicted}).groupby("tenth")
    return pd.DataFrame({"real": g["real"].mean(), "se": g["real"].sem(), "predicted": g["predicted"].mean()})


def _lift_figure(held: pd.DataFrame, figs: Figures) -> str:
    table = by_decile(held["rating"].to_numpy(), held["prediction"].to_numpy())
    fig, ax = plt.subplots(figsize=(7, 3.4))
    ax.errorbar(table.index, table["real"], yerr=1.96 * table["se"], fmt="o-", color=BLUE, capsize=3,
                label="real rating (mean, 95% interval)")
    ax.plot(table.index, table["predicted"], "s--", color=RED, ms=4, label="predicted (mean)")
    ax.axhline(held["rating"].mean(), color="grey", lw=1, label="all films' mean")
    ax.set_xticks(table.index, [f"{k}" for k in table.index])
    ax.set(xlabel="tenth of the films, from lowest to highest predicted", ylabel="rating (stars)",
           title="Later films, grouped by their predicted rating")
    ax.legend(fontsize=8)
    return figs.save(fig, "lift", "real rating by tenth of predicted rating")


def front_page(held: pd.DataFrame, metrics: dict, figs: Figures) -> list[str]:
    y, p = held["rating"].to_numpy(), held["prediction"].to_numpy()
    miss = np.abs(p - y)
    split = metrics["split"]
    first, last = int(held["year"].min()), int(held["year"].max())
    top, bottom = top_share_hit(y, p)
    deciles = by_decile(y, p)
    spread = float(np.quantile(y, 0.9) - np.quantile(y, 0.1))
    mean_guess = metrics["holdout"]["baseline_mean"]["mae"]
    out = ["## The answer, in plain words", "",
           f"Can a model predict a film's rating before it is made? Tested on the {len(held):,} films of "
           f"{first}-{last}, which it never saw (it learnt from the {split['n_train']:,} earlier films, as a film not "
           "yet made meets a model of the films before it). Ratings are 0.5 to 5 stars. The model the tool ships is "
           "then refitted on every rated film.", "",
           f"- **How far off.** A typical prediction misses by **{miss.mean():.2f} stars** (mean absolute error); "
           f"four films in five are within {np.quantile(miss, 0.8):.2f}. Guessing the average rating misses by "
           f"{mean_guess:.2f}.",
           f"- **Ranking.** Of the films it puts in its top fifth, **{top:.0%}** really were in the top fifth "
           f"({top / TOP_SHARE:.1f} times a random pick); of its bottom fifth, {bottom:.0%}. Rank correlation "
           f"(Spearman): {metrics['holdout'][STACK]['spearman']:.2f}. The tenth it rates highest averaged "
           f"{deciles['real'].iloc[-1]:.2f} stars, the tenth it rates lowest {deciles['real'].iloc[0]:.2f} (figure)."]
    out += _reference_line(metrics, float(miss.mean()))
    bands = metrics.get("intervals", {}).get("holdout", [])
    if bands:
        overall = next(b for b in bands if b["band"] == "all")
        out.append(f"- **How sure.** Each prediction's 80% range held the real rating for "
                   f"{overall['coverage_80']:.0%} of these films; it is typically {overall['median_width_80']:.2f} "
                   f"stars wide, {overall['median_width_80'] / spread:.0%} of the spread between a low and a high real "
                   "rating (10th to 90th percentile): it tells a likely hit from a likely miss, not a 3.6 from a 3.8.")
        newest = bands[-1]
        if newest["band"] != "all":
            direction = "too low" if newest["mean_error"] < 0 else "too high"
            years = newest["band"].replace("+", " and later")
            ref = next((b for b in metrics.get("bands", {}).get(REFERENCE, []) if b["band"] == newest["band"]), None)
            out.append(f"- **The newest films.** The {newest['movies']:,} films of {years} were predicted "
                       f"{abs(newest['mean_error']):.2f} stars {direction} on average (RMSE {newest['rmse']:.2f}, "
                       f"against {overall['rmse']:.2f} for all): their ratings left the long-run trend the model "
                       "continues" + (f", which the simple reference does not (RMSE {ref['rmse']:.2f} on them, mean "
                                      f"error {ref['mean_error']:+.2f})" if ref else "")
                       + ". A film one or two years past the data meets the same.")
    out += _modality_lines(metrics, float(miss.mean()))
    out += _greenlight_line(metrics)
    out += ["- **What-if answers** are what the model *associates* with a higher rating, not causes, among people "
            "and studios who are active, suited to the film and (for actors) lead films. A change within the "
            "learners' disagreement is marked *within noise*, and strong disagreement about a film is said.", "",
            _lift_figure(held, figs), "",
            "Comparisons are paired film by film, with a 95% interval (*within noise*: it holds zero). RMSE (root "
            "mean square error) weighs large misses more than the typical miss does.", ""]
    return out


def _reference_line(metrics: dict, stack_mae: float) -> list[str]:
    d = metrics.get("stack_minus", {}).get(REFERENCE)
    if d is None:
        return []
    ref = metrics["reference"]
    verdict = ("no better than it: the difference is within noise" if within_noise(d) else
               "better" if d["difference"] < 0 else "worse")
    return [f"- **Against the simple way.** One untuned gradient-boosting model on the same inputs, which any "
            f"analyst could build, misses by {ref['mae']:.2f} stars; this model is {verdict} (RMSE "
            f"{d['difference']:+.4f}, 95% interval [{d['ci_low']:+.4f}, {d['ci_high']:+.4f}])."]


def _interval_words(d: dict | None) -> str:
    if d is None:
        return ""
    noise = ", within noise" if within_noise(d) else ""
    return f"; RMSE {d['difference']:+.3f}, 95% interval [{d['ci_low']:+.3f}, {d['ci_high']:+.3f}]{noise}"


def _modality_lines(metrics: dict, stack_mae: float) -> list[str]:
    rows = [r for r in metrics.get("ablation", []) if r["ablation"] in MODALITY_WORDS and "holdout" in r]
    full = metrics.get("shipped", {}).get("bag_holdout", {}).get("mae", stack_mae)
    parts = [f"without {MODALITY_WORDS[r['ablation']]}, the typical miss grows by {r['holdout']['mae'] - full:.2f} "
             f"stars ({_interval_words(r.get('minus_full')).removeprefix('; ')})" for r in rows]
    skipped = [m for m, status in metrics.get("modalities", {}).items() if status.startswith("skipped")]
    words = {"image": "Posters were not available in this data: that part of the model was not used",
             "text": "Taglines and descriptions were not available: that part of the model was not used"}
    said = "; ".join(parts)
    line = "- **What each kind of information adds.** " + (said[:1].upper() + said[1:] + ". " if parts else "")
    line += ". ".join(words.get(m, f"The {m} part was not used") for m in skipped) + ("." if skipped else "")
    return [line] if parts or skipped else []


def _greenlight_line(metrics: dict) -> list[str]:
    row = metrics.get("greenlight")
    if not row or "skipped" in row:
        return []
    withheld = ", ".join({"runtime": "the runtime (known at the final cut)", "tagline": "the tagline",
                             "poster": "the poster", "age_rating": "the age rating"}[w] for w in row["withheld"])
    cast = f" and with only its {row['leads']} lead actors" if row.get("leads") else ""
    return [f"- **At greenlight,** without {withheld or 'nothing'}{cast}, a lighter version of the model misses "
            f"by {row['holdout']['mae']:.2f} stars against {row['full']['holdout']['mae']:.2f} with everything"
            f"{_interval_words(row.get('minus_full'))} (section 6)."]
