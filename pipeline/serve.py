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

import hashlib
import hmac
import ipaddress
import logging
import time
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
    """What a client checks to know which model answers: the manifest's sha256 and what it records."""
    import json
    manifest = model.folder / "manifest.json"
    recorded = json.loads(manifest.read_text())
    return {"manifest_sha256": hashlib.sha256(manifest.read_bytes()).hexdigest(),
            "format": recorded.get("format"), "writer": recorded.get("writer"),
            "training_commit": recorded.get("training_commit"), "data_fingerprint": recorded.get("data_fingerprint")}


def build_app(model: Model, cfg: ServeConfig, token: str | None = None) -> Any:
    """The FastAPI application answering for `model` (loaded and checked by the caller)."""
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import HTMLResponse, JSONResponse

    app = FastAPI(title="movie-rating", description=__doc__.split("\n\n")[0], version=str(identity(model)["writer"]))
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
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > cfg.max_body_bytes):
            return JSONResponse({"detail": f"the body exceeds {cfg.max_body_bytes} bytes (serve.max_body_bytes)"},
                                413)
        try:
            return await call_next(request)
        except Exception:                                  # never a traceback in a response
            log.exception("request failed: %s %s", request.method, request.url.path)
            return JSONResponse({"detail": "internal error (logged on the server)"}, 500)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": ".".join(str(p) for p in e["loc"] if p != "body"), "message": e["msg"]}
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
        return {"status": "ok", "model": identity(model)}

    @app.post("/predict")
    def predict(body: Films, explain: int = 0) -> dict[str, Any]:
        """Each film's predicted rating, its intervals, the names the model does not know and (with
        `explain`) its largest reasons; films in the request's order (`movie_id` is the index)."""
        return {"predictions": records(model.predict(checked(body.films), explain=max(0, min(explain, 10))))}

    @app.post("/explain")
    def explain(film: Film) -> dict[str, Any]:
        e = model.explain(checked([film]))
        return {"predicted_rating": e.predicted_rating, "baseline": e.baseline, "baseline_year": e.baseline_year,
                "intervals": {k: list(v) for k, v in e.intervals.items()}, "reasons": records(e.contributions),
                "unknown_names": e.unknown_names, "after_the_data": e.after_the_data}

    @app.post("/whatif")
    def whatif(film: Film) -> dict[str, Any]:
        return model.whatif(checked([film]), movie_id=0)

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


def serve(model_path: str, host: str, port: int, token: str | None) -> None:
    """Load and check the model (before the port opens), then answer until stopped."""
    import uvicorn
    if not is_loopback(host) and not token:
        raise InputError("--host", f"{host} is beyond loopback: pass --token (or MOVIE_RATING_TOKEN) so that "
                         "only clients holding it are answered")
    model = Model.load(model_path)
    app = build_app(model, model.bundle.cfg.serve, token)
    log.info("serving %s on http://%s:%d (model %s)", model.folder, host, port,
             identity(model)["manifest_sha256"][:12])
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
