"""clean: duplicates dropped, the temporal split, cleaning and text vectorisers fitted on its training
rows, the movie frames; the cleaning log, the folds and the data overview the report draws."""
from __future__ import annotations

import logging
from typing import Any

from pipeline.config import Config
from pipeline.data.clean import drop_duplicate_movies, loading_log
from pipeline.data.load import MovieData
from pipeline.features.prepare import data_overview, split_and_prepare
from pipeline.io import write_json, write_table
from pipeline.model.intervals import check_difficulty
from pipeline.model.registry import available
from pipeline.runner import Folders

log = logging.getLogger(__name__)


def clean(raw: MovieData, cfg: Config, folders: Folders) -> dict[str, Any]:
    raw, dup_log = drop_duplicate_movies(raw)
    splits, prep, data = split_and_prepare(raw, cfg, folders.cache)
    unlabelled = [{"step": "rating", "decision": "no rating: not used for training",
                   "count": int((~raw.has_rating).sum())}]
    write_json(folders.art / "cleaning_log.json", loading_log(raw) + dup_log + unlabelled + prep.log)
    write_table(folders.art / "folds.csv", splits.to_frame())
    write_table(folders.art / "dataset.parquet", data_overview(raw, splits))
    check_difficulty(cfg.intervals.difficulty, data.train.tabular)
    names = [n for n in cfg.learners.enabled if available(n, cfg, data.train)]
    if len(names) < len(cfg.learners.enabled):
        log.warning("learners skipped (their modality is absent or their optional library is not installed): "
                    "%s", ", ".join(n for n in cfg.learners.enabled if n not in names))
    labelled = raw.movies.index[raw.has_rating].to_numpy()    # what the shipped model is refitted on
    return {"raw": raw, "prep": prep, "data": data, "names": names, "labelled": labelled}
