"""Predict a movie's rating before it is made. The Python API: `from pipeline import Model` (pipeline/api.py)."""
from __future__ import annotations

from typing import Any

_API = ("Model", "Explanation")


def __getattr__(name: str) -> Any:
    """The API loads on first use, so `python -m pipeline --help` does not import the model stack."""
    if name in _API:
        from pipeline import api
        return getattr(api, name)
    if name == "InputError":
        from pipeline.errors import InputError
        return InputError
    raise AttributeError(f"module 'pipeline' has no attribute '{name}'")


__all__ = [*_API, "InputError"]
