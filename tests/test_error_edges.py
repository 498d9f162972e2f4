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


def test_an_input_error_names_the_file_as_a_field_too(tmp_path) -> None:
    from segmint.errors import InputError

    broken = tmp_path / "orders.csv.gz"
    broken.write_bytes(b"\x1f\x8b\x08\x00 not really gzip")
    with pytest.raises(InputError) as error:
        segment(broken, k=3)
    assert error.value.file == str(broken)
    assert str(error.value).startswith(f"{broken}: ")


def test_a_column_error_names_the_file_and_the_column_as_fields(tmp_path) -> None:
    from segmint.errors import InputError

    log = tmp_path / "orders.csv"
    log.write_text("customer_id,date,amount\nc1,2024-01-02,10\nc2,2024-01-03,12\n")
    with pytest.raises(InputError) as error:
        segment(log, k=3, columns={"amount": "total"})
    assert (error.value.file, error.value.column) == (str(log), "total")
