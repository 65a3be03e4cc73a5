"""The fitted bundle: preprocessing, base learners and stacker; saved natively with a manifest.

Nothing in a model folder is unpickled: boosters are native files (.cbm, LightGBM text),
linear parts and PCA go through skops with an allowlist, the rest is JSON/NPZ. Loading
verifies every file's sha256 against manifest.json first.
"""
from __future__ import annotations

import platform
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.config import Config, parse_config
from pipeline.data.clean import CleaningStats, apply_cleaning
from pipeline.data.load import MovieData
from pipeline.errors import InputError, first_line
from pipeline.features.embeddings import TfidfSvdVectorizer
from pipeline.features.frame import FrameSpec, MovieFrame, apply_sources, build_frame
from pipeline.io import atomic_dir, load_arrays, read_json, sha256_file, write_json
from pipeline.model import format as model_format
from pipeline.model import trust
from pipeline.model.catalogue import Catalogue
from pipeline.model.groups import GROUPS, feature_group, group_codes
from pipeline.model.heads import skops_dump, skops_load
from pipeline.model.intervals import IntervalModel, difficulty_table
from pipeline.model.registry import Learner
from pipeline.model.stacker import Stacker, stack_table

PACKAGES = ("numpy", "pandas", "scikit-learn", "catboost", "lightgbm", "xgboost", "optuna", "skops", "scipy")
DISTRIBUTIONS = {"xgboost": ("xgboost-cpu", "xgboost")}     # the CPU-only build installs the same module


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for pkg in PACKAGES:
        versions[pkg] = "absent"
        for dist in DISTRIBUTIONS.get(pkg, (pkg,)):
            try:
                versions[pkg] = metadata.version(dist)
                break
            except metadata.PackageNotFoundError:
                continue
    return versions


