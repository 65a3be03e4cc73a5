#!/usr/bin/env python
"""Backtest at the end of the data: the model a user gets, asked about the films just after its data.

    python benchmarks/backtest.py [--data-dir ../shared/data/case] [--origins reporting | selection | YEAR ...]
        [--fast] [--variant NAME KEY=VALUE ...] [--work DIR] [--keep predictions.csv]

A film "before it is made" is one or two years newer than the films its model was fitted on. For each
origin Y, the whole pipeline (`movie-rating run`: tuning, learners, stacker, intervals, the refit that
ships) is trained on every film released before Y, and the films of the window Y..Y+1 are predicted
through the Python API (`Model.predict`) from a folder that holds no rating, as a producer's would.
The window of the last origin runs to the end of the data when fewer than two years would be left after
it (2022-2024 on the case data). Windows never overlap, so each film is counted once. The reference,
one untuned CatBoost (benchmarks/reference_catboost.py), is fitted on the same films and predicts the
same window.

Which origins may choose (docs/architecture.md, "Evaluation protocol"): `selection` origins are the four
two-year windows that end before the pipeline's temporal holdout (2006, 2008, 2010, 2012 on the case data;
nothing from 2014 on is read); `reporting` origins (the default) are every second year from two years after
the holdout's first year to the end of the data (2016, 2018, 2020, 2022). Reporting figures are written
down, never chosen on.

Prints per origin and pooled over the origins: RMSE and mean error (prediction - rating) of the stack
and of the reference, the paired bootstrap 95% interval of their difference, every shipped learner's
RMSE, the 80% and 95% intervals' coverage and median width, and the run's seconds. Each `--variant` is
a name and dotted params.yaml overrides, as in benchmarks/forward_validation.py. The runs skip the
ablation stage (it does not change the shipped model). `--work` keeps each origin's folders and runs, so
a rerun reuses their checkpoints; `--keep` writes every film's predictions to a CSV.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from common import CASE_DIR, ROOT, run_main, write_subset  # first: puts the project on the import path

from pipeline.api import Model
from pipeline.config import Config, load_config, parse_overrides
from pipeline.data.clean import drop_duplicate_movies
from pipeline.data.load import MovieData, load_folder
from pipeline.data.splits import make_splits
from pipeline.errors import InputError
from pipeline.model.intervals import level_name
from pipeline.training.evaluate import paired_difference
from pipeline.training.reference import reference_predictions
from pipeline.workflow import run

HORIZON = 2               # release years per window: a film one or two years after the data
SELECTION_ORIGINS = 4     # windows ending just before the temporal holdout
N_BOOT = 2000


@dataclass(frozen=True)
class Window:
    origin: int           # the model is trained on the films released before this year
    first: int
    last: int
    role: str             # "selection" (may choose) or "reporting" (is written down, chooses nothing)

    @property
    def label(self) -> str:
        return f"{self.first}-{self.last}"


def windows(origins: list[str], years: pd.Series, holdout_year: int) -> list[Window]:
    """The windows of `origins` (years, or the named sets `selection` and `reporting`), checked not to overlap."""
    end = int(years.max())
    named = {"selection": [holdout_year - HORIZON * k for k in range(SELECTION_ORIGINS, 0, -1)],
             "reporting": list(range(holdout_year + HORIZON, end - HORIZON + 1, HORIZON))}
    if not all(o in named or o.isdigit() for o in origins):
        raise InputError("--origins", f"expected years, 'selection' or 'reporting', got {' '.join(origins)}")
    starts = sorted({y for o in origins for y in (named[o] if o in named else [int(o)])})
    out = []
    for k, start in enumerate(starts):
        last = start + HORIZON - 1
        if k == len(starts) - 1 and end - last < HORIZON:
            last = end                       # a lone last year joins the last window
        if k + 1 < len(starts) and starts[k + 1] <= last:
            raise InputError("--origins", f"windows overlap: {start}-{last} and the origin {starts[k + 1]}")
        if not ((years >= start) & (years <= last)).any():
            raise InputError("--origins", f"no rated film released in {start}-{last}")
        out.append(Window(start, start, last, "selection" if last < holdout_year else "reporting"))
    return out


def backtest_origin(window: Window, data_dir: Path, raw: MovieData, rated: MovieData, cfgs: dict[str, Config],
                    work: Path) -> tuple[pd.DataFrame, dict[str, float]]:
    """Every variant's model trained on the films before the origin, each film of the window predicted
    through `Model.predict`, and the reference: one row per film and variant; the runs' seconds."""
    folder = work / str(window.origin)
    write_subset(data_dir, raw.movies.index[raw.movies["date"] < window.origin], folder / "train")
    years = rated.movies["date"]
    window_ids = rated.movies.index[(years >= window.first) & (years <= window.last)].to_numpy()
    new_id = write_subset(data_dir, window_ids, folder / "window", ratings=False)
    train_ids = rated.movies.index[years < window.origin].to_numpy()
    some_cfg = next(iter(cfgs.values()))
    reference = np.clip(reference_predictions(rated, train_ids, window_ids, some_cfg.evaluation, some_cfg.seed),
                        *some_cfg.data.rating_range)
    films = pd.DataFrame({"origin": window.origin, "window": window.label, "role": window.role,
                          "movie_id": window_ids, "year": years.loc[window_ids].to_numpy(),
                          "rating": rated.movies.loc[window_ids, "rating"].to_numpy(np.float64),
                          "reference": reference})
    parts, seconds = [], {}
    for name, cfg in cfgs.items():
        start = time.perf_counter()
        run(cfg, folder / "train", folder / "run", params_source=f"backtest variant {name}")
        seconds[name] = time.perf_counter() - start
        model = Model.load(folder / "run")
        predicted = model.predict(model.folder_movies(folder / "window")).set_index("movie_id")
        predicted = predicted.loc[new_id[window_ids].to_numpy()].reset_index(drop=True)
        bounds = [c for c in predicted if c.startswith(("lower_", "upper_"))]
        learners = predicted[list(model.bundle.learners)].add_prefix("learner_")
        parts.append(pd.concat([films.assign(variant=name, stack=predicted["predicted_rating"].to_numpy()),
                                predicted[bounds], learners], axis=1))
    return pd.concat(parts, ignore_index=True), seconds


