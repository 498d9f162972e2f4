"""Where errors are translated (issue 26, item 5): the stages that read data turn DuckDB's
data errors into one `error:` line naming the input; anything later is a bug."""

from __future__ import annotations

import pytest

from helpers import SHARED_DATA
from segmint import segment

DATA = SHARED_DATA
pytestmark = pytest.mark.shared_data


def test_a_duckdb_error_after_the_reading_stages_is_a_bug_not_bad_input(monkeypatch) -> None:
    """Only the stages that read the inputs turn DuckDB's data errors into "cannot be read"
    (exit 2); later, the data is in memory and such an error is a bug (issue 26, item 5)."""
    import duckdb

    from segmint import sequence
    from segmint.engines import local
    from segmint.errors import InputError

    def broken(*args, **kwargs):
        raise duckdb.InvalidInputException("a query of the profile stage failed")

    monkeypatch.setattr(sequence, "_profile", broken)
    with pytest.raises(duckdb.InvalidInputException, match="profile stage"):
        segment(DATA / "online_retail_sample.csv", k=3, n_init=1)
    monkeypatch.setattr(local, "open_lines", broken)
    with pytest.raises(InputError, match=r"online_retail_sample\.csv: cannot be read"):
        segment(DATA / "online_retail_sample.csv", k=3, n_init=1)
