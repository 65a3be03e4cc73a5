#!/usr/bin/env python
"""`movie-rating serve` under load, on loopback: latency per endpoint, throughput, errors and the server's memory.

    python benchmarks/serve_load.py --model artifacts/model [--clients 8] [--whatif-clients 2] [--requests 2000]

Starts the server as a child process (the command a user runs) and measures, from its start, when the first
predict of a new film is answered (text vectors computed). Then two phases, each of `--requests` one-film
predicts from `--clients` concurrent clients: the first with predicts alone, the second with `--whatif-clients`
more clients asking what-if meanwhile. Every film is distinct and new: a case film's credits, runtime and age
rating with its tagline and description made unique (a word of its own added to each, so they keep the case's
lengths and no text vector is found in a cache), dated two years after the model's data. Resident memory is
read from /proc at the first answer, after a warm-up (`--warmup` predicts and a tenth as many what-ifs, as a
server meets in its first minutes: the encoder's and the what-if's first allocations) and after the second phase.
Prints a markdown table.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from common import CASE_DIR, ROOT, run_main  # first: puts the project on the import path


def case_films(data_dir: Path, year: int, n: int, seed: int = 0) -> list[dict]:
    """`n` distinct new films from the case's: credits, runtime and age rating of a resampled case film, its
    texts made unique by a word of their own, released in `year`."""
    movies = pd.read_csv(data_dir / "movies.csv", keep_default_na=False)
    names = {kind: pd.read_csv(data_dir / file).groupby("movie_id")[column].agg(list)
             for kind, file, column in (("cast", "actors.csv", "actor_name"), ("director", "directors.csv",
                                        "director_name"), ("studio", "studios.csv", "studio"))}
    rng = np.random.default_rng(seed)
    films = []
    for i, row in enumerate(movies.iloc[rng.integers(0, len(movies), n)].itertuples()):
        credits = {kind: names[kind].get(row.movie_id, []) for kind in names}
        films.append({"title": f"{row.name} ({i})", "year": year,
                      "runtime": float(row.minute) if row.minute != "" else None,
                      "age_rating": row.theatrical_release_age_rating or None, "cast": credits["cast"][:30],
                      "director": (credits["director"] or [None])[0], "studio": (credits["studio"] or [None])[0],
                      "tagline": f"{row.tagline} Take{i}.".strip(), "description": f"{row.description} Take{i}."})
    return films


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


async def phase(url: str, films: list[dict], clients: int, whatif_clients: int, whatif_films: list[dict]) -> dict:
    """`len(films)` predicts from `clients` clients, while `whatif_clients` clients ask what-if until they end."""
    import httpx
    latencies: dict[str, list[float]] = {"predict": [], "whatif": []}
    errors: dict[str, list[str]] = {"predict": [], "whatif": []}
    queue = iter(films)
    done = asyncio.Event()

    async def ask(client: httpx.AsyncClient, endpoint: str, body: dict) -> None:
        start = time.perf_counter()
        try:
            reply = await client.post(f"{url}/{endpoint}", json=body)
            if reply.status_code != 200:
                errors[endpoint].append(f"{reply.status_code} {reply.text[:120]}")
        except httpx.HTTPError as exc:
            errors[endpoint].append(repr(exc))
        latencies[endpoint].append(time.perf_counter() - start)

    async def predicting(client: httpx.AsyncClient) -> None:
        for film in queue:
            await ask(client, "predict", {"films": [film]})
            if len(latencies["predict"]) % 250 == 0:
                print(f"  {len(latencies['predict'])} predicts, {len(latencies['whatif'])} what-ifs",
                      file=sys.stderr, flush=True)

    async def asking_whatif(client: httpx.AsyncClient, k: int) -> None:
        i = k
        while not done.is_set():
            await ask(client, "whatif", whatif_films[i % len(whatif_films)])
            i += whatif_clients

    limits = httpx.Limits(max_connections=clients + whatif_clients + 2)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        start = time.perf_counter()
        asking = [asyncio.create_task(asking_whatif(client, k)) for k in range(whatif_clients)]
        await asyncio.gather(*(predicting(client) for _ in range(clients)))
        seconds = time.perf_counter() - start
        done.set()
        await asyncio.gather(*asking)
    return {"latencies": latencies, "errors": errors, "seconds": seconds}


def started(command: list[str], url: str, film: dict, log: Path) -> tuple[subprocess.Popen, float, float]:
    """The server (its log lines in `log`), the seconds from its start to its port answering and to its first
    new film's prediction."""
    import httpx
    start = time.perf_counter()
    with log.open("w") as sink:         # a file, not a pipe: a pipe nobody reads fills and stalls the server
        server = subprocess.Popen(command, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT)
    while True:
        if server.poll() is not None:
            raise SystemExit(f"the server stopped: {log.read_text()[-2000:]}")
        try:
            httpx.get(f"{url}/health", timeout=1).raise_for_status()
            break
        except httpx.HTTPError:
            time.sleep(0.05)
    port_open = time.perf_counter() - start
    httpx.post(f"{url}/predict", json={"films": [film]}, timeout=60).raise_for_status()
    return server, port_open, time.perf_counter() - start


