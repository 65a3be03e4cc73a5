"""`movie-rating serve`: the Python API over HTTP answers as the Python API does, checks what it is sent as the
files are checked, and never shows a traceback, a film's content in its log, or an answer without its token."""
from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("httpx", reason="FastAPI's TestClient needs httpx (requirements-dev.txt)")
from fastapi.testclient import TestClient  # noqa: E402

from pipeline.api import Model  # noqa: E402
from pipeline.errors import InputError  # noqa: E402
from pipeline.serve import Film, build_app, frames, serve  # noqa: E402


@pytest.fixture(scope="module")
def model(minilm_run: tuple[Path, Path]) -> Model:
    """A model whose text vectors are all-MiniLM-L6-v2's: a film sent without vectors gets them computed."""
    return Model.load(minilm_run[1])


def film(model: Model, title: str = "The Quiet Harbour", **changes) -> dict:
    """A film two years after the model's data, cast with names the model knows (and one it does not)."""
    known = model.bundle.catalogue.credits
    names = {kind: known.loc[known["kind"] == kind, "name"].iloc[0] for kind in ("actor", "director", "studio")}
    last = int(model.bundle.catalogue.movies["year"].max())
    return {"title": title, "year": last + 2, "runtime": 112, "age_rating": "PG-13",
            "cast": [names["actor"], "Newcomer Person"], "director": names["director"], "studio": names["studio"],
            "tagline": "Some tides never turn.", "description": "A harbour town keeps a secret for forty years."
            } | changes


def test_predict_answers_as_the_python_api_does_one_film_or_a_batch(model: Model) -> None:
    client = TestClient(build_app(model, model.bundle.cfg.serve))
    films = [film(model, f"Film {i}", runtime=90 + 10 * i) for i in range(3)]
    batch = client.post("/predict", json={"films": films}).json()["predictions"]
    expected = model.predict(**frames([Film(**f) for f in films]))
    np.testing.assert_allclose([p["predicted_rating"] for p in batch], expected["predicted_rating"], atol=1e-6)
    for i, f in enumerate(films):          # one at a time: the same answers
        one = client.post("/predict", json={"films": [f]}).json()["predictions"][0]
        assert one["predicted_rating"] == pytest.approx(batch[i]["predicted_rating"], abs=1e-6)
        assert one["lower_80"] <= one["predicted_rating"] <= one["upper_80"]
    assert "Newcomer Person" in batch[0]["unknown_names"]
    explained = client.post("/predict?explain=3", json={"films": films[:1]}).json()["predictions"][0]
    assert explained["reason_1"] and explained["reason_3"]


def test_explain_whatif_and_what_the_model_knows(model: Model) -> None:
    client = TestClient(build_app(model, model.bundle.cfg.serve))
    e = client.post("/explain", json=film(model)).json()
    assert e["baseline"] + sum(r["contribution"] for r in e["reasons"]) == pytest.approx(
        model.explain(**frames([Film(**film(model))])).unclipped, abs=1e-6)
    w = client.post("/whatif", json=film(model)).json()
    assert w["predicted_rating"] == pytest.approx(e["predicted_rating"], abs=1e-6) and w["single_edits"]
    assert client.get("/ultimate").json()["cast"]
    assert client.get("/leaderboard").json()["learners"][0]["learner"]
    assert client.get("/importances").json()["importances"]
    health = client.get("/health").json()
    manifest = (model.folder / "manifest.json").read_bytes()
    assert health["status"] == "ok" and health["model"]["manifest_sha256"] == hashlib.sha256(manifest).hexdigest()
    assert client.get("/openapi.json").json()["paths"].keys() >= {"/predict", "/explain", "/whatif", "/health"}


def test_bad_input_is_a_422_naming_the_field_and_the_film(model: Model) -> None:
    client = TestClient(build_app(model, model.bundle.cfg.serve))
    films = [film(model), film(model, year="next year")]
    reply = client.post("/predict", json={"films": films})
    assert reply.status_code == 422
    assert reply.json()["detail"][0]["field"] == "films.1.year"
    reply = client.post("/predict", json={"films": [film(model, year=1200)]})      # checked as movies.csv is
    assert reply.status_code == 422 and "date" in reply.json()["detail"] and "Traceback" not in reply.text
    reply = client.post("/predict", json={"films": [film(model, path="/etc/passwd")]})   # no field names a file
    assert reply.status_code == 422 and reply.json()["detail"][0]["field"] == "films.0.path"


