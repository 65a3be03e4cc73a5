"""`movie-rating serve`: the Python API (pipeline/api.py) over HTTP, for people and programs not at a terminal.

A page at / (pipeline/page/index.html, one file: no build step, nothing from the internet) lets a person edit a
film and watch its rating, bands, reasons and what-if edits move; names complete from the model's catalogue.

One process loads (and checks, as `predict` does) the model once, then answers JSON: predict (one film or a
batch), explain, what-if, the ultimate movie, the leaderboard, importances, and its health with the model's
identity. A film is sent in the same data contract as the files, checked the same way: bad content is HTTP 422
naming the field (and the film's index in a batch), a body past `serve.max_body_bytes` 413, and no response
carries a traceback. It binds to loopback unless told otherwise, and wants a token beyond it; no request names
a file; every request is logged in one line (method, path, status, milliseconds), never a film's content.
OpenAPI's schema is at /openapi.json and its page at /docs (FastAPI's own).
"""
from __future__ import annotations

import asyncio
import ctypes
import hashlib
import hmac
import ipaddress
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from pipeline.api import Model
from pipeline.config import ServeConfig
from pipeline.errors import InputError

log = logging.getLogger("pipeline.serve")


class Film(BaseModel):
    """A film as a producer knows it; the fields of movies.csv and its credits, by name."""
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=300)
    year: int = Field(description="Release year (planned).")
    runtime: float | None = Field(default=None, description="Minutes; null: unknown (the training median).")
    age_rating: str | None = Field(default=None, max_length=10, description="G, PG, PG-13, R, NC-17, NR or null.")
    cast: list[str] = Field(default_factory=list, max_length=200, description="Actors in billing order.")
    director: str | None = Field(default=None, max_length=300)
    studio: str | None = Field(default=None, max_length=300)
    tagline: str = Field(default="", max_length=2000)
    description: str = Field(default="", max_length=10000)


class Films(BaseModel):
    model_config = ConfigDict(extra="forbid")
    films: list[Film] = Field(min_length=1)


def frames(films: list[Film]) -> dict[str, pd.DataFrame]:
    """The films as the data contract's tables (movie_id = the film's index in the request)."""
    ids = np.arange(len(films))
    movies = pd.DataFrame({"movie_id": ids, "name": [f.title for f in films], "date": [f.year for f in films],
                           "tagline": [f.tagline for f in films], "description": [f.description for f in films],
                           "minute": [f.runtime for f in films],
                           "theatrical_release_age_rating": [f.age_rating or "" for f in films]})
    credit = {"actors": ("actor_name", [(i, n) for i, f in enumerate(films) for n in f.cast]),
              "directors": ("director_name", [(i, f.director) for i, f in enumerate(films) if f.director]),
              "studios": ("studio", [(i, f.studio) for i, f in enumerate(films) if f.studio])}
    return {"movies": movies} | {kind: pd.DataFrame(rows, columns=["movie_id", column])
                                 for kind, (column, rows) in credit.items()}


def records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """A table as JSON records: NaN as null, numpy scalars as Python's."""
    return [{k: (None if isinstance(v, float) and np.isnan(v) else v.item() if isinstance(v, np.generic) else v)
             for k, v in row.items()} for row in table.to_dict(orient="records")]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def identity(model: Model) -> dict[str, Any]:
    """What a client checks to know which model answers: the manifest's sha256 and what it records (the training
    run's commit and data fingerprint: null in folders of formats before 7, which did not record them)."""
    import json
    manifest = (model.folder / "manifest.json").read_bytes()
    recorded = json.loads(manifest)
    return {"manifest_sha256": hashlib.sha256(manifest).hexdigest(),
            "format": recorded.get("format"), "writer": recorded.get("writer"),
            "training_commit": recorded.get("training_commit"), "data_fingerprint": recorded.get("data_fingerprint")}


