"""`movie-rating` (or `python -m pipeline`) run|tune-worker|predict|explain|whatif|ultimate|report|runs|demo.

Exit codes: 0 success; 2 bad input or parameters (one line on stderr, no traceback, nothing
written); 1 a bug (the traceback is kept).
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

from pipeline.config import PACKAGED_PARAMS, Config, default_params, load_config, parse_overrides
from pipeline.errors import InputError
from pipeline.escape import terminal
from pipeline.progress import log_handler

log = logging.getLogger("pipeline")


def say(text: object) -> None:
    """Print for a person: names come from data, so no control character or escape code reaches the screen."""
    print(terminal(str(text)))


def run_config(args: argparse.Namespace) -> tuple[Config, str]:
    """The parameters of `run`/`tune-worker`: the file, then the profile, then each -S; and a line naming them."""
    if args.fast and args.profile:
        raise InputError("--fast", f"is the profile 'fast'; pass --fast or --profile {args.profile}, not both")
    profile = "fast" if args.fast else args.profile
    path = args.params or default_params()
    cfg = load_config(path, profile=profile, overrides=parse_overrides(args.set), known_only=True)
    shown = "the packaged params.yaml" if path == PACKAGED_PARAMS else str(path)   # as typed: no machine path
    return cfg, shown + (f" (profile {profile})" if profile else "") + "".join(f" -S {s}" for s in args.set)


def _run(args: argparse.Namespace) -> None:
    from pipeline.workflow import check_out_dir, run
    cfg, source = run_config(args)
    check_out_dir(args.out_dir)
    if args.demo:
        from pipeline.synthetic.demo import generate_demo
        data_dir = args.out_dir / "data" / "demo"
        generate_demo(data_dir, n_movies=args.demo_movies, seed=cfg.seed)
    else:
        data_dir = args.data_dir or data_folder(cfg.data.dir)
    metrics = run(cfg, data_dir, args.out_dir, params_source=source)
    stack = metrics["holdout"]["stack"]
    say(f"stack holdout RMSE {stack['rmse']:.4f} (R² {stack['r2']:.3f}, the shipped recipe); CV RMSE "
          f"{metrics['cv']['stack']['rmse_mean']:.4f}; report: {args.out_dir / 'reports' / 'report.md'}")


def data_folder(configured: str) -> Path:
    """params.yaml's data.dir (relative to the working directory), when --data-dir is not given."""
    folder = Path(configured)
    if not folder.is_dir():
        raise InputError(str(folder), "data folder not found (data.dir in params.yaml); pass --data-dir DIR with "
                         "movies.csv and the other files of the data contract (README), or --demo for synthetic data")
    return folder


def _tune_worker(args: argparse.Namespace) -> None:
    from pipeline.workflow import tune_worker
    cfg, _ = run_config(args)
    done = tune_worker(cfg, args.data_dir or data_folder(cfg.data.dir), args.out_dir)
    say(f"{sum(done.values())} trials evaluated: " + ", ".join(f"{n} {k}" for n, k in done.items()))


def _predict(args: argparse.Namespace) -> None:
    from pipeline.api import Model
    from pipeline.io import output_file, write_table
    start = time.perf_counter()
    output_file(args.out, "--out", "predictions.csv")
    model = Model.load(args.model)
    loaded = time.perf_counter()
    table = model.predict(model.folder_movies(args.data_dir), explain=args.explain)
    write_table(args.out, table)
    levels = model.bundle.cfg.intervals.levels if model.bundle.intervals else ()
    for row in table.head(SHOWN).itertuples(index=False):
        say(prediction_line(row._asdict(), levels))
    note = model.after_the_data(table["year"])
    if note:
        say(note)
    more = f" (the first {SHOWN} shown)" if len(table) > SHOWN else ""
    end = time.perf_counter()
    rate = f", then {len(table) / (end - loaded):,.0f} films/s" if len(table) >= RATE_FROM else ""
    say(f"{len(table):,} predictions written to {args.out}{more} in {end - start:.1f} s (the model loaded in "
        f"{loaded - start:.1f} s{rate})")


SHOWN = 10      # movies printed by `predict`; the file has them all
RATE_FROM = 1000    # films from which `predict` also says its rate (of one film, "0 films/s" says nothing)


def prediction_line(row: dict, levels: tuple[float, ...]) -> str:
    """One movie's prediction, intervals, training-data note and reasons, as `predict` prints them."""
    from pipeline.model.catalogue import NEWCOMERS
    from pipeline.model.intervals import level_name
    spans = "  ".join(f"{level_name(lv)}%: {row[f'lower_{level_name(lv)}']:.2f}-{row[f'upper_{level_name(lv)}']:.2f}"
                      for lv in levels)
    seen = (f"in the training data, actual {row['actual_rating']:.2f}" if row["in_training_data"]
            else "not in the training data")
    lines = [f"{row['name']} ({row['year']}): predicted {row['predicted_rating']:.2f}  {spans}  ({seen})"]
    lines += [f"    {value}" for key, value in row.items() if key.startswith("reason_")]
    if row["unknown_names"]:
        lines.append(f"    {NEWCOMERS}: {row['unknown_names']}")
    return "\n".join(lines)


