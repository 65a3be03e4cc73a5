"""The two install paths agree: pyproject.toml's compatible ranges admit requirements.txt's exact pins."""
from __future__ import annotations

import tomllib

from packaging.requirements import Requirement

from pipeline.config import PROJECT_ROOT


def pins(file: str) -> dict[str, str]:
    lines = (PROJECT_ROOT / file).read_text().splitlines()
    reqs = [Requirement(line.split(" #")[0].strip()) for line in lines
            if line.strip() and not line.startswith(("#", "-r"))]
    return {r.name.lower(): str(r.specifier).removeprefix("==") for r in reqs}


def test_pyproject_ranges_admit_the_pinned_versions() -> None:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    ranges = {Requirement(d).name.lower(): Requirement(d).specifier for d in project["dependencies"]}
    pinned = pins("requirements.txt")
    assert ranges.keys() == pinned.keys()
    for name, version in pinned.items():
        assert version in ranges[name], f"{name}=={version} is outside pyproject's {ranges[name]}"
    extras = {Requirement(d).name.lower(): Requirement(d).specifier
              for deps in project["optional-dependencies"].values() for d in deps}
    for file in ("requirements-postgres.txt", "requirements-image.txt"):
        for name, version in pins(file).items():
            assert name in ranges or version in extras[name], f"{file}: {name}=={version} not in an extra"


def test_no_cuda_build_of_xgboost() -> None:
    assert "xgboost" not in pins("requirements.txt") and "xgboost-cpu" in pins("requirements.txt")
