"""The Python API: load a trained model, then predict, explain and ask what-if from DataFrames.

    from pipeline import Model
    model = Model.load("artifacts/model")
    model.predict(movies, actors=actors, directors=directors, studios=studios, explain=3)

Frames use the data contract's columns (README, *Data contract*) and are checked exactly as the files
they stand for: the same `InputError` (one line naming the file, the column and the line) that the
command line prints with exit code 2. The command line is a thin layer over this module.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.data.load import EMBEDDING_FILES, MovieData, frames_data, load_folder
from pipeline.errors import InputError
from pipeline.escape import plot_text, terminal
from pipeline.model.bundle import ModelBundle
from pipeline.model.catalogue import NEWCOMERS
from pipeline.model.groups import GROUPS, feature_group, top_reasons
from pipeline.model.intervals import interval_columns, level_name
from pipeline.model.trust import configured_key

log = logging.getLogger(__name__)


def model_folder(path: Path | str) -> Path:
    """The model folder itself, or a run's out-dir or artifacts folder that holds one."""
    path = Path(path)
    for candidate in (path, path / "model", path / "artifacts" / "model"):
        if (candidate / "manifest.json").is_file():
            return candidate
    raise InputError(str(path), "not a model folder: no manifest.json here, in model/ or in artifacts/model/ "
                     "(train one with run_all.py)")


def describe(data: MovieData) -> pd.DataFrame:
    """What each reason group is for each movie, in words (its cast, its runtime...): movie_id x GROUPS."""
    movies = data.movies

    def names(kind: str, k: int) -> pd.Series:
        listed = data.credits[kind].sort_values(["movie_id", "billing"]).groupby("movie_id")["name"].agg(list)
        words = listed.map(lambda v: ", ".join(v[:k]) + (f" and {len(v) - k} more" if len(v) > k else ""))
        return words.reindex(movies.index).fillna(f"no {kind} credited")

    tagline = movies["tagline"].str.strip()
    story = tagline.where(tagline != "", movies["description"].str.strip())
    story = story.map(lambda t: f"\"{t[:60]}…\"" if len(t) > 60 else f"\"{t}\"" if t else "no text")
    age = movies["theatrical_release_age_rating"].fillna("").astype(str).str.strip()
    return pd.DataFrame({
        "cast": names("actor", 3), "director": names("director", 2), "studio": names("studio", 2),
        "release year": movies["date"].astype(str), "runtime": movies["minute"].map(
            lambda m: "unknown" if pd.isna(m) else f"{m:g} min"),
        "age rating": age.where(age != "", "none"), "story (tagline and description)": story,
        "title": movies["name"].astype(str), "poster": "the poster", "other": "other features"},
        index=movies.index)[list(GROUPS)]


@dataclass(frozen=True)
class Explanation:
    """Why one movie is predicted what it is: contributions in rating points that sum, with the baseline,
    to the stack's prediction (before clipping to the rating scale)."""
    movie_id: int
    name: str
    year: int
    predicted_rating: float          # clipped to the rating scale
    unclipped: float
    baseline: float
    contributions: pd.DataFrame      # group, value (in words), contribution; largest |contribution| first
    intervals: dict[str, tuple[float, float]]    # level ("80") -> (lower, upper)
    actual_rating: float | None                  # from the input, else from the training data; None if unknown
    unknown_names: str = ""                      # names no training movie credits (predict's column of that name)
    after_the_data: str = ""                     # how a release year after the training data is read (Model's)
    baseline_year: int | None = None             # the baseline's release year: the last training year (folders
                                                 # of format 4 and before: the training films' mean year)

    @property
    def title(self) -> str:
        actual = "" if self.actual_rating is None else f", actual {self.actual_rating:.2f}"
        return f"{self.name} ({self.year}): predicted {self.predicted_rating:.2f}{actual}"

    def __str__(self) -> str:
        spans = "".join(f"  {lv}%: {lo:.2f}-{hi:.2f}" for lv, (lo, hi) in self.intervals.items())
        lines = [f"{self.title}{spans}",
                 f"  baseline {self.baseline:.3f} (a movie of {self.baseline_year}, every feature at its "
                 "expected value)"]
        lines += [f"  {row.contribution:+.3f}  {row.group}: {row.value}" for row in self.contributions.itertuples()]
        clip = "" if self.unclipped == self.predicted_rating else (
            f", clipped to {self.predicted_rating:.3f} (the rating scale)")
        lines.append(f"  = {self.unclipped:.3f}{clip}")
        if self.unknown_names:
            lines.append(f"  {NEWCOMERS}: {self.unknown_names}")
        if self.after_the_data:
            lines.append(f"  {self.after_the_data}")
        return terminal("\n".join(lines))       # names come from data: no escape code reaches a screen

    def waterfall(self, path: Path | str, top: int = 10) -> Path:
        """SHAP's waterfall plot of the contributions (the `top` largest, the rest summed), as a PNG."""
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import shap
        table = self.contributions
        labels = [plot_text(f"{g}: {v}" if len(v) < 40 else f"{g}: {v[:38]}…")
                  for g, v in zip(table["group"], table["value"])]
        explanation = shap.Explanation(values=table["contribution"].to_numpy(), base_values=self.baseline,
                                       feature_names=labels)
        shap.plots.waterfall(explanation, max_display=top + 1, show=False)
        fig = plt.gcf()
        fig.suptitle(plot_text(self.title), fontsize=11)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(fig)
        return path


