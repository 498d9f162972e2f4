"""Load the SQL files of this package and fill their $placeholders."""

from __future__ import annotations

from importlib import resources
from string import Template


def render(name: str, **values: object) -> str:
    """Return the SQL of sql/<name>.sql with its $placeholders replaced."""
    text = resources.files("segmint.features").joinpath("sql", f"{name}.sql").read_text("utf-8")
    return Template(text).substitute({k: str(v) for k, v in values.items()})