def quantiles(values: list[float]) -> str:
    if not values:
        return "| | | |"
    p = np.percentile(np.asarray(values) * 1000, [50, 95, 99])
    return " | ".join(f"{v:.0f}" for v in p)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, default=ROOT / "artifacts" / "model")
    ap.add_argument("--data-dir", type=Path, default=CASE_DIR, help="the case data the films are drawn from")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--whatif-clients", type=int, default=2)
    ap.add_argument("--requests", type=int, default=2000, help="one-film predicts in each phase")
    ap.add_argument("--warmup", type=int, default=200, help="predicts (and a tenth as many what-ifs) before the "
                    "memory's first reading")
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--server-log", type=Path, default=Path("serve_load.log"), help="the server's log lines")
    args = ap.parse_args()
    from pipeline.api import Model
    model = Model.load(args.model)
    year = int(model.bundle.catalogue.movies["year"].max()) + 2
    del model
    films = case_films(args.data_dir, year, 2 * args.requests + 40 + args.warmup + max(1, args.warmup // 10) + 1)
    url = f"http://127.0.0.1:{args.port}"
    command = [sys.executable, "-m", "pipeline", "serve", "--model", str(args.model), "--port", str(args.port)]
    server, port_open, first = started(command, url, films[-1], args.server_log)
    try:
        import httpx
        first_rss = rss_mb(server.pid)
        warm = films[2 * args.requests + 40:]
        asyncio.run(phase(url, warm[:args.warmup], args.clients, 0, []))
        for film in warm[args.warmup:args.warmup + max(1, args.warmup // 10)]:
            httpx.post(f"{url}/whatif", json=film, timeout=120).raise_for_status()
        before = rss_mb(server.pid)
        alone = asyncio.run(phase(url, films[:args.requests], args.clients, 0, []))
        mixed = asyncio.run(phase(url, films[args.requests:2 * args.requests], args.clients, args.whatif_clients,
                                  films[2 * args.requests:2 * args.requests + 40]))
        after = rss_mb(server.pid)
        batching = httpx.get(f"{url}/health").json()["batching"]
    finally:
        server.terminate()
        server.wait(timeout=30)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    print(f"commit {commit.stdout.strip()}, {os.cpu_count()} cores, model {args.model}")
    print(f"port open {port_open:.1f} s after start; first new film predicted {first:.1f} s after start\n")
    print("| phase | endpoint | requests | errors | p50 ms | p95 ms | p99 ms | predicts/s |")
    print("|---|---|---|---|---|---|---|---|")
    for name, result in ((f"{args.clients} predict clients", alone),
                         (f"+ {args.whatif_clients} what-if clients", mixed)):
        for endpoint in ("predict", "whatif"):
            lat = result["latencies"][endpoint]
            if lat:
                rate = f"{len(lat) / result['seconds']:.1f}" if endpoint == "predict" else ""
                print(f"| {name} | {endpoint} | {len(lat)} | {len(result['errors'][endpoint])} | {quantiles(lat)} "
                      f"| {rate} |")
        for endpoint, errs in result["errors"].items():
            for err in errs[:3]:
                print(f"  error ({endpoint}): {err}")
    print(f"\nresident memory: {first_rss:.0f} MB at the first answer, {before:.0f} MB after the warm-up, "
          f"{after:.0f} MB after both phases: {100 * (after / before - 1):+.1f}% over the run "
          f"({100 * (after / first_rss - 1):+.1f}% from the first answer)")
    print(f"batching: {batching['requests']} predict requests in {batching['model_calls']} model calls "
          f"({batching['requests'] / max(1, batching['model_calls']):.1f} a call)")


if __name__ == "__main__":
    run_main(main)
