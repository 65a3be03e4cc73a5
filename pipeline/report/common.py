"""What every section of the report shares: markdown tables, the figures folder, paired intervals in words."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from pipeline.escape import markdown as md  # noqa: E402

MODALITY_ORDER = {"baseline": 0, "reference": 1, "tabular": 2, "text": 3, "image": 4, "all": 5, "stack": 6}
BLUE, RED, GREY = "#4c72b0", "crimson", "grey"


def markdown_table(df: pd.DataFrame, names: tuple[str, ...] = ()) -> str:
    """A pipe table (no tabulate dependency); the columns in `names` hold text from the data, escaped."""
    cells = df.astype(str).apply(lambda col: col.map(md) if col.name in names else col)
    lines = ["| " + " | ".join(map(str, df.columns)) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(row) + " |" for row in cells.to_numpy()]
    return "\n".join(lines)


class Figures:
    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def save(self, fig: plt.Figure, name: str, alt: str) -> str:
        fig.tight_layout()
        fig.savefig(self.folder / f"{name}.png", dpi=110)
        plt.close(fig)
        return f"![{alt}](figures/{name}.png)"


def within_noise(d: dict) -> bool:
    """A paired difference whose interval holds zero."""
    return d["ci_low"] <= 0 <= d["ci_high"]


def paired(d: dict | None, level: float, digits: int = 4) -> str:
    """"-0.0026 [-0.0069, +0.0020], within noise": a paired difference with its interval ("" if absent)."""
    if d is None:
        return ""
    f = f"+.{digits}f"
    return (f"{d['difference']:{f}} [{d['ci_low']:{f}}, {d['ci_high']:{f}}] ({level:.0%} paired interval"
            f"{'; within noise' if within_noise(d) else ''})")
