"""Sample data shipped with Segmint (see README.md in this folder for sources and licences)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

DEMO_FILE = "online_retail_sample.csv.gz"


def demo_path() -> Path:
    """Return the path of the demo transaction log (a sample of UCI Online Retail)."""
    return Path(str(resources.files("segmint.datasets").joinpath(DEMO_FILE)))