def _explain(args: argparse.Namespace) -> None:
    from pipeline.api import Model
    from pipeline.io import output_file
    if args.figure is not None:
        output_file(args.figure, "--figure", "waterfall.png")
    model = Model.load(args.model)
    explanation = model.explain(model.folder_movies(args.data_dir), movie_id=args.movie_id, name=args.name)
    say(explanation)
    figure = explanation.waterfall(args.figure or Path(f"waterfall_{explanation.movie_id}.png"), top=args.top)
    say(f"waterfall figure: {figure}")


def _whatif(args: argparse.Namespace) -> None:
    from pipeline.api import Model
    from pipeline.serving.whatif import whatif_markdown
    model = Model.load(args.model)
    movies = model.folder_movies(args.data_dir)
    start = time.perf_counter()
    answer = model.whatif(movies, movie_id=args.movie_id, name=args.name, top=args.top, max_edits=args.max_edits)
    say(whatif_markdown(answer))
    say(f"({answer['candidates']} single edits and {answer['trials']} combinations searched in "
          f"{time.perf_counter() - start:.1f} s; these are the model's associations, not causal effects)")


def _serve(args: argparse.Namespace) -> None:
    import os

    from pipeline.serve import serve
    serve(str(args.model), args.host, args.port, args.token or os.environ.get("MOVIE_RATING_TOKEN"))


def _ultimate(args: argparse.Namespace) -> None:
    from pipeline.api import Model
    from pipeline.io import output_file, write_text
    from pipeline.serving.whatif import ultimate_markdown
    if args.out:
        output_file(args.out, "--out", "card.md")
    text = ultimate_markdown(Model.load(args.model).ultimate())
    say(text)
    if args.out:
        write_text(args.out, text)


def _report(args: argparse.Namespace) -> None:
    from pipeline.stages.report import rerender
    if not (args.out_dir / "artifacts" / "metrics.json").is_file():
        raise InputError(str(args.out_dir), "no finished run here (artifacts/metrics.json is missing); pass the "
                         "--out-dir of a run, or train one with run_all.py")
    say(rerender(args.out_dir))


def _runs(args: argparse.Namespace) -> None:
    import pandas as pd

    from pipeline.runs import compare_runs, list_runs
    art = args.out_dir / "artifacts"
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.max_colwidth", 60):
        if not args.compare:
            say(list_runs(art).to_string())
            return
        params, scores = compare_runs(art, *args.compare)
        say("parameters that differ:" if len(params) else "same parameters")
        if len(params):
            say(params.to_string(index=False))
        say("\nRMSE by learner (change: second minus first; negative is better):")
        say(scores.to_string(index=False))


def _demo(args: argparse.Namespace) -> None:
    from pipeline.synthetic.demo import generate_demo
    seed = load_config(default_params()).seed if args.seed is None else args.seed   # as `run --demo`
    generate_demo(args.out, n_movies=args.n_movies, seed=seed)
    say(f"demo data ({args.n_movies:,} movies, seed {seed}) written to {args.out}")


def add_run_arguments(parser: argparse.ArgumentParser, demo: bool = True) -> None:
    parser.add_argument("--params", type=Path, default=None,
                        help="parameters (default: params.yaml here, else the packaged defaults)")
    parser.add_argument("--data-dir", type=Path, default=None, help="input folder (default: data.dir in params)")
    parser.add_argument("--out-dir", type=Path, default=Path("."),
                        help="writes OUT/artifacts and OUT/reports (default: the working directory)" if demo else
                        "the run's out-dir: its data fingerprint and tuning studies (default: the working directory)")
    parser.add_argument("--fast", action="store_true", help="the small 'fast' profile of params.yaml")
    parser.add_argument("--profile", default=None, help="merge profiles.NAME of params.yaml over the base")
    parser.add_argument("-S", "--set", action="append", default=[], metavar="KEY=VALUE",
                        help="set one parameter of params.yaml for this run, validated like the file, e.g. "
                        "-S learners.params.tabular_catboost.depth=8 (repeatable; applied after the profile)")
    if demo:
        parser.add_argument("--demo", action="store_true", help="generate the synthetic demo data and run on it")
        parser.add_argument("--demo-movies", type=int, default=3000, help="movies in the demo data (default: 3000)")


def add_model_arguments(parser: argparse.ArgumentParser, data: bool = True) -> None:
    parser.add_argument("--model", type=Path, required=True,
                        help="a model folder (OUT/artifacts/model), or the run's out-dir that holds one")
    if data:
        parser.add_argument("--data-dir", type=Path, required=True,
                            help="movies in the data contract's layout: movies.csv (no rating needed), and "
                            "optionally actors.csv, directors.csv, studios.csv, *_embeddings.npy")


def add_movie_arguments(parser: argparse.ArgumentParser, required: bool) -> None:
    which = parser.add_mutually_exclusive_group(required=required)
    which.add_argument("--movie-id", type=int, help="the movie's movie_id in movies.csv")
    which.add_argument("--name", help="the movie's title (unique in the folder)")