class Model:
    """A trained model (a verified model folder) with what a notebook user asks of it."""

    def __init__(self, bundle: ModelBundle, folder: Path):
        self.bundle, self.folder = bundle, folder
        # computed text vectors are kept on disk beside the folder (None: in memory only, as a server keeps them)
        self.cache_dir: Path | None = folder.parent / "cache"

    @classmethod
    def load(cls, path: Path | str) -> "Model":
        """A model folder (`artifacts/model`), or the run folder holding it; verified against its manifest, and
        against its signature when a signing key is configured (MOVIE_RATING_SIGNING_KEY or signing.key_file)."""
        folder = model_folder(path)
        return cls(ModelBundle.load(folder, configured_key()), folder)

    # --- inputs ---------------------------------------------------------------------------------------
    def movies(self, movies: pd.DataFrame, actors: pd.DataFrame | None = None,
               directors: pd.DataFrame | None = None, studios: pd.DataFrame | None = None,
               embeddings: dict[str, np.ndarray] | None = None) -> MovieData:
        """DataFrames in the data contract's columns, checked as the files they stand for. `embeddings`:
        optional {"tagline": array, ...}, row i for movie_id i; text vectors are computed when absent."""
        embeddings = {} if embeddings is None else embeddings
        if not isinstance(embeddings, dict):
            raise TypeError(f"embeddings: expected a dict such as {{\"tagline\": array}}, got "
                            f"{type(embeddings).__name__}")
        for name in embeddings:
            if name not in EMBEDDING_FILES:
                raise InputError("embeddings", f"unknown vectors '{name}'; known: {', '.join(EMBEDDING_FILES)}")
        credits = {"actor": actors, "director": directors, "studio": studios}
        return frames_data(movies, credits, embeddings, self.bundle.cfg.data, require_rating=False,
                           embedding_dims=self.bundle.spec.dims)

    def _data(self, movies: pd.DataFrame | MovieData, actors: pd.DataFrame | None,
              directors: pd.DataFrame | None, studios: pd.DataFrame | None,
              embeddings: dict[str, np.ndarray] | None) -> MovieData:
        """Movies already loaded (a folder, MovieData) pass as they are; frames are checked first."""
        if isinstance(movies, MovieData):
            return movies
        return self.movies(movies, actors, directors, studios, embeddings)

    def folder_movies(self, folder: Path | str) -> MovieData:
        return load_folder(Path(folder), self.bundle.cfg.data, require_rating=False,
                           embedding_dims=self.bundle.spec.dims)

    # --- predictions ----------------------------------------------------------------------------------
    def predict(self, movies: pd.DataFrame | MovieData, actors: pd.DataFrame | None = None,
                directors: pd.DataFrame | None = None, studios: pd.DataFrame | None = None, *,
                embeddings: dict[str, np.ndarray] | None = None, explain: int = 0) -> pd.DataFrame:
        """One row per movie: `movie_id, name, year, predicted_rating` (clipped to the rating scale),
        `lower_<level>, upper_<level>` per interval level, `in_training_data`, `actual_rating` (from the
        input, else from the training data), `unknown_names` (cast, directors and studios no training movie
        credits, read as newcomers, each with the closest training name when one is near: a typo shows here),
        `reason_1..explain` (the largest contributions, in words and rating points), then each shipped
        learner's prediction."""
        return self._table(self._data(movies, actors, directors, studios, embeddings), explain)[0]

    def _table(self, data: MovieData, explain: int) -> tuple[pd.DataFrame, pd.DataFrame | None]:
        """The readable predictions and, when `explain` > 0, the contributions they were read from."""
        raw, contributions = self.bundle.predict_with_reasons(data, self.cache_dir, reasons=explain > 0)
        table = self._readable(data, raw)
        if contributions is not None:
            k = min(explain, len(GROUPS))
            words = describe(data).loc[contributions["movie_id"].to_numpy()]
            reasons = top_reasons(contributions, k)
            for j in range(k):
                table[f"reason_{j + 1}"] = [f"{row[j][0]} ({words.iloc[i][row[j][0]]}) {row[j][1]:+.3f}"
                                            for i, row in enumerate(reasons)]
        learners = raw[list(self.bundle.learners)].clip(*self.bundle.cfg.data.rating_range).round(3)
        return pd.concat([table, learners.reset_index(drop=True)], axis=1), contributions

    def _readable(self, data: MovieData, raw: pd.DataFrame) -> pd.DataFrame:
        lo, hi = self.bundle.cfg.data.rating_range
        movies = data.movies.loc[raw["movie_id"].to_numpy()]
        table = pd.DataFrame({"movie_id": raw["movie_id"].to_numpy(), "name": movies["name"].to_numpy(),
                              "year": movies["date"].to_numpy(),
                              "predicted_rating": raw["predicted_rating"].clip(lo, hi).round(3).to_numpy()})
        for col in interval_columns(self.bundle.cfg.intervals.levels) if self.bundle.intervals else []:
            table[col] = raw[col].round(3).to_numpy()
        table["in_training_data"], known = self.bundle.catalogue.known(movies["name"], movies["date"])
        given = movies["rating"].to_numpy(np.float64)
        table["actual_rating"] = np.where(np.isnan(given), known, given)
        table["unknown_names"] = self.bundle.catalogue.unknown_names(data).reindex(table["movie_id"]).to_numpy()
        return table

    def after_the_data(self, years: Any) -> str:
        """How the model reads release years after its training data, in words ("" when none of `years` is):
        the level its era lines give those years, the years the lines were fitted on, how far the stack's
        prediction moves against the last training year, and how the newest training films were rated."""
        return self.bundle.after_the_data(np.asarray(years), self.cache_dir)

    def explain(self, movies: pd.DataFrame | MovieData, actors: pd.DataFrame | None = None,
                directors: pd.DataFrame | None = None, studios: pd.DataFrame | None = None, *,
                movie_id: int | None = None, name: str | None = None,
                embeddings: dict[str, np.ndarray] | None = None) -> Explanation:
        """The reasons of one movie (by id, or by its unique title; the only movie if there is one)."""
        from pipeline.serving.whatif import find_movie
        data = self._data(movies, actors, directors, studios, embeddings)
        if movie_id is None and name is None and len(data.movies) == 1:
            movie_id = int(data.movies.index[0])
        movie_id = find_movie(data, movie_id, name)
        one = data.subset(np.array([movie_id]))
        predicted, contributions = self._table(one, explain=1)       # the contributions come along
        predicted, row = predicted.iloc[0], contributions.iloc[0]
        words = describe(one).loc[movie_id]
        parts = pd.DataFrame({"group": list(GROUPS), "value": [words[g] for g in GROUPS],
                              "contribution": [float(row[g]) for g in GROUPS]})
        parts = parts[parts["contribution"] != 0]
        parts = parts.iloc[np.argsort(-parts["contribution"].abs().to_numpy(), kind="stable")]
        levels = self.bundle.cfg.intervals.levels if self.bundle.intervals else ()
        bounds = {level_name(lv): (float(predicted[f"lower_{level_name(lv)}"]),
                                   float(predicted[f"upper_{level_name(lv)}"])) for lv in levels}
        unclipped = float(row["baseline"] + parts["contribution"].sum())
        return Explanation(movie_id, str(predicted["name"]), int(predicted["year"]),
                           float(np.clip(unclipped, *self.bundle.cfg.data.rating_range)), unclipped,
                           float(row["baseline"]), parts.reset_index(drop=True), bounds,
                           None if pd.isna(predicted["actual_rating"]) else float(predicted["actual_rating"]),
                           predicted["unknown_names"], self.after_the_data([predicted["year"]]),
                           int(round(self.bundle.reference["year"])))

    def whatif(self, movies: pd.DataFrame | MovieData, actors: pd.DataFrame | None = None,
               directors: pd.DataFrame | None = None, studios: pd.DataFrame | None = None, *,
               movie_id: int | None = None, name: str | None = None, top: int | None = None,
               max_edits: int | None = None, embeddings: dict[str, np.ndarray] | None = None,
               seconds: float | None = None) -> dict[str, Any]:
        """Edits the model associates with a higher rating for one movie (pipeline/serving/whatif.py); with
        `seconds`, a time limit on the search for the combined edit (the answer's `cut_short` says if it hit)."""
        from pipeline.serving.whatif import find_movie, whatif
        data = self._data(movies, actors, directors, studios, embeddings)
        movie_id = find_movie(data, movie_id, name)
        cfg = self.bundle.cfg.whatif.model_copy(update={k: v for k, v in (("top", top), ("max_edits", max_edits))
                                                        if v is not None})
        return whatif(self.bundle, data, movie_id, cfg, self.bundle.cfg.seed, self.cache_dir, seconds)

    def ultimate(self) -> dict[str, Any]:
        """The highest-predicted movie a producer could make, from the model alone (pipeline/serving/whatif.py)."""
        from pipeline.serving.whatif import ultimate
        cfg = self.bundle.cfg
        return ultimate(self.bundle, cfg.ultimate, cfg.whatif, cfg.seed, self.cache_dir)

    # --- what the model knows about itself ------------------------------------------------------------
    def leaderboard(self) -> pd.DataFrame:
        """Every learner of the run and the stack, by holdout RMSE: CV RMSE, stack weight, fit seconds (all
        CV folds) and the seconds one fitted model takes per 1,000 movies; `shipped` marks what `predict` uses."""
        ev = self.bundle.evaluation
        if not ev:
            raise InputError(str(self.folder), "this model folder carries no evaluation (retrain with run_all.py)")
        rows = pd.DataFrame.from_dict(ev["learners"], orient="index").rename_axis("learner").reset_index()
        rows["predict_seconds_per_1000"] = rows["predict_seconds"] / ev["n_holdout"] * 1000
        rows["shipped"] = rows["learner"].isin(list(self.bundle.learners)) | (rows["learner"] == "stack")
        columns = ["learner", "modality", "holdout_rmse", "cv_rmse", "stack_weight", "shipped", "fit_seconds",
                   "predict_seconds_per_1000"]
        return rows[columns].sort_values("holdout_rmse", ignore_index=True)

    def feature_importance(self, learner: str | None = None) -> pd.DataFrame:
        """The shipped learners' own importances (CatBoost PredictionValuesChange, LightGBM/XGBoost gain,
        |coefficient| of linear heads), with each feature's reason group and its share within its learner."""
        names = [learner] if learner is not None else list(self.bundle.learners)
        unknown = [n for n in names if n not in self.bundle.learners]
        if unknown:
            raise InputError("learner", f"'{unknown[0]}' is not a shipped learner; shipped: "
                             f"{', '.join(self.bundle.learners)}")
        parts = []
        for n in names:
            imp = self.bundle.learners[n].head_.importance()
            total = float(imp.sum()) or 1.0
            parts.append(pd.DataFrame({"learner": n, "feature": imp.index,
                                       "group": [feature_group(f) for f in imp.index],
                                       "importance": imp.to_numpy(), "share": imp.to_numpy() / total}))
        out = pd.concat(parts, ignore_index=True)
        return out.sort_values(["learner", "importance"], ascending=[True, False], ignore_index=True)

