"""A wide sparse design for linear learners: every credit, every word, splines of year and runtime.

Where the tree learners see each actor through a target encoding, a ridge on the one-hot
credits (the `names` block) fits all actors, directors and studios jointly (an actor is not credited for the
director he keeps working with). Year enters through a linear spline that extrapolates
its last slope, so this learner carries the rating drift beyond the training years, which
trees cannot. Nothing here reads ratings: the vocabulary, TF-IDF and scaling are fitted
on the rows passed to `fit`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import pandas as pd
import scipy.sparse as sp

from pipeline.features.embeddings import fit_pca, tfidf
from pipeline.features.frame import MovieFrame
from pipeline.features.tabular import AGE_RATING
from pipeline.io import load_tables, save_tables

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer

SPLINE_COLUMNS = ("year", "log_minute")


@dataclass(frozen=True)
class Sparse:
    """A sparse design matrix with its column names (what heads need for importances)."""
    matrix: sp.csr_matrix
    columns: list[str]

    def __len__(self) -> int:
        return self.matrix.shape[0]


def _dense_tabular(tabular: pd.DataFrame) -> pd.DataFrame:
    numeric = tabular.drop(columns=[AGE_RATING]).astype(np.float64)
    numeric = numeric.assign(log_minute=np.log(numeric["minute"].clip(lower=1.0)))
    ages = pd.get_dummies(tabular[AGE_RATING], prefix=AGE_RATING, dtype=np.float64)
    return pd.concat([numeric.drop(columns=["minute"]), ages], axis=1).fillna(0.0)


def _dense_csr(block: np.ndarray) -> sp.csr_matrix:
    """A dense block as CSR without scanning it for zeros (scipy's conversion took 5 s per 100k x 768)."""
    n, d = block.shape
    return sp.csr_matrix((np.ascontiguousarray(block).ravel(), np.tile(np.arange(d, dtype=np.int32), n),
                          np.arange(0, n * d + 1, d, dtype=np.int64)), shape=(n, d))


class SparseDesign:
    def __init__(self, blocks: tuple[str, ...], kinds: tuple[str, ...], billing_decay: float,
                 max_words: int, n_knots: int, seed: int, n_components: int | None = None):
        self.blocks, self.kinds, self.billing_decay = blocks, kinds, billing_decay
        self.max_words, self.n_knots, self.seed = max_words, n_knots, seed
        self.n_components = n_components     # PCA of each embedding block; None: the vectors as they are

    def fit(self, frame: MovieFrame) -> "SparseDesign":
        from sklearn.preprocessing import SplineTransformer, StandardScaler
        if "tabular" in self.blocks:
            dense = _dense_tabular(frame.tabular)
            self.spline_ = SplineTransformer(n_knots=self.n_knots, degree=1, knots="quantile",
                                             extrapolation="linear").fit(dense[list(SPLINE_COLUMNS)])
            self.scaler_ = StandardScaler().fit(dense.drop(columns=list(SPLINE_COLUMNS)))
        if "names" in self.blocks:
            self.vocab_ = {kind: frame.credits[kind].names[np.asarray(
                frame.credits[kind].matrix.getnnz(axis=0)) > 0] for kind in self.kinds}
        if "words" in self.blocks:
            self.tfidf_ = _tfidf(max_features=self.max_words).fit(frame.texts)
        self.pca_ = {}
        if self.n_components is not None:
            for block in self._embedding_blocks(frame):
                self.pca_[block] = fit_pca(frame.blocks[block], self.n_components, self.seed)
        return self._name_columns()

    def _embedding_blocks(self, frame: MovieFrame) -> list[str]:
        return [b for b in ("text", "image") if b in self.blocks and b in frame.blocks]

    def _vectors(self, frame: MovieFrame, block: str) -> tuple[np.ndarray, str]:
        """A block's vectors for the design (PCA scores when fitted with n_components) and their prefix."""
        if block in self.pca_:
            return self.pca_[block].transform(frame.blocks[block]).astype(np.float32), f"{block}_pc"
        return frame.blocks[block], f"{block}_"

    def _name_columns(self) -> "SparseDesign":
        """Names of the vocabulary columns and the vocabulary's hash index, built once (per call they cost
        more than a one-movie predict)."""
        vocab = getattr(self, "vocab_", {})
        self.names_ = {kind: [f"{kind}={name}" for name in names] for kind, names in vocab.items()}
        self.vocab_index_ = {kind: pd.Index(names) for kind, names in vocab.items()}
        if "words" in self.blocks:
            self.names_["words"] = [f"word={w}" for w in self.tfidf_.get_feature_names_out()]
        return self

    def transform(self, frame: MovieFrame) -> Sparse:
        parts: list[sp.spmatrix] = []
        columns: list[str] = []
        if "tabular" in self.blocks:
            dense = _dense_tabular(frame.tabular)
            splines = self.spline_.transform(dense[list(SPLINE_COLUMNS)])
            scaled = self.scaler_.transform(dense[self.scaler_.feature_names_in_])
            parts += [sp.csr_matrix(splines), sp.csr_matrix(scaled)]
            columns += list(self.spline_.get_feature_names_out()) + list(self.scaler_.feature_names_in_)
        if "names" in self.blocks:
            for kind in self.kinds:
                parts.append(self._credits(frame, kind))
                columns += self.names_[kind]
        if "words" in self.blocks:
            parts.append(self.tfidf_.transform(frame.texts))
            columns += self.names_["words"]
        for block in self._embedding_blocks(frame):
            vectors, prefix = self._vectors(frame, block)
            parts.append(_dense_csr(vectors))
            columns += [f"{prefix}{i + 1}" for i in range(vectors.shape[1])]
        return Sparse(sp.hstack(parts, format="csr", dtype=np.float64), columns)

    def _credits(self, frame: MovieFrame, kind: str) -> sp.csr_matrix:
        """Billing-weighted incidence over the fitted vocabulary (names unseen at fit time are dropped)."""
        coo = frame.credits[kind].matrix.tocoo()
        column = self.vocab_index_[kind].get_indexer(frame.credits[kind].names)[coo.col]   # -1: unseen
        keep = column >= 0
        return sp.csr_matrix((self.billing_decay ** (coo.data[keep] - 1.0), (coo.row[keep], column[keep])),
                             shape=(coo.shape[0], len(self.vocab_[kind])))

    def save(self, folder: Path, dump: Callable[[Any, Path], None]) -> None:
        if "tabular" in self.blocks:
            dump(self.spline_, folder / "spline.skops")
            dump(self.scaler_, folder / "scaler.skops")
        for block, pca in self.pca_.items():
            dump(pca, folder / f"design_pca_{block}.skops")
        tables = {k: pd.DataFrame({"name": v}) for k, v in getattr(self, "vocab_", {}).items()}
        if "words" in self.blocks:        # as arrays: skops takes ~25 s for a 40k-entry vocabulary dict
            terms = self.tfidf_.get_feature_names_out().astype(object)
            tables["words"] = pd.DataFrame({"term": terms, "idf": self.tfidf_.idf_})
        save_tables(folder / "vocab.npz", {}, tables)

    def load(self, folder: Path, load: Callable[[Path], Any]) -> "SparseDesign":
        if "tabular" in self.blocks:
            self.spline_, self.scaler_ = load(folder / "spline.skops"), load(folder / "scaler.skops")
        self.pca_ = {path.stem.removeprefix("design_pca_"): load(path)
                     for path in sorted(folder.glob("design_pca_*.skops"))}
        _, tables = load_tables(folder / "vocab.npz")
        if "names" in self.blocks:
            self.vocab_ = {k: tables[k]["name"].to_numpy(object) for k in self.kinds}
        if "words" in self.blocks:
            self.tfidf_ = _tfidf(vocabulary=list(tables["words"]["term"]))
            self.tfidf_.idf_ = tables["words"]["idf"].to_numpy()
        return self._name_columns()


def _tfidf(**params: Any) -> "TfidfVectorizer":
    return tfidf("words", **params)
