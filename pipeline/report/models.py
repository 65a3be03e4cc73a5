"""The report's model sections: every learner by the kind of input it reads, the simple reference, the stack
with its comparisons (each paired by film, with its interval), what each group of inputs is worth (the
ablation) and what a film has when it is greenlit."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from pipeline.artifacts import REFERENCE, STACK
from pipeline.report.common import BLUE, GREY, MODALITY_ORDER, RED, Figures, markdown_table, paired, within_noise

LEARNER_WORDS = {"tabular": "facts and credits", "text": "tagline and description", "image": "poster",
                 "all": "every input", "reference": "facts, credits, text", "stack": "the blend",
                 "baseline_mean": "nothing (the training mean)", "baseline_year_trend": "the release year alone"}


def _reads(name: str, modality: str) -> str:
    return LEARNER_WORDS.get(name, LEARNER_WORDS.get(modality, modality))


def best_single(metrics: dict) -> str:
    return min((n for n, i in metrics["learners"].items() if i["modality"] != "baseline"),
               key=lambda n: metrics["holdout"][n]["rmse"])


def _skipped_learners(metrics: dict) -> list[dict]:
    """Enabled learners that did not run, with the reason the run recorded."""
    return [{"learner": name, "reads": _reads(name, info["modality"]), "stacked": "",
             "CV RMSE (mean ± sd)": info["reason"], "_order": MODALITY_ORDER.get(info["modality"], 9), "_rmse": np.inf}
            for name, info in metrics.get("skipped_learners", {}).items()]


def _comparison(metrics: dict) -> pd.DataFrame:
    rows = _skipped_learners(metrics)
    learners = metrics["learners"] | {STACK: {"modality": "stack", "stacked": False}}
    for name, info in learners.items():
        h, c = metrics["holdout"][name], metrics["cv"][name]
        rows.append({"learner": name, "reads": _reads(name, info["modality"]),
                     "stacked": "yes" if info["stacked"] else "",
                     "CV RMSE (mean ± sd)": f"{c['rmse_mean']:.4f} ± {c['rmse_sd']:.4f}",
                     "holdout RMSE [95% CI]": f"{h['rmse']:.4f} [{h['rmse_ci_low']:.3f}, {h['rmse_ci_high']:.3f}]",
                     "holdout MAE": f"{h['mae']:.4f}", "holdout R²": f"{h['r2']:.3f}",
                     "holdout Spearman": f"{h['spearman']:.3f}", "_order": MODALITY_ORDER.get(info["modality"], 9),
                     "_rmse": h["rmse"]})
    ref = metrics.get("reference")
    if ref:
        rows.append({"learner": REFERENCE, "reads": LEARNER_WORDS["reference"], "stacked": "",
                     "CV RMSE (mean ± sd)": "(not cross-validated)",
                     "holdout RMSE [95% CI]": f"{ref['rmse']:.4f} [{ref['rmse_ci_low']:.3f}, {ref['rmse_ci_high']:.3f}]",
                     "holdout MAE": f"{ref['mae']:.4f}", "holdout R²": f"{ref['r2']:.3f}",
                     "holdout Spearman": f"{ref['spearman']:.3f}", "_order": MODALITY_ORDER["reference"],
                     "_rmse": ref["rmse"]})
    return pd.DataFrame(rows).sort_values(["_order", "_rmse"]).fillna("")


def models_section(metrics: dict, figs: Figures) -> list[str]:
    comp = _comparison(metrics)
    out = ["## 4. Models by kind of input", "",
           "Each learner reads one kind of input (*reads*), and all see the same cross-validation folds. CV scores "
           "are out of fold on the training years; holdout scores are on the later films, which no learner saw "
           "(interval: bootstrap over holdout films). RMSE and MAE are in stars; R² is the share of the ratings' "
           "variance explained; Spearman is the rank correlation. The learners marked *stacked* are blended by the "
           f"stack. `{REFERENCE}` is the simple reference: one untuned CatBoost on the facts, the credits (encoded "
           "out of fold) and a ridge's reading of the text, fitted in every run on the same training films.", "",
           markdown_table(comp.drop(columns=["_order", "_rmse"])), ""]
    h = metrics["holdout"] | ({REFERENCE: metrics["reference"]} if "reference" in metrics else {})
    shown = [n for n in comp["learner"] if n in h and not n.startswith("baseline")][::-1]
    fig, ax = plt.subplots(figsize=(8, 0.4 * len(shown) + 1.2))
    rmse = np.array([h[n]["rmse"] for n in shown])
    err = np.array([[h[n]["rmse"] - h[n]["rmse_ci_low"], h[n]["rmse_ci_high"] - h[n]["rmse"]] for n in shown]).T
    for y, name in enumerate(shown):          # points, not bars: the axis zooms on the differences that matter
        ax.errorbar(rmse[y], y, xerr=err[:, [y]], fmt="o", capsize=3,
                    color=RED if name == STACK else GREY if name == REFERENCE else BLUE)
    ax.set_yticks(range(len(shown)), shown)
    ax.grid(axis="x", alpha=0.3)
    ax.set(xlabel="holdout RMSE in stars (lower is better), 95% bootstrap interval",
           title="Learners on the later films")
    out += [figs.save(fig, "modality_comparison", "holdout RMSE per learner"), "",
            f"Predicting every film at the training mean scores {metrics['holdout']['baseline_mean']['rmse']:.4f}, a "
            f"line in release year {metrics['holdout']['baseline_year_trend']['rmse']:.4f} (left off the plot)."
            " Bars share the same films, so their intervals overlap more than their differences are uncertain: "
            "the paired intervals in the next section are the comparison to read.", ""]
    return out


def stack_section(art: Path, metrics: dict, level: float) -> list[str]:
    stack, best = metrics["holdout"][STACK], best_single(metrics)
    minus = metrics.get("stack_minus", {})
    lines = [f"- against the best single learner, `{best}` ({metrics['holdout'][best]['rmse']:.4f}): "
             + paired(minus.get(best), level)]
    if REFERENCE in minus:
        lines.append(f"- against the simple reference ({metrics['reference']['rmse']:.4f}): "
                     + paired(minus[REFERENCE], level))
    out = ["## 5. The stack", "",
           f"The stack blends the stacked learners' predictions. On the holdout it scores RMSE {stack['rmse']:.4f} "
           f"stars (R² {stack['r2']:.3f}). Its difference in RMSE, film by film (negative: the stack is better):", "",
           *lines, ""]
    return out + _stacker_lines(art, metrics) + ablation_lines(metrics, level)


def _stacker_lines(art: Path, metrics: dict) -> list[str]:
    st = metrics["stacker"]
    weights = pd.Series(st["weights"])
    if st["method"] != "ridge":
        return ["The blend is a LightGBM model over the learners' out-of-fold predictions and the raw features; its "
                "gain importances:", "",
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
    return ["**The blend.** A ridge regression over the learners' out-of-fold predictions, with non-negative learner "
            "weights; raw features (such as the release year, in stars per year) enter with free sign. " + stretch
            + f"; the intercept ({st['intercept']:.2f}) and the raw features' terms put the level back. A learner's "
            "*share* is its weight times the spread of its predictions, as a share of all learners': how much of "
            "what moves a prediction away from the average comes from it.", "", markdown_table(table), ""]


def ablation_lines(metrics: dict, level: float) -> list[str]:
    rows = [r for r in metrics.get("ablation") or [] if "skipped" not in r]
    if not rows:
        return ["**What each group of inputs is worth.** The ablation was off for this run.", ""]
    full = metrics["shipped"]["bag_holdout"]
    table = pd.DataFrame([{"stack": "full", "learners": "", "holdout RMSE": f"{full['rmse']:.4f}",
                           "holdout MAE": f"{full['mae']:.4f}", "worth (RMSE without it − full)": ""}]
                         + [{"stack": r["ablation"], "learners": len(r["learners"]),
                             "holdout RMSE": f"{r['holdout']['rmse']:.4f}", "holdout MAE": f"{r['holdout']['mae']:.4f}",
                             "worth (RMSE without it − full)": paired(r.get("minus_full"), level)} for r in rows])
    skipped = [f"{r['ablation']} ({r['skipped']})" for r in metrics.get("ablation") or [] if "skipped" in r]
    return ["**What each group of inputs is worth.** The stack rebuilt without a group of inputs (every stacked "
            "learner refitted out of fold without it; learners left with nothing drop out). A positive worth is "
            "what the group adds on the holdout, paired film by film. Every row, *full* included, uses the mean of "
            "the learners' fold models rather than one refit, so *full* differs slightly from the shipped figure.",
            "", markdown_table(table), "",
            *([f"Not rebuilt: {'; '.join(skipped)}.", ""] if skipped else [])]


# when each input is usually known, and why: the project's judgement (the greenlight stack's `withheld`
# and `leads` in params.yaml decide what it leaves out)
WHEN_KNOWN = (
    ("release year", "greenlight", "the slate plans a release window (it can slip)"),
    ("studio", "greenlight", "the studio (or the distributor attached to the package) is who greenlights"),
    ("director", "greenlight", "packages are usually greenlit with their director attached"),
    ("lead actors", "greenlight", "stars attached to the package are often what gets it greenlit"),
    ("rest of the cast", "casting", "supporting roles are cast in pre-production, after the greenlight"),
    ("description", "greenlight", "the synopsis is what is pitched"),
    ("title", "greenlight", "a working title exists, though many change before release"),
    ("age rating", "final cut", "certified on the finished film, but aimed at from the script: kept as intended"),
    ("runtime", "final cut", "the edit decides it; a script gives only a rough length"),
    ("tagline", "marketing", "written for the campaign, months before release"),
    ("poster", "marketing", "the key art comes with the campaign"),
)
WITHHELD_INPUT = {"runtime": "runtime", "tagline": "tagline", "poster": "poster", "age_rating": "age rating"}


def greenlight_section(metrics: dict, level: float) -> list[str]:
    row = metrics.get("greenlight")
    out = ["## 6. Before it is made: what is known at greenlight", "",
           "A film's inputs do not all exist when the decision to make it is taken. When each is usually known, "
           "and why (the project's judgement):", ""]
    withheld = {WITHHELD_INPUT[w] for w in (row or {}).get("withheld", [])}
    leads = (row or {}).get("leads")
    table = pd.DataFrame([{"input": name, "usually known at": when, "why": why,
                           "in the greenlight model": "no" if name in withheld or (name == "rest of the cast" and leads)
                           else "yes"} for name, when, why in WHEN_KNOWN])
    out += [markdown_table(table), ""]
    if not row:
        return out + ["The greenlight model was not fitted in this run (the ablation was off).", ""]
    if "skipped" in row:
        return out + [f"The greenlight model was not fitted in this run: {row['skipped']}.", ""]
    full, gl = row["full"]["holdout"], row["holdout"]
    cast = f"only the {leads} top-billed actors" if leads else "the whole cast"
    learners = ", ".join(f"`{n}`" for n in row["learners"])
    out += [f"**A model fitted on greenlight inputs only.** A lighter stack than the shipped one, of {learners} with "
            "their tuned settings, refitted out of fold without "
            f"{' or '.join(w for _, w in sorted(WITHHELD_INPUT.items()) if w in withheld) or 'nothing'} and with "
            f"{cast}, against the same stack on every input (both the mean of the fold models). At greenlight it "
            f"misses a holdout film by {gl['mae']:.2f} stars on average (RMSE {gl['rmse']:.4f}, Spearman "
            f"{gl['spearman']:.2f}); with every input, {full['mae']:.2f} (RMSE {full['rmse']:.4f}, Spearman "
            f"{full['spearman']:.2f}): waiting for the cut and the campaign takes {gl['mae'] - full['mae']:.2f} stars "
            f"off the typical miss. In RMSE, greenlight minus every input: {paired(row['minus_full'], level)}.", ""]
    if within_noise(row["minus_full"]):
        out += ["The difference is within noise: at greenlight the model is as good as it gets.", ""]
    return out