def summary(films: pd.DataFrame, levels: tuple[float, ...]) -> dict[str, object]:
    """The scores of one variant on some films (one origin, or all of them pooled)."""
    y = films["rating"].to_numpy()
    stack, ref = films["stack"].to_numpy(), films["reference"].to_numpy()
    rmse = lambda p: float(np.sqrt(np.mean((p - y) ** 2)))  # noqa: E731
    diff = paired_difference(y, stack, ref, n_boot=N_BOOT, ci=0.95, seed=0)
    learners = {c.removeprefix("learner_"): rmse(films[c].to_numpy()) for c in films if c.startswith("learner_")
                and films[c].notna().all()}
    out: dict[str, object] = {
        "films": len(y), "stack": rmse(stack), "stack_me": float(np.mean(stack - y)),
        "reference": rmse(ref), "reference_me": float(np.mean(ref - y)),
        "diff": diff["difference"], "diff_low": diff["ci_low"], "diff_high": diff["ci_high"],
        "averaged": rmse((stack + ref) / 2), "learners": learners}
    for level in levels:
        lo, hi = films[f"lower_{level_name(level)}"].to_numpy(), films[f"upper_{level_name(level)}"].to_numpy()
        out[f"coverage_{level_name(level)}"] = float(np.mean((y >= lo) & (y <= hi)))
        out[f"width_{level_name(level)}"] = float(np.median(hi - lo))
    return out


def print_table(name: str, films: pd.DataFrame, seconds: dict[int, float], levels: tuple[float, ...]) -> None:
    names = [level_name(level) for level in levels]
    print(f"\n{name}: RMSE (mean error); stack minus reference, paired bootstrap 95%")
    print("| origin | window | role | films | stack | reference | stack - reference | best single learner | "
          + " | ".join(f"{n}% coverage / width" for n in names) + " | run s |")
    print("|---" * (9 + len(names)) + "|")
    pools = [(f"pooled, {role}", g) for role, g in films.groupby("role", sort=False)]
    for origin, group in [(str(o), g) for o, g in films.groupby("origin", sort=True)] + pools:
        s = summary(group, levels)
        best = min(s["learners"], key=s["learners"].get) if s["learners"] else None
        pooled = origin.startswith("pooled")
        first = group.iloc[0]
        cells = [origin, "" if pooled else first["window"], "" if pooled else first["role"],
                 f"{s['films']:,}", f"{s['stack']:.4f} ({s['stack_me']:+.3f})",
                 f"{s['reference']:.4f} ({s['reference_me']:+.3f})",
                 f"{s['diff']:+.4f} [{s['diff_low']:+.4f}, {s['diff_high']:+.4f}]",
                 f"{best} {s['learners'][best]:.4f}" if best else "-"]
        cells += [f"{100 * s[f'coverage_{n}']:.1f}% / {s[f'width_{n}']:.2f}" for n in names]
        took = [seconds[o] for o in group["origin"].unique()]
        cells.append(f"{sum(took):.0f}")
        print("| " + " | ".join(cells) + " |")
    for role, group in pools:
        print_learners_and_average(role, group)