@dataclass
class ModelBundle:
    cfg: Config
    stats: CleaningStats
    spec: FrameSpec
    learners: dict[str, Learner]
    stacker: Stacker
    reference: dict[str, float]            # the reasons' baseline: the last training year (folders of format 4
                                           # and before: the mean year) and the raw columns' training means
    catalogue: Catalogue                   # the movies fitted: "was it in the training data?", careers, stories
    intervals: IntervalModel | None = None
    evaluation: dict = field(default_factory=dict)   # per learner: holdout and CV scores, fit and predict seconds

    def frame(self, data: MovieData, cache_dir: Path) -> MovieFrame:
        """New movies through the shipped preprocessing (training-time statistics, no refitting)."""
        cleaned, _ = apply_cleaning(data, self.stats, self.cfg.clean)
        return build_frame(cleaned, apply_sources(cleaned, self.spec, self.cfg, cache_dir), self.cfg)

    def predict(self, data: MovieData, cache_dir: Path) -> pd.DataFrame:
        """`movie_id, predicted_rating`, one column per base learner and the interval bounds."""
        return self.predict_with_reasons(data, cache_dir, reasons=False)[0]

    def contributions(self, data: MovieData, cache_dir: Path) -> pd.DataFrame:
        return self.predict_with_reasons(data, cache_dir)[1]

    def predict_with_reasons(self, data: MovieData, cache_dir: Path,
                             reasons: bool = True) -> tuple[pd.DataFrame, pd.DataFrame | None]:
        """The predictions and (with `reasons`) the contributions, from one pass over each chunk of
        `predict.batch` movies: every step is row-wise, so chunking bounds memory without changing any result
        (beyond float rounding in BLAS sums of other shapes)."""
        ids = data.movies.index.to_numpy()
        size = self.cfg.predict.batch
        if len(ids) <= size:
            return self._predict(data, cache_dir, reasons)
        parts = [self._predict(data.subset(ids[start:start + size]), cache_dir, reasons)
                 for start in range(0, len(ids), size)]
        return (pd.concat([p[0] for p in parts], ignore_index=True),
                pd.concat([p[1] for p in parts], ignore_index=True) if reasons else None)

    def _predict(self, data: MovieData, cache_dir: Path, reasons: bool) -> tuple[pd.DataFrame, pd.DataFrame | None]:
        frame = self.frame(data, cache_dir)
        memo: dict[str, object] = {}     # a block learners share (one fit) is transformed once
        features = {name: learner.features(frame, memo) for name, learner in self.learners.items()}
        preds = {name: learner.predict(frame, features[name]) for name, learner in self.learners.items()}
        stacked = self.stacker.predict(stack_table(frame, preds, self.stacker.cfg.raw_features))
        out = pd.DataFrame({"movie_id": frame.ids, "predicted_rating": stacked} | preds)
        if self.intervals is not None:
            bounds = self.intervals.predict(difficulty_table(frame.tabular, preds), stacked, self.cfg.data.rating_range)
            out = pd.concat([out, bounds], axis=1)
        return out, (self._contributions(frame, features) if reasons else None)

    def _contributions(self, frame: MovieFrame, features: dict[str, pd.DataFrame]) -> pd.DataFrame:
        """`movie_id, baseline` and one column per reason group (explain.GROUPS), in rating points: per movie
        they sum to the stack's (unclipped) prediction. The stacker's weights carry each learner's TreeSHAP
        values or linear terms, scaled by the learner's era spread; the era lines and the stacker's raw
        columns enter as *release year* (or their own group) against `reference`, so the baseline is the
        prediction for a movie of the reference year (the last training year) with every feature at its
        expected value, and *release year* is how far the era has moved from then."""
        if self.stacker.cfg.method != "ridge":
            raise InputError("params.yaml", "parameter 'stacking.method': per-movie reasons need the ridge "
                             "stacker (its blend is linear in the learners); this model uses "
                             f"'{self.stacker.cfg.method}'")
        n, weights = len(frame), self.stacker.weights()
        out = np.zeros((n, len(GROUPS)))
        baseline = np.full(n, float(self.stacker.intercept_))
        for col in self.stacker.cfg.raw_features:
            out[:, GROUPS.index(feature_group(col))] += weights[col] * (frame.tabular[col].to_numpy(np.float64)
                                                                         - self.reference[col])
            baseline += weights[col] * self.reference[col]
        years, ref_year = frame.tabular["year"].to_numpy(np.float64), np.full(n, self.reference["year"])
        for name, learner in self.learners.items():
            parts = learner.head_.contributions(features[name])
            spread = learner.target_.spread(years)
            out += weights[name] * spread[:, None] * parts.grouped(group_codes(learner.columns_), len(GROUPS))
            at_ref = on_era_lines(learner, ref_year, parts.base)
            baseline += weights[name] * at_ref
            out[:, GROUPS.index("release year")] += weights[name] * (on_era_lines(learner, years, parts.base) - at_ref)
        return pd.DataFrame({"movie_id": frame.ids, "baseline": baseline}
                            | {group: out[:, j] for j, group in enumerate(GROUPS)})

    def era_level(self, years: np.ndarray, cache_dir: Path) -> np.ndarray:
        """The level at which the model reads each release year: the stack's prediction for a film of that year
        whose every learner predicts its own average (its head's expected value), carried by the learners'
        era lines and the stacker's raw columns at their training means. It is the baseline of the reasons
        plus the part of their *release year* that does not depend on the film (a learner's own splits on the
        year column are the film's). Past the last training year the era lines continue (`learners.trend_after`)."""
        years = np.asarray(years, dtype=np.float64)
        one = self.frame(self.catalogue.movie_data(np.array([0]), Path("<catalogue>")), cache_dir)
        average = {name: learner.head_.contributions(learner.features(one)).base[0]
                   for name, learner in self.learners.items()}
        table = pd.DataFrame({name: on_era_lines(learner, years, average[name])
                              for name, learner in self.learners.items()})
        for col in self.stacker.cfg.raw_features:
            table[col] = years if col == "year" else self.reference[col]
        return self.stacker.predict(table)

    def after_the_data(self, years: np.ndarray, cache_dir: Path) -> str:
        """How the model reads release years after its training data, in words ("" when none of `years` is):
        at which level, from which years, and how far the newest training films were from it."""
        trained = self.catalogue.movies["year"].to_numpy(np.float64)
        last = int(trained.max())
        later = sorted({int(y) for y in np.asarray(years) if y > last})
        if not later:
            return ""
        lines = next((lr.target_ for lr in self.learners.values() if lr.target_.mode != "raw"), None)
        recent = trained >= last - 2
        rated = float(self.catalogue.movies["rating"].to_numpy(np.float64)[recent].mean())
        newest = f"The films of {last - 2}-{last} were rated {rated:.2f} on average"
        if lines is None:
            return (f"Release years after {last}, the last the model was fitted on, are read as its last years: its "
                    f"learners fit raw ratings, and their splits on the year hold the last years' level. {newest}.")
        knot, _, slope = lines.level_
        continued = {1.0: "continued"}.get(lines.after, f"continued at {lines.after:g} of its slope"
                                           if lines.after > 0 else "held at its last value")
        stack = self.era_level(np.array([last, *later]), cache_dir)
        line = lines.level(np.array([last, *later], dtype=np.float64))
        return (f"Release years after {last} (the last the model was fitted on) are read on its era line "
                f"{continued}: {_listed(later, line[1:])} against {line[0]:.2f} in {last} (the line fitted on the "
                f"films of {int(trained.min())}-{last}: flat until {knot:.0f}, then {slope:+.4f} a year). Against "
                f"the same film released in {last}, the era lines and the stacker move a prediction by "
                f"{_listed(later, stack[1:] - stack[0], signed=True)}. {newest}, "
                f"{rated - float(lines.level(trained[recent]).mean()):+.2f} against the line; how the newest films "
                "fare: the backtest in docs/experiments.md.")

    def save(self, folder: Path, key: bytes | None = None, provenance: dict[str, str | None] | None = None) -> None:
        """Write the folder whole or not at all; with a key, sign its manifest (pipeline/model/trust.py).
        `provenance` (the training run's `training_commit` and `data_fingerprint`) goes into the manifest, where
        a server's health reports it."""
        with atomic_dir(folder) as tmp:
            write_json(tmp / "config.json", self.cfg.model_dump(mode="json"))
            write_json(tmp / "cleaning.json", self.stats.to_dict())
            write_json(tmp / "frame.json", self.spec.to_dict())
            for source, vec in self.spec.vectorizers.items():
                skops_dump(vec.pipeline_, tmp / f"vectorizer_{source}.skops")
            for name, learner in self.learners.items():
                learner.save(tmp / "learners" / name)
            self.stacker.save(tmp / "stacker")
            write_json(tmp / "reference.json", self.reference)
            self.catalogue.save(tmp)
            if self.intervals is not None:
                write_json(tmp / "intervals.json", self.intervals.to_dict())
                np.savez(tmp / "intervals.npz", **self.intervals.arrays())
            write_json(tmp / "evaluation.json", self.evaluation)
            files = {str(p.relative_to(tmp)): sha256_file(p) for p in sorted(tmp.rglob("*")) if p.is_file()}
            write_json(tmp / "manifest.json", {"format": model_format.FORMAT, "writer": model_format.writer(),
                                               "files": files, "versions": package_versions()}
                       | {"training_commit": None, "data_fingerprint": None} | (provenance or {}))
            if key is not None:
                trust.sign(tmp, key)
            trust.remember(tmp)     # this machine wrote it: its boosters need no throwaway parse

    @classmethod
    def load(cls, folder: Path, key: bytes | None = None) -> "ModelBundle":
        """Check the folder (manifest, signature with a key, boosters), then read it; a file that is not
        what it should be is refused in one line (InputError), never a traceback or a crash."""
        found = trust.verify(folder, key)
        try:
            return cls._read(folder, found)
        except InputError:
            raise
        except Exception as exc:   # noqa: BLE001 - files that parse but do not fit together are bad input too
            raise InputError(str(folder), f"model files do not fit together ({type(exc).__name__}: "
                             f"{first_line(exc)}); retrain with run_all.py or restore the folder") from None

    @classmethod
    def _read(cls, folder: Path, found: int) -> "ModelBundle":
        """The folder's files as this code's parts; a folder of an older format is migrated in memory first."""
        try:
            cfg = parse_config(model_format.migrate_config(read_json(folder / "config.json"), found),
                               source=str(folder / "config.json"))
        except InputError as exc:   # the manifest matched: a parameter changed without its migration
            raise InputError(str(exc), f"does not match format {found} as this version reads it (a parameter "
                             "changed without a migration in pipeline/model/format.py); retrain with run_all.py"
                             ) from None
        frame_meta = read_json(folder / "frame.json")
        vectorizers = {}
        for source, how in frame_meta["origin"].items():
            if how == "tfidf-svd":
                vec = TfidfSvdVectorizer(cfg.data.tfidf_dim, cfg.seed)
                vec.pipeline_ = skops_load(folder / f"vectorizer_{source}.skops")
                vectorizers[source] = vec
        spec = FrameSpec(frame_meta["origin"], frame_meta["dims"], frame_meta["modalities"], vectorizers,
                         frame_meta["encoders"])
        stacker = Stacker.load(folder / "stacker", cfg.stacking)
        shared: dict = {}                # a block fitted once for several learners is read once
        learners = {name: Learner.load(folder / "learners" / name, cfg, shared) for name in stacker.learners}
        intervals = None
        if (folder / "intervals.json").is_file():
            intervals = IntervalModel.from_parts(cfg.intervals, read_json(folder / "intervals.json"),
                                                 load_arrays(folder / "intervals.npz"))
        return cls(cfg, CleaningStats(**read_json(folder / "cleaning.json")), spec, learners, stacker,
                   read_json(folder / "reference.json"), Catalogue.load(folder), intervals,
                   read_json(folder / "evaluation.json"))


def _listed(years: list[int], values: np.ndarray, signed: bool = False) -> str:
    """"2.83 in 2023 and 2.80 in 2026" (or "-0.02 for 2023 and -0.05 for 2026")."""
    parts = [f"{v:+.2f} for {y}" if signed else f"{v:.2f} in {y}" for y, v in zip(years, values)]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def on_era_lines(learner: Learner, years: np.ndarray, z: np.ndarray | float) -> np.ndarray:
    """A learner's prediction, in rating points, for films of `years` whose head predicts `z`."""
    return learner.target_.level(years) + learner.target_.spread(years) * z
