#!/usr/bin/env python
"""Forward validation of the prediction intervals: which difficulty features keep the coverage honest
on movies *after* the calibration years, at the narrowest width?

    python benchmarks/intervals.py [--data-dir ../shared/data/case] [--fast] [--origins 2]
        [--variant NAME KEY=VALUE ...] ...

As in benchmarks/forward_validation.py, the temporal holdout is removed from the folder (it must never
choose) and the pipeline runs once per origin on what is left; that run's own holdout, the latest years
of the training rows, is the validation set. Each `--variant` is a name and overrides of the
`intervals` section (values in YAML), e.g. `scale=era_spread difficulty=[disagreement]`; every variant
is calibrated on the same out-of-fold predictions, so the learners are fitted once per origin. Prints,
per origin and variant, nominal against observed coverage, the median width and the interval score
(a proper scoring rule: lower is better), overall and per validation-year band.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from common import ROOT, run_main  # first: puts the project on the import path
from forward_validation import forward_folders, forward_parser

from pipeline.artifacts import STACK
from pipeline.config import IntervalConfig, load_config, parse_overrides
from pipeline.data.clean import drop_duplicate_movies
from pipeline.data.load import load_folder
from pipeline.features.prepare import split_and_prepare
from pipeline.io import read_json
from pipeline.training.intervals import fit_intervals
from pipeline.training.oof import OOFResult
from pipeline.workflow import run

DEFAULT_VARIANTS = {
    "era spread": {"scale": "era_spread", "difficulty": []},
    "residual line": {"scale": "residual_line", "difficulty": []},
    "+ disagreement": {"scale": "residual_line", "difficulty": ["disagreement"]},
    "+ position, extremity": {"scale": "residual_line", "difficulty": ["position", "extremity"]},
    "+ all": {"scale": "residual_line", "difficulty": ["disagreement", "position", "extremity", "runtime_missing",
                                                       "n_director", "n_actor"]},
}


def evaluate_variants(cfg, data_dir: Path, out: Path, variants: dict[str, dict]) -> list[dict]:
    """Every variant calibrated on the run's out-of-fold predictions, scored on its holdout."""
    raw, _ = drop_duplicate_movies(load_folder(data_dir, cfg.data, require_rating=True))
    _, _, data = split_and_prepare(raw, cfg, out / "artifacts" / "cache")
    art = out / "artifacts"
    shipped = read_json(art / "model" / "stacker" / "stacker.json")["learners"]
    results = {n: OOFResult.load(art / "oof", n) for n in shipped}
    stack = pd.read_parquet(art / "oof" / f"{STACK}.parquet")
    cv = stack[stack["part"] == "oof"].set_index("movie_id")["prediction"].loc[data.train.ids].to_numpy()
    hold = stack[stack["part"] == "holdout"].set_index("movie_id")["prediction"].loc[data.holdout.ids].to_numpy()
    years = data.holdout.tabular["year"].to_numpy()
    thirds = tuple(int(np.quantile(years, q, method="nearest")) for q in (1 / 3, 2 / 3))   # validation-year bands
    rows = []
    for name, changes in variants.items():
        vcfg = cfg.model_copy(update={
            "intervals": IntervalConfig.model_validate(cfg.intervals.model_dump() | changes),
            "evaluation": cfg.evaluation.model_copy(update={"year_bands": thirds})})
        _, metrics = fit_intervals(vcfg, data, results, shipped, cv, hold)
        for band in metrics["holdout"]:
            rows.append({"variant": name, **band} | {f"cv_{k}": v for k, v in metrics["cv"].items()})
    return rows


def main() -> None:
    parser = forward_parser(__doc__, origins=2)
    parser.add_argument("--keep", type=Path, default=None,
                        help="keep each origin's data and run here; an origin whose run is there is not rerun")
    args = parser.parse_args()
    variants = {v[0]: parse_overrides(v[1:]) for v in args.variant} or DEFAULT_VARIANTS
    profile = "fast" if args.fast else None
    cfg = load_config(ROOT / "params.yaml", profile=profile)
    levels = [f"{100 * lv:g}" for lv in cfg.intervals.levels]
    tables = []
    with tempfile.TemporaryDirectory() as scratch:
        tmp = args.keep or Path(scratch)
        for origin, data_dir in forward_folders(args.data_dir, cfg, tmp, args.origins):
            out = tmp / f"run{origin}"
            if not (out / "artifacts" / "model" / "manifest.json").is_file():
                run(cfg, data_dir, out, params_source="params.yaml")
            table = pd.DataFrame(evaluate_variants(cfg, data_dir, out, variants)).assign(origin=origin)
            tables.append(table)
            cells = [f"{what}_{lv}" for what in ("coverage", "median_width", "interval_score") for lv in levels]
            show = table[["variant", "band", "movies", *cells]]
            print(show.to_string(index=False, float_format=lambda v: f"{v:.3f}"), "\n", flush=True)
    both = pd.concat(tables)
    summary = both[both["band"] == "all"].groupby("variant", sort=False)[
        [f"coverage_{lv}" for lv in levels] + [f"median_width_{lv}" for lv in levels]
        + [f"interval_score_{lv}" for lv in levels]].mean()
    worst = both[both["band"] != "all"].groupby("variant", sort=False)[[f"coverage_{lv}" for lv in levels]].min()
    print(f"mean over {args.origins} origin(s) (all validation movies; interval score: lower is better), and the "
          "worst year band's coverage:")
    print(summary.join(worst.add_prefix("worst band ")).to_string(float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    np.seterr(all="ignore")
    run_main(main)