def test_limits_and_no_traceback(model: Model, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = model.bundle.cfg.serve.model_copy(update={"max_body_bytes": 2048, "max_batch": 2})
    client = TestClient(build_app(model, cfg), raise_server_exceptions=False)
    big = film(model, description="x" * 3000)
    assert client.post("/predict", json={"films": [big]}).status_code == 413
    reply = client.post("/predict", json={"films": [film(model, description="")] * 3})
    assert reply.status_code == 422 and "serve.max_batch" in reply.text

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")
    monkeypatch.setattr(model, "predict", broken)
    reply = client.post("/predict", json={"films": [film(model, description="")]})
    assert reply.status_code == 500 and "secret" not in reply.text and "Traceback" not in reply.text


def test_a_token_guards_every_answer_and_is_needed_beyond_loopback(model: Model) -> None:
    client = TestClient(build_app(model, model.bundle.cfg.serve, token="s3cret"))
    assert client.get("/health").status_code == 401
    assert client.get("/health", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/health", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    with pytest.raises(InputError, match="--token"):
        serve(str(model.folder), "0.0.0.0", 8000, None)


def test_each_request_is_one_log_line_without_the_film(model: Model, caplog: pytest.LogCaptureFixture) -> None:
    client = TestClient(build_app(model, model.bundle.cfg.serve))
    with caplog.at_level(logging.INFO, logger="pipeline.serve"):
        client.post("/predict", json={"films": [film(model, "Top Secret Title")]})
    lines = [r.getMessage() for r in caplog.records if r.name == "pipeline.serve"]
    assert len(lines) == 1 and lines[0].startswith("POST /predict 200 ") and lines[0].endswith(" ms")
    assert "Top Secret Title" not in caplog.text


def test_the_page_ships_with_the_package_and_names_complete(model: Model) -> None:
    client = TestClient(build_app(model, model.bundle.cfg.serve))
    page = client.get("/")
    assert page.status_code == 200 and "<form" in page.text
    assert not re.search(r'(src|href)="(https?:)?//', page.text)      # nothing fetched from elsewhere
    assert "innerHTML" not in page.text          # text from the model or the form is only set as textContent
    name = film(model)["director"]
    found = client.get("/names", params={"kind": "director", "prefix": name[:3].lower()}).json()["names"]
    assert name in found or len(found) == 10
    assert client.get("/names", params={"kind": "file", "prefix": "x"}).status_code == 422


def test_concurrent_predicts_share_model_calls_and_answer_as_one_at_a_time(model: Model) -> None:
    """Adaptive batching: requests arriving together are one model call; each answer is the one it gets alone,
    and a bad film in a gathered batch is refused on its own while the others are answered."""
    from concurrent.futures import ThreadPoolExecutor
    cfg = model.bundle.cfg.serve.model_copy(update={"batch_wait_ms": 50})
    films = [film(model, f"Crowd {i}", runtime=85 + 7 * i, tagline=f"Tide number {i} turns.",
                  description=f"A harbour town of {i} families keeps a secret.") for i in range(8)]
    films[5]["year"] = 1200                          # content the data contract refuses, not the schema
    with TestClient(build_app(model, cfg)) as client, ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(lambda f: client.post("/predict", json={"films": [f]}), films))
        batching = client.get("/health").json()["batching"]
    assert [r.status_code for r in replies] == [422 if i == 5 else 200 for i in range(8)]
    assert "date" in replies[5].json()["detail"]
    assert batching["requests"] >= 8 and batching["model_calls"] < batching["requests"]
    for i, reply in enumerate(replies):
        if i != 5:
            alone = model.predict(**frames([Film(**films[i])]))
            got = reply.json()["predictions"][0]
            assert got["movie_id"] == 0 and got["name"] == films[i]["title"]
            assert got["predicted_rating"] == pytest.approx(alone["predicted_rating"].iloc[0], abs=1e-6)
            assert got["lower_95"] == pytest.approx(alone["lower_95"].iloc[0], abs=1e-6)


def test_health_names_the_training_run(model: Model) -> None:
    import json

    from pipeline.io import fingerprint
    health = TestClient(build_app(model, model.bundle.cfg.serve)).get("/health").json()["model"]
    run = json.loads((model.folder.parent / "run.json").read_text())      # the run that wrote the folder
    assert health["data_fingerprint"] == fingerprint(run["data_fingerprint"])
    assert health["training_commit"] == run["git_commit"]


def test_whatif_has_a_time_limit_and_says_when_it_was_cut_short(model: Model) -> None:
    tight = model.bundle.cfg.serve.model_copy(update={"whatif_seconds": 1e-6})
    cut = TestClient(build_app(model, tight)).post("/whatif", json=film(model)).json()
    assert cut["cut_short"] and cut["trials"] < model.bundle.cfg.whatif.trials and cut["single_edits"]
    assert any("stopped after" in rule for rule in cut["rules"])
    whole = TestClient(build_app(model, model.bundle.cfg.serve)).post("/whatif", json=film(model)).json()
    assert not whole["cut_short"] and whole["trials"] == model.bundle.cfg.whatif.trials


BAD_REQUESTS = [   # (method, path, request keyword arguments); each is a 4xx in one line
    ("post", "/predict", {"content": b"not json"}),
    ("post", "/predict", {"content": b"{\"films\": [", "headers": {"content-type": "application/json"}}),
    ("post", "/predict", {"json": []}),
    ("post", "/predict", {"json": {}}),
    ("post", "/predict", {"json": {"films": []}}),
    ("post", "/predict", {"json": {"films": "Barbie"}}),
    ("post", "/predict", {"json": {"films": [None]}}),
    ("post", "/predict", {"json": {"films": [{"year": 2026}]}}),                    # no title
    ("post", "/predict", {"json": {"films": [{"title": "", "year": 2026}]}}),
    ("post", "/predict", {"json": {"films": [{"title": "X"}]}}),                     # no year
    ("post", "/predict", {"json": {"films": [{"title": "X", "year": "soon"}]}}),
    ("post", "/predict", {"json": {"films": [{"title": "X", "year": 2026.5}]}}),
    ("post", "/predict", {"json": {"films": [{"title": "X", "year": 1200}]}}),
    ("post", "/predict", {"json": {"films": [{"title": "X", "year": 2026, "runtime": "long"}]}}),
    ("post", "/predict", {"json": {"films": [{"title": "X", "year": 2026, "runtime": -20}]}}),
    ("post", "/predict", {"json": {"films": [{"title": "X", "year": 2026, "cast": "Tom Hanks"}]}}),
    ("post", "/predict", {"json": {"films": [{"title": "X", "year": 2026, "cast": [1, 2]}]}}),
    ("post", "/predict", {"json": {"films": [{"title": "X", "year": 2026, "age_rating": "PG" * 20}]}}),
    ("post", "/predict", {"json": {"films": [{"title": "X", "year": 2026, "movie_id": 7}]}}),   # no ids here
    ("post", "/predict", {"json": {"films": [{"title": "X", "year": 2026, "file": "/etc/passwd"}]}}),
    ("post", "/predict", {"json": {"films": [{"title": "X", "year": 2026, "tagline": "x" * 3000}]}}),
    ("post", "/predict", {"content": b"{" + b" " * 2_000_000 + b"}"}),               # past the body cap
    ("post", "/predict", {"content": (b"{" + b" " * 65_536 for _ in range(20))}),  # chunked, no length
    ("post", "/predict?explain=many", {"json": {"films": [{"title": "X", "year": 2026}]}}),
    ("post", "/explain", {"json": {"films": [{"title": "X", "year": 2026}]}}),      # one film, not a batch
    ("post", "/whatif", {"json": {"title": "X"}}),
    ("get", "/names", {"params": {"kind": "../../etc", "prefix": "a"}}),
    ("get", "/names", {"params": {"kind": "actor"}}),
    ("get", "/importances", {"params": {"learner": "no_such_learner"}}),
    ("get", "/movies/42", {}),                                                       # no such endpoint
    ("put", "/predict", {"json": {"films": []}}),
]


def test_thirty_bad_requests_each_get_a_4xx_in_one_line_and_the_server_keeps_answering(model: Model) -> None:
    client = TestClient(build_app(model, model.bundle.cfg.serve), raise_server_exceptions=False)
    assert len(BAD_REQUESTS) >= 30
    for method, path, kwargs in BAD_REQUESTS:
        reply = getattr(client, method)(path, **kwargs)
        assert 400 <= reply.status_code < 500, (path, kwargs.keys(), reply.status_code, reply.text[:200])
        assert "\n" not in reply.text and "Traceback" not in reply.text, reply.text[:200]
    assert client.post("/predict", json={"films": [film(model)]}).status_code == 200


def test_a_client_gone_mid_batch_does_not_stop_the_batcher() -> None:
    """A request cancelled while its batch is predicted (a browser tab closed) must not leave the batching worker
    dead: the next request is still answered."""
    import asyncio
    import time

    import pandas as pd

    from pipeline.serve import Batcher

    def slow(films: list, explain: int) -> pd.DataFrame:
        time.sleep(0.2)
        return pd.DataFrame({"movie_id": range(len(films)), "name": [f.title for f in films]})

    async def scenario() -> list[str]:
        batcher = Batcher(slow, wait_ms=1, max_films=10)
        one = Film(title="Gone", year=2026)
        gone = asyncio.ensure_future(batcher.submit([one], 0))
        await asyncio.sleep(0.05)                    # its batch is being predicted
        gone.cancel()
        answered = await asyncio.wait_for(batcher.submit([Film(title="Next", year=2026)], 0), 5)
        return answered["name"].tolist()

    assert asyncio.run(scenario()) == ["Next"]
