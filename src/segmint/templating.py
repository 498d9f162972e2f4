"""The Jinja2 environment every page Segmint renders (report.html, the web app) starts from."""

from __future__ import annotations

import jinja2


def environment(package: str) -> jinja2.Environment:
    """Return an autoescaping environment over the `templates` folder of package."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader(package, "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,  # a missing value is an error, never an empty hole
    )
