"""The report's first page: the answer in stars, for a reader who decides whether to use the tool.

Every figure comes from the run's artifacts (the stack's holdout predictions, metrics.json); nothing is fitted.
The holdout is the films released from the split's cutoff year on, which the evaluated model never saw.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

# ablation rows a reader recognises as kinds of information, in plain words
MODALITY_WORDS = {"without tabular": "the facts and credits (year, runtime, age rating, cast, director, studio)",
                  "without text": "the tagline and description", "without image": "the poster"}
TOP_SHARE = 0.2          # "the top fifth"


def holdout_predictions(art: Path, ds: pd.DataFrame) -> pd.DataFrame:
    """movie_id, year, rating and the stack's prediction of every holdout film."""
    stack = pd.read_parquet(art / "oof" / "stack.parquet")
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


def front_page(held: pd.DataFrame, metrics: dict, stack: str) -> list[str]:
    y, p = held["rating"].to_numpy(), held["prediction"].to_numpy()
    miss = np.abs(p - y)
    split = metrics["split"]
    first, last = int(held["year"].min()), int(held["year"].max())
    top, bottom = top_share_hit(y, p)
    spread = float(np.quantile(y, 0.9) - np.quantile(y, 0.1))
    mean_guess = metrics["holdout"]["baseline_mean"]["mae"]
    out = ["## The answer, in plain words", "",
           f"Scored on the {len(held):,} films released {first}-{last}, which the model did not see: it was fitted "
           f"on the {split['n_train']:,} films before {split['cutoff_year']}, as a film not yet made meets a model "
           "fitted on the films before it. Ratings are stars, 0.5 to 5. The model the tool ships is then refitted "
           "on every rated film before it answers for new ones.", "",
           f"- **How far off.** A typical prediction misses the real rating by **{miss.mean():.2f} stars** (mean "
           f"absolute error); half the films are within {np.median(miss):.2f} stars, four in five within "
           f"{np.quantile(miss, 0.8):.2f}. Guessing every film at the average rating misses by {mean_guess:.2f}.",
           f"- **Ranking.** Of the films the model puts in its top fifth, **{top:.0%}** really were among the top "
           f"fifth of ratings ({top / TOP_SHARE:.1f} times a random pick's 20%); of its bottom fifth, {bottom:.0%} "
           f"were in the bottom fifth. Rank correlation with the real ratings: "
           f"{metrics['holdout'][stack]['spearman']:.2f}."]
    bands = metrics.get("intervals", {}).get("holdout", [])
    if bands:
        overall = next(b for b in bands if b["band"] == "all")
        out.append(f"- **How sure.** Each prediction comes with a range that held the real rating for "
                   f"{overall['coverage_80']:.0%} of these films (80% intended); it is typically "
                   f"{overall['median_width_80']:.2f} stars wide, {overall['median_width_80'] / spread:.0%} of the "
                   f"{spread:.2f}-star spread between a low (10th percentile) and a high (90th) real rating: the "
                   "tool tells a likely hit from a likely miss, not a 3.6 from a 3.8.")
        newest = bands[-1]
        if newest["band"] != "all":
            direction = "too low" if newest["mean_error"] < 0 else "too high"
            years = newest["band"].replace("+", " and later")
            out.append(f"- **The newest films.** For the {newest['movies']:,} films of {years}, predictions "
                       f"were on average {abs(newest['mean_error']):.2f} stars {direction} (typical miss "
                       f"{newest['rmse']:.2f} as root mean square): ratings of the newest films moved away from the "
                       "long-run trend the model continues. A film one or two years past the data meets the "
                       "same, so read its prediction with that in mind (the project's backtest, in its experiments "
                       "notes, measures it directly).")
    out += _modality_lines(metrics, float(miss.mean()))
    out += ["- **What-if answers** show the changes the model *associates* with a higher rating, among people and "
            "studios who are active and suited to the film: not causes. A change smaller than the disagreement "
            "between the model's learners is marked *within noise*; read those as no change.", ""]
    return out


def _modality_lines(metrics: dict, stack_mae: float) -> list[str]:
    rows = [r for r in metrics.get("ablation", []) if r["ablation"] in MODALITY_WORDS and "holdout" in r]
    parts = [f"without {MODALITY_WORDS[r['ablation']]} it misses by {r['holdout']['mae']:.2f} stars "
             f"({r['holdout']['mae'] - stack_mae:+.2f})" for r in rows]
    skipped = [m for m, status in metrics.get("modalities", {}).items() if status.startswith("skipped")]
    words = {"image": "Posters were not available in this data, so the poster part of the model was not used",
             "text": "Taglines and descriptions were not available, so the text part was not used"}
    said = "; ".join(parts)
    line = "- **What each kind of information adds.** " + (said[:1].upper() + said[1:] + ". " if parts else "")
    line += ". ".join(words.get(m, f"The {m} part was not used") for m in skipped) + ("." if skipped else "")
    return [line] if parts or skipped else []
