"""The README stays a newcomer's page; the long form lives in docs/ and the files it names exist."""
from __future__ import annotations

import re

from pipeline.config import PROJECT_ROOT


def test_the_readme_is_short_and_its_pointers_exist() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    assert len(readme.rstrip("\n").split("\n")) < 150
    for name in set(re.findall(r"`((?:docs|tests|benchmarks)/[\w./]+\.(?:md|py))`", readme)):
        assert (PROJECT_ROOT / name).is_file(), name


def test_every_params_section_is_described_in_the_architecture() -> None:
    import yaml
    params = yaml.safe_load((PROJECT_ROOT / "params.yaml").read_text())
    architecture = (PROJECT_ROOT / "docs" / "architecture.md").read_text()
    missing = [key for key in params if key != "profiles" and f"`{key}" not in architecture]
    assert not missing, f"params.yaml sections docs/architecture.md does not mention: {missing}"