def print_learners_and_average(role: str, films: pd.DataFrame) -> None:
    """Every shipped learner's RMSE over the pooled films, and the stack and the reference averaged (a
    diagnostic: what the stack lacks that the reference has)."""
    pooled = summary(films, ())
    print(f"{role}: every shipped learner's RMSE, " + ", ".join(
        f"{n} {v:.4f}" for n, v in sorted(pooled["learners"].items(), key=lambda kv: kv[1])))
    avg = (films["stack"] + films["reference"]) / 2
    diff = paired_difference(films["rating"].to_numpy(), avg.to_numpy(), films["reference"].to_numpy(),
                             n_boot=N_BOOT, ci=0.95, seed=0)
    print(f"{role}: diagnostic, the stack and the reference averaged: RMSE {pooled['averaged']:.4f}, minus the "
          f"reference {diff['difference']:+.4f} [{diff['ci_low']:+.4f}, {diff['ci_high']:+.4f}]", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=CASE_DIR)
    parser.add_argument("--origins", nargs="+", default=["reporting"],
                        help="years, 'selection' (may choose), 'reporting' (the default), or both names")
    parser.add_argument("--fast", action="store_true", help="the fast profile of params.yaml")
    parser.add_argument("--variant", nargs="+", action="append", metavar=("NAME", "KEY=VALUE"), default=[])
    parser.add_argument("--work", type=Path, default=None, help="keep folders and runs here (reused on a rerun)")
    parser.add_argument("--keep", type=Path, default=None, help="write every film's predictions to this CSV")
    args = parser.parse_args()
    profile = "fast" if args.fast else None
    variants = {v[0]: v[1:] for v in args.variant} or {"params.yaml": []}
    cfgs = {name: load_config(ROOT / "params.yaml", profile=profile,
                              overrides=parse_overrides(["ablation.enabled=false", *pairs]))
            for name, pairs in variants.items()}
    cfg = next(iter(cfgs.values()))
    raw = load_folder(args.data_dir, cfg.data, require_rating=True)
    rated, _ = drop_duplicate_movies(raw)
    rated = rated.subset(rated.movies.index[rated.has_rating].to_numpy())
    holdout_year = make_splits(rated.movies["date"], cfg.split, cfg.seed).cutoff_year
    plan = windows(args.origins, rated.movies["date"], holdout_year)
    print(f"{args.data_dir}: {len(rated.movies):,} rated films, the temporal holdout from {holdout_year}; "
          f"profile {profile or 'default'}; windows " + ", ".join(f"{w.label} ({w.role})" for w in plan), flush=True)
    films, seconds = [], {name: {} for name in cfgs}
    with tempfile.TemporaryDirectory() as scratch:
        work = args.work or Path(scratch)
        for window in plan:
            rows, took = backtest_origin(window, args.data_dir, raw, rated, cfgs, work)
            films.append(rows)
            for name, s in took.items():
                seconds[name][window.origin] = s
                one = rows[rows["variant"] == name]
                print(f"origin {window.origin} ({window.label}, {window.role}), {name}: stack RMSE "
                      f"{summary(one, ())['stack']:.4f}, reference {summary(one, ())['reference']:.4f}, "
                      f"run {s:.0f} s", flush=True)
            if args.keep:
                pd.concat(films, ignore_index=True).to_csv(args.keep, index=False)
    every = pd.concat(films, ignore_index=True)
    for name in cfgs:
        print_table(name, every[every["variant"] == name], seconds[name], cfg.intervals.levels)


if __name__ == "__main__":
    run_main(main)
