"""The greenlight frame: what a film lacks when it is greenlit is blank for every film, and nothing else moves."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.config import Config
from pipeline.data.load import load_folder
from pipeline.features.greenlight import at_greenlight
from pipeline.features.prepare import prepare


def test_withheld_inputs_are_one_constant_and_the_cast_is_its_leads(demo_dir: Path, tiny_cfg: Config,
                                                                    tmp_path: Path) -> None:
    data = load_folder(demo_dir, tiny_cfg.data, require_rating=True)
    prep = prepare(data, tiny_cfg, data.movies.index.to_numpy(), tmp_path / "cache")
    early = at_greenlight(prep, tiny_cfg, ("runtime", "tagline", "poster"), leads=2)
    full = prep.frame(tiny_cfg)
    for column in ("minute", "is_short", "runtime_missing", "has_tagline", "tagline_words"):
        assert early.tabular[column].nunique() == 1, column          # nothing a learner could split on
    assert full.tabular["minute"].nunique() > 1
    tagline = prep.spec.dims["tagline"]
    assert not early.blocks["text"][:, :tagline].any()               # the tagline's vectors are zeros
    np.testing.assert_array_equal(early.blocks["text"][:, tagline:], full.blocks["text"][:, tagline:])
    assert "image" not in early.blocks and "image" in full.blocks    # no poster yet
    billing = early.credits["actor"].matrix
    assert billing.data.max() == 2 and (np.diff(billing.indptr) <= 2).all()    # the two leads, nobody else
    assert (np.diff(full.credits["actor"].matrix.indptr) > 2).any()
    for kept in ("year", "age_rating", "n_director", "description_words"):
        assert early.tabular[kept].equals(full.tabular[kept]), kept
    assert early.names["director_1"].equals(full.names["director_1"])
    assert early.texts.str.strip().equals(prep.data.movies["description"].reset_index(drop=True).str.strip())
