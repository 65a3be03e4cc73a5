"""The seed solution's multi-modal network, as a comparison learner (PyTorch, CPU).

One branch per modality, as in the seed's README: tabular -> 8 -> 4, text -> 128 -> 64, image -> 128 -> 64
(when present), concatenated -> 128 -> 64 -> 32 -> 1, with batch norm, ReLU and dropout; Adam, a
reduce-on-plateau learning-rate schedule and early stopping on an inner validation split of the rows it
is fitted on. It reads the same leak-free features as `all_lgbm` (facts, credit history, entity encodings
when they are on, PCA of the text and image vectors), so it is compared on equal terms. One deviation:
tagline and description share the text branch, because they arrive as one PCA-reduced text block.

Weights are saved as plain arrays (NPZ) and JSON, never pickled.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.io import load_arrays, read_json
from pipeline.model.heads import Head

BRANCHES = {"tabular": (8, 4), "text": (128, 64), "image": (128, 64)}
TRUNK = (128, 64, 32)


def branch_of(column: str) -> str:
    for block in ("text", "image"):
        if column.startswith(f"{block}_pc"):
            return block
    return "tabular"


def _numeric(X: pd.DataFrame) -> pd.DataFrame:
    """Categoricals as one-hot columns (their categories are fixed, so columns match across calls)."""
    cats = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
    return pd.get_dummies(X, columns=cats, dtype=np.float64).astype(np.float64)


def _build(layout: dict[str, int], dropout: float) -> Any:
    import torch
    from torch import nn

    def block(sizes: tuple[int, ...], n_in: int) -> nn.Sequential:
        layers: list[nn.Module] = []
        for size in sizes:
            layers += [nn.Linear(n_in, size), nn.BatchNorm1d(size), nn.ReLU(), nn.Dropout(dropout)]
            n_in = size
        return nn.Sequential(*layers)

    class SeedNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.names = list(layout)
            self.branches = nn.ModuleList(block(BRANCHES[name], layout[name]) for name in self.names)
            self.trunk = block(TRUNK, sum(BRANCHES[name][-1] for name in self.names))
            self.out = nn.Linear(TRUNK[-1], 1)

        def forward(self, parts: list[torch.Tensor]) -> torch.Tensor:
            joined = torch.cat([branch(x) for branch, x in zip(self.branches, parts)], dim=1)
            return self.out(self.trunk(joined)).squeeze(1)

    return SeedNet()


class SeedNetHead(Head):
    @classmethod
    def parameters(cls) -> frozenset[str]:
        return frozenset({"epochs", "batch_size", "learning_rate", "dropout", "weight_decay", "patience",
                          "validation_fraction"})

    def _parts(self, X: pd.DataFrame) -> list[Any]:
        import torch
        Z = _numeric(X).reindex(columns=self.columns_, fill_value=0.0).to_numpy(np.float64)
        Z = np.nan_to_num((Z - self.mean_) / self.scale_, nan=0.0, posinf=0.0, neginf=0.0)
        return [torch.tensor(Z[:, self.groups_[name]], dtype=torch.float32) for name in self.layout_]

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> "SeedNetHead":
        import torch
        torch.manual_seed(self.seed)
        Z = _numeric(X)
        self.columns_ = list(Z.columns)
        values = Z.to_numpy(np.float64)
        self.mean_ = np.nan_to_num(np.nanmean(values, axis=0))
        self.scale_ = np.nan_to_num(np.nanstd(values, axis=0), nan=1.0)
        self.scale_[self.scale_ < 1e-12] = 1.0
        branch = np.array([branch_of(c) for c in self.columns_])
        self.groups_ = {name: np.flatnonzero(branch == name).tolist() for name in BRANCHES if (branch == name).any()}
        self.layout_ = {name: len(cols) for name, cols in self.groups_.items()}
        self.y_mean_, self.y_scale_ = float(np.mean(y)), float(np.std(y)) or 1.0
        target = torch.tensor((np.asarray(y) - self.y_mean_) / self.y_scale_, dtype=torch.float32)
        parts = self._parts(X)

        rng = np.random.default_rng(self.seed)
        order = rng.permutation(len(target))
        n_val = max(1, int(len(order) * self.params["validation_fraction"]))
        val, fit = order[:n_val], order[n_val:]
        self.model_ = _build(self.layout_, self.params["dropout"])
        optimiser = torch.optim.Adam(self.model_.parameters(), lr=self.params["learning_rate"],
                                     weight_decay=self.params["weight_decay"])
        schedule = torch.optim.lr_scheduler.ReduceLROnPlateau(optimiser, factor=0.5,
                                                              patience=self.params["patience"] // 3)
        best, best_state, waited = np.inf, None, 0
        batch = int(self.params["batch_size"])
        for _ in range(int(self.params["epochs"])):
            self.model_.train()
            shuffled = fit[rng.permutation(len(fit))]
            for start in range(0, len(shuffled) - 1, batch):
                idx = shuffled[start:start + batch]
                if len(idx) < 2:        # batch norm needs two rows
                    continue
                optimiser.zero_grad()
                loss = torch.mean((self.model_([p[idx] for p in parts]) - target[idx]) ** 2)
                loss.backward()
                optimiser.step()
            self.model_.eval()
            with torch.no_grad():
                val_loss = float(torch.mean((self.model_([p[val] for p in parts]) - target[val]) ** 2))
            schedule.step(val_loss)
            if val_loss < best - 1e-6:
                best, waited = val_loss, 0
                best_state = {k: v.detach().clone() for k, v in self.model_.state_dict().items()}
            else:
                waited += 1
                if waited >= self.params["patience"]:
                    break
        self.model_.load_state_dict(best_state)
        self.model_.eval()
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        import torch
        with torch.no_grad():
            out = self.model_(self._parts(X)).numpy().astype(np.float64)
        return out * self.y_scale_ + self.y_mean_

    def importance(self) -> pd.Series:
        """Norm of each input's first-layer weights, on standardised inputs."""
        scores = pd.Series(0.0, index=self.columns_)
        for name, branch in zip(self.model_.names, self.model_.branches):
            weight = branch[0].weight.detach().numpy()
            scores.iloc[self.groups_[name]] = np.linalg.norm(weight, axis=0)
        return scores

    def save(self, folder: Path) -> None:
        state = {k: v.detach().numpy() for k, v in self.model_.state_dict().items()}
        np.savez(folder / "seednet.npz", mean=self.mean_, scale=self.scale_, **{f"w__{k}": v for k, v in state.items()})
        (folder / "seednet.json").write_text(json.dumps({
            "columns": self.columns_, "groups": self.groups_, "layout": self.layout_, "params": self.params,
            "y_mean": self.y_mean_, "y_scale": self.y_scale_}))

    @classmethod
    def load(cls, folder: Path) -> "SeedNetHead":
        import torch
        meta = read_json(folder / "seednet.json")
        head = cls(meta["params"], 0)
        head.columns_, head.groups_, head.layout_ = meta["columns"], meta["groups"], meta["layout"]
        head.y_mean_, head.y_scale_ = meta["y_mean"], meta["y_scale"]
        z = load_arrays(folder / "seednet.npz")
        head.mean_, head.scale_ = z["mean"], z["scale"]
        state = {key[3:]: torch.tensor(z[key]) for key in z if key.startswith("w__")}
        head.model_ = _build(head.layout_, float(meta["params"]["dropout"]))
        head.model_.load_state_dict(state)
        head.model_.eval()
        return head
