"""Outputs safe to open: a hostile name in the data (a film called `=HYPERLINK(...)`, an actor `=1+1`, a studio
`[Acme](http://evil)|<script>`, a name holding terminal escape codes) runs nowhere: not in the spreadsheet
that opens predictions.csv, not in the markdown report or what-if card, not on the terminal."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from markdown_it import MarkdownIt

from pipeline.cli import main
from pipeline.escape import FORMULA_START, csv_safe, markdown, plot_text, terminal

FILM = '=HYPERLINK("http://evil.example","Click")'
ACTOR = "=1+1"
STUDIO = "[Acme](http://evil.example)|<script>alert(1)</script> www.evil.example"
DIRECTOR = "Ann\x1b]0;owned\x07 Lee\x1b[2J"
AGE_RATING = "@SUM(A1)"


def hostile(folder: Path) -> None:
    """The busiest studio, the busiest director, an actor and one film's name and age rating made hostile."""
    for file, column, name in (("studios.csv", "studio", STUDIO), ("directors.csv", "director_name", DIRECTOR),
                               ("actors.csv", "actor_name", ACTOR)):
        links = pd.read_csv(folder / file, dtype=str, keep_default_na=False)
        busiest = links[column].value_counts().index[0]
        links[column] = links[column].replace(busiest, name)
        links.to_csv(folder / file, index=False)
    movies = pd.read_csv(folder / "movies.csv", dtype=str, keep_default_na=False)
    movies.loc[0, "name"] = FILM
    movies.loc[movies["theatrical_release_age_rating"] == "NC-17", "theatrical_release_age_rating"] = AGE_RATING
    movies.to_csv(folder / "movies.csv", index=False)


@pytest.fixture(scope="module")
def hostile_run(demo_dir: Path, tiny_params: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    data = Path(shutil.copytree(demo_dir, root / "data"))
    hostile(data)
    assert main(["run", "--params", str(tiny_params), "--profile", "tiny", "--data-dir", str(data),
                 "--out-dir", str(root / "run"), "-S", "ablation.enabled=false", "-S", "tuning.enabled=false"]) == 0
    return root


def rendered(text: str) -> str:
    """HTML as GitHub-flavoured markdown renders it: tables, strikethrough, bare URLs and www. linked."""
    return MarkdownIt("gfm-like", {"html": True}).render(text)


def assert_inert_markdown(text: str) -> None:
    html = rendered(text)
    assert not re.search(r"(href|src)=\"[^\"]*evil", html) and "<script" not in html
    for line in text.splitlines():    # every table row keeps its own cells: a name cannot add one
        if line.startswith("| ") and "Acme" in line:
            header = next(h for h in reversed(text[:text.index(line)].splitlines()) if h.startswith("|---"))
            assert len(re.findall(r"(?<!\\)\|", line)) == header.count("|")


def test_predictions_csv_carries_no_live_formula_and_round_trips(hostile_run: Path, tmp_path: Path) -> None:
    data = hostile_run / "data"
    out = tmp_path / "predictions.csv"
    assert main(["predict", "--model", str(hostile_run / "run"), "--data-dir", str(data), "--out", str(out),
                 "--explain", "3"]) == 0
    table = pd.read_csv(out, keep_default_na=False)
    text = table.select_dtypes(exclude="number").astype(str)
    assert not text.map(lambda v: v.startswith(FORMULA_START)).any().any()
    assert (table["name"] == "'" + FILM).sum() == 1                      # the prefix shows, the rest is intact
    assert table["predicted_rating"].between(0.5, 5).all()


def test_the_terminal_gets_no_escape_code(hostile_run: Path, tmp_path: Path, capsys) -> None:
    data = hostile_run / "data"
    director_film = pd.read_csv(data / "directors.csv", dtype=str)
    movie = director_film.loc[director_film["director_name"] == DIRECTOR, "movie_id"].iloc[0]
    assert main(["predict", "--model", str(hostile_run / "run"), "--data-dir", str(data), "--out",
                 str(tmp_path / "p.csv"), "--explain", "5"]) == 0
    assert main(["explain", "--model", str(hostile_run / "run"), "--data-dir", str(data), "--movie-id", movie,
                 "--figure", str(tmp_path / "w.png")]) == 0
    assert main(["whatif", "--model", str(hostile_run / "run"), "--data-dir", str(data), "--movie-id", movie]) == 0
    printed = capsys.readouterr().out
    assert "\x1b" not in printed and "\x07" not in printed
    assert "Ann\\x1b]0;owned\\x07 Lee\\x1b[2J" in printed          # shown, escaped, not run


def test_the_report_and_the_cards_are_inert_markdown(hostile_run: Path, tmp_path: Path, capsys) -> None:
    report = (hostile_run / "run" / "reports" / "report.md").read_text()
    assert STUDIO not in report and markdown(STUDIO) in report          # the studio is listed, escaped
    assert_inert_markdown(report)
    assert main(["ultimate", "--model", str(hostile_run / "run"), "--out", str(tmp_path / "card.md")]) == 0
    assert_inert_markdown((tmp_path / "card.md").read_text())
    assert "\x1b" not in capsys.readouterr().out


def test_the_escapes_themselves() -> None:
    safe = csv_safe(pd.DataFrame({"a": ["=1", "+1", "-1", "@a", "\tx", "\rx", "ok"], "b": [-1.0] * 7}))
    assert safe["a"].tolist() == ["'=1", "'+1", "'-1", "'@a", "\\tx", "\\rx", "ok"]      # a tab shows as \t
    assert safe["b"].tolist() == [-1.0] * 7                                                # numbers untouched
    assert terminal("a\x1b[31mb\nc\u202ed") == "a\\x1b[31mb\nc\\u202ed"
    html = rendered(markdown("[x](http://e.com) ![i](http://e.com) <img src=x> `c` a|b *e* \\ line\nbreak "
                             "www.e.com https://e.com a@e.com ~~s~~"))
    assert not {"<a", "<img", "<code>", "<em>", "<s>", "<br"} & set(re.findall(r"<[a-z]+>?", html))
    assert markdown("Mission: Impossible (Mr. Smith's)") == "Mission: Impossible (Mr. Smith's)"   # still reads


def test_a_name_with_dollars_draws_as_text_in_a_waterfall(tmp_path: Path) -> None:
    """Matplotlib reads `$...$` as TeX: `$\\foo$` (an unknown command) failed to draw before; the name is now
    shown literally, while SHAP's own `$f(x)$` labels stay TeX."""
    from pipeline.api import Explanation
    parts = pd.DataFrame({"group": ["cast", "runtime"], "value": ["$\\foo$ and \x1b[2J", "100 min"],
                          "contribution": [0.2, -0.1]})
    why = Explanation(0, "$\\foo$ $bar$", 2026, 3.1, 3.1, 3.0, parts, {"80": (2.5, 3.7)}, None)
    assert why.waterfall(tmp_path / "w.png").stat().st_size > 0
    assert plot_text("$\\foo$ \x1b") == "\\$\\foo\\$ \\x1b"
