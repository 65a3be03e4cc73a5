"""The report's appendix: tuning (its plots only where a study has enough trials to say something), one
learner's own view of its inputs (CatBoost's importances and SHAP values), run time and parameters."""
from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from pipeline.report.common import BLUE, RED, Figures, markdown_table


def appendix(art: Path, metrics: dict, run_info: dict, figs: Figures) -> list[str]:
    report = run_info["params"]["report"]
    return (["## Appendix", ""] + _tuning(metrics, int(report["tuning_plot_trials"]), figs)
            + _one_learner(art, figs, int(report["top_features"])) + _run_facts(metrics, run_info))


def _tuning(metrics: dict, min_trials: int, figs: Figures) -> list[str]:
    tuning = metrics.get("tuning") or {}
    if not tuning:
        return ["### Tuning", "", "Tuning was off for this run: the parameters in params.yaml were used.", ""]
    rows = [{"layer": n, "trials (complete / pruned)": f"{r['n_complete']} / {r['n_pruned']}",
             "defaults, inner-CV RMSE": "" if r["default_value"] is None else f"{r['default_value']:.4f}",
             "best, inner-CV RMSE": f"{r['best_value']:.4f}", "seconds": f"{r['seconds']:.0f}",
             "best parameters": ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                          for k, v in r["best_params"].items())} for n, r in tuning.items()]
    out = ["### Tuning", "",
           "Optuna (seeded TPE, fold-level median pruning) tuned each layer on an inner cross-validation of the "
           "training films only (a different shuffle from the evaluation folds); the first trial of each study is "
           "the params.yaml defaults. The holdout was never seen. CV figures use the tuned parameters, so they are "
           "mildly optimistic; the holdout figures are not.", "", markdown_table(pd.DataFrame(rows)), ""]
    plotted = {n: r for n, r in tuning.items() if r["n_complete"] >= min_trials and r.get("values")}
    if len(plotted) < len(tuning):
        out += [f"Plots are drawn for studies of {min_trials}+ completed trials"
                + (f" ({', '.join(plotted)})" if plotted else ": none in this run") + "; fewer say nothing.", ""]
    for name, result in plotted.items():
        importances = result.get("importances") or {}
        fig, axes = plt.subplots(1, 2 if importances else 1, figsize=(11 if importances else 6, 3.4), squeeze=False)
        values = np.asarray(result["values"])
        axes[0, 0].scatter(np.arange(1, len(values) + 1), values, s=12, color=BLUE, label="trial")
        axes[0, 0].plot(np.arange(1, len(values) + 1), np.minimum.accumulate(values), color=RED, label="best so far")
        axes[0, 0].set(xlabel="trial", ylabel="inner-CV RMSE (stars)", title=f"{name}: tuning history")
        axes[0, 0].legend(fontsize=8)
        if importances:
            names = list(importances)[::-1]
            axes[0, 1].barh(names, [importances[k] for k in names], color=BLUE)
            axes[0, 1].set(xlabel="share of the trials' differences (Optuna's fANOVA importance)",
                           title=f"{name}: what mattered")
        out += [figs.save(fig, f"tuning_{name}", f"{name} tuning"), ""]
    return out


COLUMN_LEGEND = (("_hist_", "`_hist_` columns encode the credited actors, directors and studios by the ratings of "
                             "their earlier films only"),
                 ("_te_", "`_te_` columns are out-of-fold target encodings of them, from films of every year"))


def _one_learner(art: Path, figs: Figures, top: int) -> list[str]:
    out = ["### One learner's own view", "",
           "The drivers section reads the whole stack. For a data scientist, the shipped CatBoost learner's own "
           "view of its columns (the features section glosses their names). Per-learner importances (mean and sd "
           "over fold models, and of each shipped learner) are in `artifacts/importance/`.", ""]
    shipped = sorted((art / "importance").glob("*_catboost_shipped.csv"))
    if shipped:
        imp = pd.read_csv(shipped[0]).head(top)
        fig, ax = plt.subplots(figsize=(8, 0.3 * len(imp) + 1))
        ax.barh(imp["feature"][::-1], imp["importance"][::-1], color=BLUE)
        ax.set(xlabel="CatBoost's PredictionValuesChange: % of the prediction's moves due to the column",
               title="CatBoost learner: its own importances")
        legend = [text for marker, text in COLUMN_LEGEND if imp["feature"].str.contains(marker, regex=False).any()]
        out += [("; ".join(legend) + ".") if legend else "", "",
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
        out += [f"Its SHAP values on {len(values):,} films, in stars (each dot a film; right of zero: pushes the "
                "predicted rating up; colour: the column's value, grey for names, which have no scale: the drivers "
                "section ranks the names themselves):", "",
                figs.save(fig, "shap_beeswarm", "SHAP beeswarm of the CatBoost learner"), ""]
    return out


def _run_facts(metrics: dict, run_info: dict) -> list[str]:
    stages = {k: v for k, v in run_info["timings"].items() if k != "report"}   # its own time lands in run.json
    peak = run_info.get("peak_memory_mb", {})
    timings = pd.DataFrame({"stage": list(stages) + ["total before the report"],
                            "seconds": [f"{v:.1f}" for v in stages.values()] + [f"{sum(stages.values()):.1f}"],
                            "peak memory (MB)": [f"{peak[k]:,.0f}" if k in peak else "" for k in stages]
                            + [f"{max((peak[k] for k in stages if k in peak), default=0):,.0f}"]})
    fits = pd.DataFrame([{"learner": n, "CV fit seconds (all folds)": f"{i['fit_seconds']:.1f}"}
                         for n, i in metrics["learners"].items()])
    excluded = run_info["params"]["learners"]["exclude_blocks"]
    return ["### Run time", "", markdown_table(timings), "", markdown_table(fits), "",
            "### Parameters", "", f"Data: `{run_info['data_dir_shown']}` (relative to the run's folder). "
            f"Parameters from `{run_info['params_source']}` (seed {run_info['seed']}); "
            f"code {run_info.get('git_commit') or 'not in git'}; packages: "
            + ", ".join(f"{k} {v}" for k, v in run_info["versions"].items()) + ". Every parameter the run used, "
            "tuned values included: [`artifacts/params.yaml`](../artifacts/params.yaml)."
            + (f" Feature blocks no learner read in this run (`learners.exclude_blocks`): {', '.join(excluded)}."
               if excluded else ""), ""]
