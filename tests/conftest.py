"""What every test module shares: tests marked `shared_data` skip, with the reason, where
the shared datasets are absent (a clone without the folder beside it)."""

from __future__ import annotations

import pytest

from helpers import SHARED_DATA


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if SHARED_DATA.is_dir():
        return
    skip = pytest.mark.skip(reason=f"needs the shared datasets in {SHARED_DATA}, absent here")
    for item in items:
        if item.get_closest_marker("shared_data") is not None:
            item.add_marker(skip)
