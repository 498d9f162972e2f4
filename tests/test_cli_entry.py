"""The `segmint` command's entry: main()'s status, with nothing left for exit-time collection."""

from __future__ import annotations

import gc

import pytest

from segmint import cli


@pytest.mark.parametrize("status", [0, 2])
def test_entry_exits_with_mains_status_and_freezes_the_collector(
    monkeypatch: pytest.MonkeyPatch, status: int
) -> None:
    monkeypatch.setattr(cli, "main", lambda: status)
    before = gc.get_freeze_count()
    try:
        with pytest.raises(SystemExit) as exit_:
            cli.entry()
        assert exit_.value.code == status
        assert gc.get_freeze_count() > before
    finally:
        gc.unfreeze()
