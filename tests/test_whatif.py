"""What-if and ultimate-movie searches on demo data with planted effects."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.config import Config
from pipeline.data import load_folder
from pipeline.demo import DemoTruth
from pipeline.model import ModelBundle
from pipeline.whatif import Edit, Variants, candidate_pools, entity_support, ultimate, whatif


@pytest.fixture(scope="module")
def setup(tiny_run: Path, demo_dir: Path):
    bundle = ModelBundle.load(tiny_run / "artifacts" / "model")
    data = load_folder(demo_dir, bundle.cfg.data, require_rating=False, embedding_dims=bundle.spec.dims)
    return bundle, data, DemoTruth.load(demo_dir), tiny_run / "artifacts" / "cache"


def _a_movie_without(data, kind: str, name: str) -> int:
    credited = set(data.credits[kind].loc[data.credits[kind]["name"] == name, "movie_id"])
    return int(next(i for i in data.movies.index if i not in credited))


def test_planted_best_director_and_actor_are_found(setup) -> None:
    bundle, data, truth, cache = setup
    pools = candidate_pools(bundle, bundle.cfg.whatif)
    assert pools["director"][0] == truth.best_director and truth.best_actor in pools["actor"]
    variants = Variants(bundle, data, cache, 50)
    movie = _a_movie_without(data, "director", truth.best_director)
    preds = variants.predict(movie, [()] + [(Edit("director", d),) for d in pools["director"]])
    assert preds["predicted_rating"].iloc[1:].idxmax() == 1          # the planted director is the best edit
    assert preds["predicted_rating"].iloc[1] > preds["predicted_rating"].iloc[0]
    movie = _a_movie_without(data, "actor", truth.best_actor)
    preds = variants.predict(movie, [(Edit("lead_actor", a),) for a in pools["actor"]])
    ranked = [pools["actor"][i] for i in preds["predicted_rating"].sort_values(ascending=False).index]
    print("best actor's rank among lead-actor edits:", ranked.index(truth.best_actor) + 1, "of", len(ranked))
    assert truth.best_actor in ranked[:3]


def test_runtime_moves_in_the_planted_direction(setup) -> None:
    bundle, data, truth, cache = setup
    assert truth.runtime_slope > 0
    movie = int(data.movies.index[(data.movies["minute"] > 90) & (data.movies["minute"] < 110)][0])
    minute = int(data.movies.loc[movie, "minute"])
    preds = Variants(bundle, data, cache, 50).predict(movie, [(Edit("runtime", minute - 30),),
                                                              (Edit("runtime", minute + 30),)])
    assert preds["predicted_rating"].iloc[1] > preds["predicted_rating"].iloc[0]


def test_whatif_respects_its_constraints(setup) -> None:
    bundle, data, truth, cache = setup
    cfg = bundle.cfg.whatif.model_copy(update={"max_edits": 2, "top": 4})
    answer = whatif(bundle, data, 5, cfg, 0, cache)
    assert len(answer["single_edits"]) == 4
    assert all(e["change"] >= answer["single_edits"][-1]["change"] for e in answer["single_edits"])
    combo = answer["best_combination"]
    assert 0 < len(combo["edits"]) <= 2
    assert combo["predicted_rating"] >= answer["single_edits"][0]["predicted_rating"] - 1e-9
    support = entity_support(bundle)
    for kind, names in candidate_pools(bundle, cfg).items():
        assert (support[kind].loc[names, "films"] >= cfg.min_films).all()


def test_ultimate_movie_is_feasible(setup) -> None:
    bundle, data, truth, cache = setup
    cfg: Config = bundle.cfg
    card = ultimate(bundle, data, cfg.ultimate, cfg.whatif, 0, cache)
    low, high = cfg.ultimate.cast_size
    assert len(card["cast"]) <= high and len(card["cast"]) >= 1
    assert cfg.ultimate.runtime[0] <= card["runtime"] <= cfg.ultimate.runtime[1]
    assert cfg.ultimate.years[0] <= card["year"] <= cfg.ultimate.years[1]
    pools = candidate_pools(bundle, cfg.whatif)
    assert card["director"] in pools["director"] and set(card["cast"]) <= set(pools["actor"])
    assert card["predicted_rating"] > data.movies["rating"].mean()


def test_report_has_the_whatif_section(tiny_run: Path) -> None:
    report = (tiny_run / "reports" / "report.md").read_text()
    assert "## What if?" in report and "The ultimate movie" in report and "not causal" in report
    answers = json.loads((tiny_run / "artifacts" / "whatif.json").read_text())
    assert len(answers["movies"]) == 3


@pytest.mark.parametrize("args, needle", [(["--movie-id", "999999"], "no movie with movie_id 999999"),
                                          (["--name", "No Such Film Anywhere"], "no movie named")])
def test_bad_movie_is_a_clear_error(tiny_run: Path, demo_dir: Path, args, needle, capsys) -> None:
    code = main(["whatif", "--model", str(tiny_run / "artifacts" / "model"), "--data-dir", str(demo_dir), *args])
    err = capsys.readouterr().err.strip()
    assert code == 2 and needle in err and len(err.splitlines()) == 1


def test_ambiguous_name_lists_the_candidates(setup, tiny_run: Path, demo_dir: Path, capsys) -> None:
    _, data, _, _ = setup
    repeated = data.movies["name"][data.movies["name"].duplicated()].iloc[0]
    code = main(["whatif", "--model", str(tiny_run / "artifacts" / "model"), "--data-dir", str(demo_dir),
                 "--name", repeated])
    err = capsys.readouterr().err
    assert code == 2 and "pick one with --movie-id" in err