def release_memory() -> None:
    """Hand the C heap's free pages back to the system (glibc's malloc_trim; elsewhere nothing): films of every
    size leave freed blocks the allocator keeps, and a server's resident memory would creep with requests (+20%
    over 4,000 on the case model) though nothing leaks (tests/test_serve.py, docs/experiments.md)."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass


TRIM_EVERY = 50      # model calls (predict batches, what-ifs) between two releases; a release costs about 1 ms


@dataclass
class _Waiting:
    films: list[Film]
    explain: int
    answer: asyncio.Future


class Batcher:
    """Adaptive batching: predict requests that arrive while the model is busy, or within `wait_ms` of the
    first, are answered by one model call (one film costs about what a small batch does), one call at a time.

    Each film is predicted from its own row (no film's answer depends on another's), so an answer equals the
    one-at-a-time answer; when a gathered batch holds a bad film, each request is answered on its own, so the
    error names that request's film."""

    def __init__(self, predict: Callable[[list[Film], int], pd.DataFrame], wait_ms: float, max_films: int):
        self.predict, self.wait, self.max_films = predict, wait_ms / 1000, max_films
        self.requests = self.calls = 0
        self._loop: asyncio.AbstractEventLoop | None = None

    async def submit(self, films: list[Film], explain: int) -> pd.DataFrame:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:                     # the queue and its worker live in the serving event loop
            self._loop, self.queue = loop, asyncio.Queue()
            self._worker = loop.create_task(self._work())
        waiting = _Waiting(films, explain, asyncio.get_running_loop().create_future())
        await self.queue.put(waiting)
        return await waiting.answer

    async def _work(self) -> None:
        while True:
            batch = [await self.queue.get()]
            deadline = time.perf_counter() + self.wait
            while sum(len(w.films) for w in batch) < self.max_films:
                try:
                    batch.append(await asyncio.wait_for(self.queue.get(), max(0.0, deadline - time.perf_counter()))
                                 if self.queue.empty() else self.queue.get_nowait())
                except asyncio.TimeoutError:
                    break
            batch = [w for w in batch if not w.answer.done()]      # a client gone meanwhile is not predicted
            for explain in sorted({w.explain for w in batch}):
                await self._answer([w for w in batch if w.explain == explain], explain)

    async def _answer(self, batch: list[_Waiting], explain: int) -> None:
        """Answer `batch` with one model call; a client that went away meanwhile (its future cancelled) is
        skipped, so the worker never stops for it."""
        self.requests += len(batch)
        self.calls += 1
        if self.calls % TRIM_EVERY == 0:
            release_memory()
        try:
            table = await asyncio.to_thread(self.predict, [f for w in batch for f in w.films], explain)
        except Exception as gathered:                  # answer each request on its own: its own error, or its answer
            if len(batch) == 1:
                if not batch[0].answer.done():
                    batch[0].answer.set_exception(gathered)
                return
            for waiting in batch:
                await self._answer([waiting], explain)
            return
        start = 0
        for waiting in batch:
            part = table.iloc[start:start + len(waiting.films)].reset_index(drop=True)
            if not waiting.answer.done():
                waiting.answer.set_result(part.assign(movie_id=np.arange(len(part))))
            start += len(waiting.films)