def verbose_parser(top: bool) -> argparse.ArgumentParser:
    """-v before or after the subcommand (a subcommand's default would overwrite the top level's)."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("-v", "--verbose", action="store_true", default=False if top else argparse.SUPPRESS,
                        help="debug-level logging")
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="movie-rating", parents=[verbose_parser(top=True)],
                                     description="Predict a movie's rating before it is made: train on a folder "
                                     "of movies, then predict, explain and ask what-if.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=SubParser)
    run = sub.add_parser("run", help="train, evaluate, write artifacts and the report")
    add_run_arguments(run)
    run.set_defaults(func=_run)
    worker = sub.add_parser("tune-worker", help="join a run's tuning studies (tuning.storage shared) and "
                            "evaluate their trials; same data and params as the run")
    add_run_arguments(worker, demo=False)
    worker.set_defaults(func=_tune_worker)
    pred = sub.add_parser("predict", help="predict ratings of a folder of new movies, with intervals and reasons")
    add_model_arguments(pred)
    pred.add_argument("--out", type=Path, default=Path("predictions.csv"),
                      help="the predictions file, .csv or .parquet (default: predictions.csv here)")
    pred.add_argument("--explain", type=int, default=0, metavar="K",
                      help="add each movie's K largest reasons (contributions in rating points)")
    pred.set_defaults(func=_predict)
    expl = sub.add_parser("explain", help="why one movie is predicted what it is: reasons and a waterfall figure")
    add_model_arguments(expl)
    add_movie_arguments(expl, required=False)
    expl.add_argument("--top", type=int, default=10, help="reasons drawn in the figure (the rest summed)")
    expl.add_argument("--figure", type=Path, default=None,
                      help="the waterfall figure, .png (default: waterfall_<movie_id>.png here)")
    expl.set_defaults(func=_explain)
    what = sub.add_parser("whatif", help="edits to one movie that the model predicts would rate higher")
    add_model_arguments(what)
    add_movie_arguments(what, required=True)
    what.add_argument("--top", type=int, default=None, help="single edits listed (default: whatif.top)")
    what.add_argument("--max-edits", type=int, default=None, help="edits combined (default: whatif.max_edits)")
    what.set_defaults(func=_whatif)
    ult = sub.add_parser("ultimate", help="the highest-predicted movie a producer could make: a real recent story "
                         "with hireable people (needs only the model)")
    add_model_arguments(ult, data=False)
    ult.add_argument("--out", type=Path, default=None, help="also write the movie card (markdown) here")
    ult.set_defaults(func=_ultimate)
    srv = sub.add_parser("serve", help="answer predict, explain, what-if and more over HTTP (JSON), loading the "
                         "model once")
    add_model_arguments(srv, data=False)
    srv.add_argument("--host", default="127.0.0.1", help="interface to bind (default: loopback only)")
    srv.add_argument("--port", type=int, default=8000)
    srv.add_argument("--token", default=None, help="required of every client (beyond loopback it must be set; "
                     "default: MOVIE_RATING_TOKEN)")
    srv.set_defaults(func=_serve)
    rep = sub.add_parser("report", help="re-render the report from existing artifacts")
    rep.add_argument("--out-dir", type=Path, default=Path("."), help="the run's out-dir (default: here)")
    rep.set_defaults(func=_report)
    runs = sub.add_parser("runs", help="list the runs kept in an out-dir, or compare two of them")
    runs.add_argument("--out-dir", type=Path, default=Path("."), help="the runs' out-dir (default: here)")
    runs.add_argument("--compare", nargs=2, metavar=("A", "B"),
                      help="two runs, by number in the list or id prefix: the parameters and RMSEs that differ")
    runs.set_defaults(func=_runs)
    demo = sub.add_parser("demo", help="write the deterministic synthetic dataset")
    demo.add_argument("--out", type=Path, required=True, help="the folder to write (the case's file layout)")
    demo.add_argument("--n-movies", type=int, default=3000, help="movies to generate (default: 3000)")
    demo.add_argument("--seed", type=int, default=None, help="random seed (default: params.yaml's seed, as run --demo)")
    demo.set_defaults(func=_demo)
    return parser


class SubParser(argparse.ArgumentParser):
    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs, parents=[verbose_parser(top=False)])


def run_all_parser() -> argparse.ArgumentParser:
    """run_all.py: the `run` subcommand as a script of its own."""
    parser = argparse.ArgumentParser(prog="run_all.py", parents=[verbose_parser(top=True)],
                                     description="Train, evaluate, write artifacts and the report, end to end "
                                     "(the same as `movie-rating run`).")
    add_run_arguments(parser)
    parser.set_defaults(func=_run)
    return parser


def main(argv: list[str] | None = None, parser: argparse.ArgumentParser | None = None) -> int:
    args = (parser or build_parser()).parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, handlers=[log_handler()])
    for noisy in ("numba", "matplotlib", "PIL", "fontTools", "faiss"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        args.func(args)
    except InputError as exc:
        print(terminal(f"error: {exc}"), file=sys.stderr)
        return 2
    except BrokenPipeError:          # `movie-rating predict ... | head`: the reader left; no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return 0
