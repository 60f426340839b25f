"""The packaging configuration names every folder Python sees as a package, so pip builds quietly."""

from __future__ import annotations

import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_every_importable_folder_is_a_listed_package_with_its_data() -> None:
    """Each identifier-named folder under the packages (matchers/data too) is listed, and ships its files."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    listed = set(config["packages"])
    roots = {name for name in listed if "." not in name}
    importable = {
        ".".join(folder.relative_to(REPO).parts)
        for root in roots
        for folder in [REPO / root, *(REPO / root).rglob("*")]
        if folder.is_dir()
        and all(part.isidentifier() for part in folder.relative_to(REPO).parts)
        and "__pycache__" not in folder.parts
        and any(child.is_file() for child in folder.iterdir())
    }
    assert importable - listed == set()
    assert "matchers.data" in config["package-data"]
