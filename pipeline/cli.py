"""`python -m pipeline run|tune-worker|predict|whatif|ultimate|report|demo`: the command-line contract (DESIGN §4).

Exit codes: 0 success; 2 bad input or parameters (one line on stderr, no traceback, nothing
written); 1 a bug (the traceback is kept).
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from pipeline.config import PROJECT_ROOT, load_config
from pipeline.errors import InputError

log = logging.getLogger("pipeline")


def _run(args: argparse.Namespace) -> None:
    from pipeline.workflow import run
    profile = "fast" if args.fast else args.profile
    cfg = load_config(args.params, profile=profile)
    if args.demo:
        from pipeline.demo import generate_demo
        data_dir = args.out_dir / "data" / "demo"
        generate_demo(data_dir, n_movies=args.demo_movies, seed=cfg.seed)
    else:
        data_dir = args.data_dir or (PROJECT_ROOT / cfg.data.dir)
    source = str(args.params) + (f" (profile {profile})" if profile else "")
    metrics = run(cfg, data_dir, args.out_dir, params_source=source)
    stack = metrics["holdout"]["stack"]
    print(f"stack holdout RMSE {stack['rmse']:.4f} (R² {stack['r2']:.3f}); CV RMSE "
          f"{metrics['cv']['stack']['rmse_mean']:.4f}; report: {args.out_dir / 'reports' / 'report.md'}")


def _tune_worker(args: argparse.Namespace) -> None:
    from pipeline.workflow import tune_worker
    cfg = load_config(args.params, profile="fast" if args.fast else args.profile)
    done = tune_worker(cfg, args.data_dir or (PROJECT_ROOT / cfg.data.dir), args.out_dir)
    print(f"{sum(done.values())} trials evaluated: " + ", ".join(f"{n} {k}" for n, k in done.items()))


def _predict(args: argparse.Namespace) -> None:
    from pipeline.data import load_folder
    from pipeline.io import write_table
    from pipeline.model import ModelBundle
    start = time.perf_counter()
    bundle = ModelBundle.load(args.model)
    data = load_folder(args.data_dir, bundle.cfg.data, require_rating=False, embedding_dims=bundle.spec.dims)
    predictions = bundle.predict(data, args.model.parent / "cache")
    write_table(args.out, predictions)
    print(f"{len(predictions):,} predictions written to {args.out} in {time.perf_counter() - start:.1f} s")


def _whatif_setup(args: argparse.Namespace):
    from pipeline.data import load_folder
    from pipeline.model import ModelBundle
    bundle = ModelBundle.load(args.model)
    data = load_folder(args.data_dir, bundle.cfg.data, require_rating=False, embedding_dims=bundle.spec.dims)
    return bundle, data


def _whatif(args: argparse.Namespace) -> None:
    from pipeline.whatif import find_movie, whatif, whatif_markdown
    bundle, data = _whatif_setup(args)
    movie_id = find_movie(data, args.movie_id, args.name)
    cfg = bundle.cfg.whatif.model_copy(update={k: v for k, v in (("top", args.top), ("max_edits", args.max_edits))
                                               if v is not None})
    start = time.perf_counter()
    answer = whatif(bundle, data, movie_id, cfg, bundle.cfg.seed, args.model.parent / "cache")
    print(whatif_markdown(answer))
    print(f"({answer['candidates']} single edits and {answer['trials']} combinations searched in "
          f"{time.perf_counter() - start:.1f} s; these are the model's associations, not causal effects)")


def _ultimate(args: argparse.Namespace) -> None:
    from pipeline.whatif import ultimate, ultimate_markdown
    bundle, data = _whatif_setup(args)
    card = ultimate(bundle, data, bundle.cfg.ultimate, bundle.cfg.whatif, bundle.cfg.seed, args.model.parent / "cache")
    text = ultimate_markdown(card)
    print(text)
    if args.out:
        from pipeline.io import write_text
        write_text(args.out, text)


def _report(args: argparse.Namespace) -> None:
    from pipeline.report import render_report
    print(render_report(args.out_dir / "artifacts", args.out_dir / "reports"))


def _demo(args: argparse.Namespace) -> None:
    from pipeline.demo import generate_demo
    generate_demo(args.out, n_movies=args.n_movies, seed=args.seed)
    print(f"demo data ({args.n_movies:,} movies, seed {args.seed}) written to {args.out}")


def add_run_arguments(parser: argparse.ArgumentParser, demo: bool = True) -> None:
    parser.add_argument("--params", type=Path, default=PROJECT_ROOT / "params.yaml")
    parser.add_argument("--data-dir", type=Path, default=None, help="input folder (default: data.dir in params)")
    parser.add_argument("--out-dir", type=Path, default=PROJECT_ROOT, help="writes OUT/artifacts and OUT/reports")
    parser.add_argument("--fast", action="store_true", help="the small 'fast' profile of params.yaml")
    parser.add_argument("--profile", default=None, help="merge profiles.NAME of params.yaml over the base")
    if demo:
        parser.add_argument("--demo", action="store_true", help="generate the synthetic demo data and run on it")
        parser.add_argument("--demo-movies", type=int, default=3000)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipeline", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="train, evaluate, write artifacts and the report")
    add_run_arguments(run)
    run.set_defaults(func=_run)
    worker = sub.add_parser("tune-worker", help="join a run's tuning studies (tuning.storage shared) and "
                            "evaluate their trials; same data and params as the run")
    add_run_arguments(worker, demo=False)
    worker.set_defaults(func=_tune_worker)
    pred = sub.add_parser("predict", help="predict ratings of a folder of new movies")
    pred.add_argument("--model", type=Path, required=True)
    pred.add_argument("--data-dir", type=Path, required=True)
    pred.add_argument("--out", type=Path, required=True)
    pred.set_defaults(func=_predict)
    what = sub.add_parser("whatif", help="edits to one movie that the model predicts would rate higher")
    what.add_argument("--model", type=Path, required=True)
    what.add_argument("--data-dir", type=Path, required=True)
    which = what.add_mutually_exclusive_group(required=True)
    which.add_argument("--movie-id", type=int)
    which.add_argument("--name")
    what.add_argument("--top", type=int, default=None, help="single edits listed (default: whatif.top)")
    what.add_argument("--max-edits", type=int, default=None, help="edits combined (default: whatif.max_edits)")
    what.set_defaults(func=_whatif)
    ult = sub.add_parser("ultimate", help="the highest-predicted movie composed of real parts")
    ult.add_argument("--model", type=Path, required=True)
    ult.add_argument("--data-dir", type=Path, required=True)
    ult.add_argument("--out", type=Path, default=None, help="also write the movie card (markdown) here")
    ult.set_defaults(func=_ultimate)
    rep = sub.add_parser("report", help="re-render the report from existing artifacts")
    rep.add_argument("--out-dir", type=Path, default=PROJECT_ROOT)
    rep.set_defaults(func=_report)
    demo = sub.add_parser("demo", help="write the deterministic synthetic dataset")
    demo.add_argument("--out", type=Path, required=True)
    demo.add_argument("--n-movies", type=int, default=3000)
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(func=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    for noisy in ("numba", "matplotlib", "PIL", "fontTools", "faiss"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        args.func(args)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
