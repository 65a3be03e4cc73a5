"""The page of `movie-rating serve`, driven in a real headless browser (the system's Chromium, through
Playwright) as a person uses it: fill a film dated two years after the data, predict, read the rating and its
band, apply a what-if edit, and see the prediction move to what the API gives for the edited film."""
from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from pipeline.api import Model
from pipeline.serve import Film, build_app, frames

playwright = pytest.importorskip("playwright.sync_api", reason="the browser test needs playwright "
                                 "(requirements-dev.txt)")
CHROMIUM = next((p for p in (os.environ.get("CHROMIUM"), shutil.which("chromium"), shutil.which("chromium-browser"))
                 if p), None)
if CHROMIUM is None and not os.environ.get("CI"):      # CI installs it (.ci/run): there, its absence fails
    pytest.skip("no Chromium on this machine (apt-get install chromium, or set CHROMIUM)", allow_module_level=True)


@pytest.fixture(scope="module")
def server(minilm_run: tuple[Path, Path]):
    import uvicorn
    model = Model.load(minilm_run[1])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = build_app(model, model.bundle.cfg.serve)
    running = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    for _ in range(200):
        if running.started:
            break
        time.sleep(0.05)
    yield model, f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(timeout=10)


def test_a_person_predicts_a_film_and_applies_a_whatif_edit(server) -> None:
    model, url = server
    catalogue = model.bundle.catalogue
    names = {kind: catalogue.credits.loc[catalogue.credits["kind"] == kind, "name"].iloc[0]
             for kind in ("actor", "director", "studio")}
    year = int(catalogue.movies["year"].max()) + 2
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        page.goto(url)
        page.fill("#title", "The Quiet Harbour")
        page.fill("#year", str(year))
        page.fill("#runtime", "104")
        page.select_option("#age_rating", "PG-13")
        page.fill("#cast", f"{names['actor']}\nNewcomer Person")
        page.fill("#director", names["director"])
        page.fill("#studio", names["studio"])
        page.fill("#tagline", "Some tides never turn.")
        page.fill("#description", "A harbour town keeps a secret for forty years.")
        page.click("#predict")
        page.wait_for_selector("#answer:not([hidden])")
        shown = float(page.text_content("#rating").split()[0])
        sent = Film(**page.evaluate("film()"))
        expected = model.predict(**frames([sent])).iloc[0]
        assert shown == pytest.approx(expected["predicted_rating"], abs=0.005)
        assert f"{expected['lower_80']:.2f}" in page.text_content("#band-text")
        assert "Newcomer Person" in page.text_content("#unknown")
        assert page.locator("#waterfall rect").count() >= 2
        page.wait_for_selector("#edits li button", timeout=120_000)
        edit = page.text_content("#edits li span")
        page.click("#edits li button")
        page.wait_for_function(f"document.getElementById('rating').textContent !== '{shown:.2f} ★'", timeout=60_000)
        moved = float(page.text_content("#rating").split()[0])
        edited = Film(**page.evaluate("film()"))
        assert edited != sent, edit
        assert moved == pytest.approx(model.predict(**frames([edited])).iloc[0]["predicted_rating"], abs=0.005)
        assert moved == pytest.approx(float(edit.split(": ")[1].split()[0]), abs=0.005)   # what the list said
        browser.close()