class BodyCap:
    """ASGI middleware: a request body past `limit` bytes is answered 413, whether its Content-Length says so
    or a chunked body grows past it while it is read (never held whole)."""

    def __init__(self, app: Any, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            return await self._refuse(send)
        received = 0

        async def capped() -> dict:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:       # FastAPI answers an HTTPException raised while reading a body as such
                from starlette.exceptions import HTTPException
                raise HTTPException(413, self.detail)
            return message

        await self.app(scope, capped, send)

    @property
    def detail(self) -> str:
        return f"the body exceeds {self.limit} bytes (serve.max_body_bytes)"

    async def _refuse(self, send: Callable) -> None:
        from starlette.responses import JSONResponse
        await JSONResponse({"detail": self.detail}, 413)({"type": "http"}, None, send)


def build_app(model: Model, cfg: ServeConfig, token: str | None = None) -> Any:
    """The FastAPI application answering for `model` (loaded and checked by the caller)."""
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import HTMLResponse, JSONResponse

    app = FastAPI(title="movie-rating", description=__doc__.split("\n\n")[0], version=str(identity(model)["writer"]))
    app.add_middleware(BodyCap, limit=cfg.max_body_bytes)     # inside the guard: its 413 is logged like any answer
    ultimate_card: dict[str, Any] = {}

    @app.middleware("http")
    async def guard(request: Request, call_next: Any) -> Any:
        start = time.perf_counter()
        response = await _guarded(request, call_next)
        log.info("%s %s %d %.1f ms", request.method, request.url.path, response.status_code,
                 1000 * (time.perf_counter() - start))
        return response

    async def _guarded(request: Request, call_next: Any) -> Any:
        if token is not None:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                return JSONResponse({"detail": "a token is required: Authorization: Bearer TOKEN"}, 401)
        try:
            return await call_next(request)
        except Exception:                                  # never a traceback in a response
            log.exception("request failed: %s %s", request.method, request.url.path)
            return JSONResponse({"detail": "internal error (logged on the server)"}, 500)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": "body", "message": f"not JSON: {e['ctx']['error']} at character {e['loc'][-1]}"}
                  if e["type"] == "json_invalid" else
                  {"field": ".".join(str(p) for p in e["loc"] if p != "body"), "message": e["msg"]}
                  for e in exc.errors()]
        return JSONResponse({"detail": errors}, 422)

    @app.exception_handler(InputError)
    async def bad_input(request: Request, exc: InputError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, 422)

    def checked(films: list[Film]) -> Any:
        if len(films) > cfg.max_batch:
            raise InputError("films", f"{len(films)} films in one request; at most {cfg.max_batch} "
                             "(serve.max_batch)")
        return model.movies(**frames(films))

    page = (Path(__file__).parent / "page" / "index.html").read_text(encoding="utf-8")
    known = {kind: np.sort(model.bundle.catalogue.credits.loc[model.bundle.catalogue.credits["kind"] == kind, "name"]
                           .drop_duplicates().to_numpy().astype(str)) for kind in ("actor", "director", "studio")}

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> str:
        """The page for a person: one file shipped with the package, no script or style from elsewhere."""
        return page

    @app.get("/names")
    def names(kind: str, prefix: str, limit: int = 10) -> dict[str, list[str]]:
        """Names of `kind` (actor, director, studio) the model knows, starting with `prefix` (any case)."""
        if kind not in known:
            raise InputError("kind", f"'{kind}' is not one of {', '.join(known)}")
        lowered = np.char.lower(known[kind])
        hits = known[kind][np.char.startswith(lowered, prefix.lower())]
        return {"names": hits[:max(1, min(limit, 50))].tolist()}

    @app.get("/health")
    def health() -> dict[str, Any]:
        """The model answering (its manifest's sha256, format, writer, training commit and data fingerprint)
        and how predict requests were batched so far."""
        return {"status": "ok", "model": identity(model),
                "batching": {"requests": batcher.requests, "model_calls": batcher.calls}}

    batcher = Batcher(lambda films, explain: model.predict(model.movies(**frames(films)), explain=explain),
                      cfg.batch_wait_ms, cfg.max_batch)

    @app.post("/predict")
    async def predict(body: Films, explain: int = 0) -> dict[str, Any]:
        """Each film's predicted rating, its intervals, the names the model does not know and (with
        `explain`) its largest reasons; films in the request's order (`movie_id` is the index). Requests
        arriving together share one model call (`serve.batch_wait_ms`); the answers are those of one call each."""
        if len(body.films) > cfg.max_batch:
            checked(body.films)
        return {"predictions": records(await batcher.submit(body.films, max(0, min(explain, 10))))}

    @app.post("/explain")
    def explain(film: Film) -> dict[str, Any]:
        e = model.explain(checked([film]))
        return {"predicted_rating": e.predicted_rating, "baseline": e.baseline, "baseline_year": e.baseline_year,
                "intervals": {k: list(v) for k, v in e.intervals.items()}, "reasons": records(e.contributions),
                "unknown_names": e.unknown_names, "after_the_data": e.after_the_data}

    @app.post("/whatif")
    def whatif(film: Film) -> dict[str, Any]:
        """Edits the model associates with a higher rating; the combined edit's search stops starting new
        trials after `serve.whatif_seconds` (`cut_short` says so)."""
        try:
            return model.whatif(checked([film]), movie_id=0, seconds=cfg.whatif_seconds)
        finally:
            release_memory()        # a what-if's candidate tables are large, and seconds apart

    @app.get("/ultimate")
    def ultimate() -> dict[str, Any]:
        if not ultimate_card:                     # the same for every request: searched once
            ultimate_card.update(model.ultimate())
        return ultimate_card

    @app.get("/leaderboard")
    def leaderboard() -> dict[str, Any]:
        return {"learners": records(model.leaderboard())}

    @app.get("/importances")
    def importances(learner: str | None = None) -> dict[str, Any]:
        return {"importances": records(model.feature_importance(learner))}

    return app


def warm_up(model: Model) -> None:
    """Predict one made-up film while the port opens, so that the first request does not pay for loading the
    text encoder (torch and its model: seconds); a request arriving meanwhile waits for that one load."""
    start = time.perf_counter()
    year = int(model.bundle.catalogue.movies["year"].max())
    model.predict(model.movies(**frames([Film(title="warm-up", year=year, tagline="warm-up",
                                              description="warm-up")])))
    log.info("warmed up in %.1f s", time.perf_counter() - start)


def serve(model_path: str, host: str, port: int, token: str | None) -> None:
    """Load and check the model (before the port opens), then answer until stopped."""
    import uvicorn
    if not is_loopback(host) and not token:
        raise InputError("--host", f"{host} is beyond loopback: pass --token (or MOVIE_RATING_TOKEN) so that "
                         "only clients holding it are answered")
    model = Model.load(model_path)
    model.cache_dir = None          # text vectors stay in memory: no file written per request, none half-written
    app = build_app(model, model.bundle.cfg.serve, token)
    threading.Thread(target=warm_up, args=(model,), daemon=True).start()
    log.info("serving %s on http://%s:%d (model %s)", model.folder, host, port,
             identity(model)["manifest_sha256"][:12])
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
