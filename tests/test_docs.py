"""The README stays a newcomer's page; the long form lives in docs/ and the files it names exist.
docs/params.md is generated from pipeline/config.py, so every key is described there and nowhere by hand."""
from __future__ import annotations

import re

from pydantic import BaseModel, Field

from pipeline.config import PROJECT_ROOT, Config, Section
from pipeline.params_reference import COMMAND, render, walk


def test_the_readme_is_short_and_its_pointers_exist() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    assert len(readme.rstrip("\n").split("\n")) < 150
    for name in set(re.findall(r"`((?:docs|tests|benchmarks)/[\w./]+\.(?:md|py))`", readme)):
        assert (PROJECT_ROOT / name).is_file(), name


def test_the_architecture_points_to_the_params_reference() -> None:
    architecture = (PROJECT_ROOT / "docs" / "architecture.md").read_text()
    assert "`docs/params.md`" in architecture and COMMAND in architecture


def test_the_params_reference_is_generated_from_the_config() -> None:
    written = (PROJECT_ROOT / "docs" / "params.md").read_text(encoding="utf-8")
    assert written == render(), f"docs/params.md is out of date with pipeline/config.py: run `{COMMAND}`"


def test_every_params_key_has_a_row_in_the_reference() -> None:
    import yaml
    params = yaml.safe_load((PROJECT_ROOT / "params.yaml").read_text())
    reference = (PROJECT_ROOT / "docs" / "params.md").read_text()
    keys = [name for name, value in params.items() if not isinstance(value, dict) or name == "profiles"]
    keys += [f"{name}.{key}" for name, value in params.items() if isinstance(value, dict) and name != "profiles"
             for key in value]
    # a nested section (ablation.greenlight) is described by its own keys' rows
    missing = [key for key in keys if f"| `{key}` |" not in reference and f"| `{key}." not in reference]
    assert not missing, f"params.yaml keys docs/params.md does not describe: {missing}"


def undescribed(model: type[BaseModel]) -> list[str]:
    return [key for key, field in walk(model, sections=True) if not (field.description or "").strip()]


def defaulted(model: type[BaseModel]) -> list[str]:
    return [key for key, field in walk(model, sections=True) if not field.is_required()]


def test_every_config_field_is_described_and_has_no_default() -> None:
    bare, loose = undescribed(Config), defaulted(Config)
    assert not bare, f"config fields without a description (docs/params.md is made of them): {bare}"
    assert not loose, f"config fields with a default (every value must come from params.yaml): {loose}"

    class Inner(Section):            # the checks bite: a bare field, a default, one level down
        bare: int
        loose: int = Field(1, description="has a default")

    class Outer(Section):
        inner: Inner = Field(description="a section")

    assert undescribed(Outer) == ["inner.bare"]
    assert defaulted(Outer) == ["inner.loose"]


def test_every_benchmark_imports() -> None:
    """A benchmark is run by hand, rarely: one that no longer imports (a moved helper) fails here, not months later
    in front of its reader. Each runs nothing at import (its work is under `if __name__ == "__main__"`)."""
    import importlib
    for script in sorted((PROJECT_ROOT / "benchmarks").glob("*.py")):
        importlib.import_module(script.stem)          # benchmarks/ is on the path (pyproject's pythonpath)
