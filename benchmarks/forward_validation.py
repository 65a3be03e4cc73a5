#!/usr/bin/env python
"""Forward validation: does a change help on movies *after* the years a model was fitted on?

    python benchmarks/forward_validation.py [--data-dir ../shared/data/case] [--fast]
        [--variant NAME KEY=VALUE ...] ...

Random CV folds mix all years, so they cannot measure extrapolation (a trend, a drift in the
ratings' spread, cast whose later films are not yet rated). The temporal holdout can, but it
must never choose anything. This benchmark removes the holdout from the data folder (the
same rule as the pipeline: the latest `split.holdout_fraction` of movies by year) and runs
the whole pipeline on what is left; that run's own temporal holdout, the latest years of the
*training* rows, is then a validation set that may choose. Each `--variant` is a name and
dotted params.yaml overrides (values in YAML), e.g.

    --variant raw learners.target=raw --variant level_spread learners.target=level_spread

Without variants, params.yaml as it is. Prints the CV and validation RMSE of every learner
per variant. Poster images (posters/) are not carried over; poster vectors are.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.config import Config, load_config  # noqa: E402
from pipeline.data import EMBEDDING_FILES, LINK_FILES, load_folder  # noqa: E402
from pipeline.splits import make_splits  # noqa: E402
from pipeline.workflow import run  # noqa: E402


def without_holdout(data_dir: Path, cfg: Config, out: Path) -> tuple[int, int]:
    """Writes `data_dir` minus its temporal holdout to `out`, movie ids renumbered (they index the
    embedding rows). Returns the holdout's first year and the number of movies kept."""
    movies = load_folder(data_dir, cfg.data, require_rating=True).movies
    cutoff = make_splits(movies.loc[movies["rating"].notna(), "date"], cfg.split, cfg.seed).cutoff_year
    raw = pd.read_csv(data_dir / "movies.csv", dtype=str, keep_default_na=False)
    keep = raw[raw["movie_id"].astype(int).isin(movies.index[movies["date"] < cutoff])]
    new_id = pd.Series(np.arange(len(keep)), index=keep["movie_id"].astype(int).to_numpy())
    out.mkdir(parents=True, exist_ok=True)
    for file, _ in LINK_FILES.values():
        if (data_dir / file).is_file():
            links = pd.read_csv(data_dir / file, dtype=str, keep_default_na=False)
            links = links[links["movie_id"].astype(int).isin(new_id.index)]
            links.assign(movie_id=new_id[links["movie_id"].astype(int)].to_numpy()).to_csv(out / file, index=False)
    for file in EMBEDDING_FILES.values():
        if (data_dir / file).is_file():
            np.save(out / file, np.load(data_dir / file)[new_id.index.to_numpy()])
    keep.assign(movie_id=np.arange(len(keep))).to_csv(out / "movies.csv", index=False)
    return cutoff, len(keep)


def overrides(pairs: list[str]) -> dict:
    """["a.b=1", "c=[x, y]"] -> {"a": {"b": 1}, "c": ["x", "y"]}"""
    out: dict = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        *parents, leaf = key.split(".")
        node = out
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = yaml.safe_load(value)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data" / "case")
    parser.add_argument("--fast", action="store_true")
    parser.add_argument("--variant", nargs="+", action="append", metavar=("NAME", "KEY=VALUE"), default=[])
    args = parser.parse_args()
    variants = {v[0]: overrides(v[1:]) for v in args.variant} or {"params.yaml": {}}
    profile = "fast" if args.fast else None
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        base = load_config(ROOT / "params.yaml", profile=profile)
        cutoff, n = without_holdout(args.data_dir, base, Path(tmp) / "data")
        print(f"{args.data_dir}: {n} movies before the holdout ({cutoff} on); "
              f"profile {profile or 'default'}")
        for name, over in variants.items():
            cfg = load_config(ROOT / "params.yaml", profile=profile, overrides=over)
            start = time.perf_counter()
            metrics = run(cfg, Path(tmp) / "data", Path(tmp) / name, params_source=f"params.yaml + {over}")
            results[name] = (metrics, time.perf_counter() - start)
            print(f"{name}: stack validation RMSE {metrics['holdout']['stack']['rmse']:.4f}, "
                  f"CV {metrics['cv']['stack']['rmse_mean']:.4f} in {results[name][1]:.0f} s", flush=True)
    first = next(iter(results.values()))[0]
    print(f"\nvalidation = the latest years of the training rows ({first['split']['cutoff_year']} on); "
          "CV RMSE / validation RMSE")
    print(f"{'learner':22s}" + "".join(f"{name[:21]:>22s}" for name in results))
    for learner in sorted(first["holdout"], key=lambda k: first["holdout"][k]["rmse"]):
        cells = [f"{m['cv'][learner]['rmse_mean']:.4f} / {m['holdout'][learner]['rmse']:.4f}"
                 if learner in m["holdout"] else "-" for m, _ in results.values()]
        print(f"{learner:22s}" + "".join(f"{c:>22s}" for c in cells))


if __name__ == "__main__":
    main()
