"""segmint.io.inspect: what the mapping page shows before a run (roles, preview, cleaning)."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import DROP_REASONS, write_csv
from segmint.cli import main
from segmint.datasets import demo_path
from segmint.errors import InputError
from segmint.io.inspect import inspect_inputs
from segmint.runs import error_line


def test_demo_roles_preview_and_drop_counts() -> None:
    found = inspect_inputs([str(demo_path())])
    assert found.error is None
    assert found.roles == {
        "customer_id": "CustomerID",
        "date": "InvoiceDate",
        "order_id": "InvoiceNo",
        "quantity": "Quantity",
        "unit_price": "UnitPrice",
        "product_id": "StockCode",
    }
    assert found.columns[:3] == ["InvoiceNo", "StockCode", "Description"]
    assert len(found.preview) == 10
    # the first line of the file, kept as written (the id's float form included)
    assert found.preview[0][found.columns.index("CustomerID")] == "17850.0"
    assert found.preview[0][found.columns.index("InvoiceDate")] == "2010-12-01 08:26:00"
    assert found.date_format == "ISO 8601"
    assert list(found.rows_dropped) == list(DROP_REASONS)
    assert found.rows_dropped["missing_customer_id"] > 0
    returns = next(rule for rule in found.cleaning if "return" in rule)
    assert "('InvoiceNo') starting with C" in returns and "'Quantity'" in returns


def test_drop_counts_equal_the_runs(tmp_path: Path) -> None:
    from segmint.pipeline import segment

    path = write_csv(
        tmp_path / "t.csv",
        ["cust", "date", "amount"],
        [["a", "2024-01-01", "10"], ["a", "2024-01-01", "10"], ["", "2024-01-02", "5"],
         ["b", "nope", "3"], ["b", "2024-02-01", "0"], ["b", "2024-02-03", "4"],
         ["c", "2024-02-05", "7"], ["d", "2024-02-06", "8"], ["e", "2024-03-01", "9"]],
    )  # fmt: skip
    found = inspect_inputs([str(path)])
    run = segment([str(path)], k=2, clv=False)
    assert found.rows_read == run.summary["input"]["rows_read"] == 9
    assert found.rows_dropped == {r: run.summary["input"]["rows_dropped"].get(r, 0)
                                  for r in DROP_REASONS}  # fmt: skip
    assert found.rows_dropped["duplicate"] == 1 and found.rows_dropped["bad_date"] == 1


def test_override_changes_the_roles(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "t.csv",
        ["customer", "buyer", "date", "total"],
        [["a", "x", "2024-01-01", "1"], ["b", "y", "2024-01-02", "2"]],
    )
    assert inspect_inputs([str(path)]).roles["customer_id"] == "customer"
    found = inspect_inputs([str(path)], columns={"customer_id": "buyer"})
    assert found.error is None and found.roles["customer_id"] == "buyer"


def test_missing_role_is_returned_with_the_runs_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    write_csv(tmp_path / "t.csv", ["who", "when", "total"], [["a", "2024-01-01", "1"]])
    monkeypatch.chdir(tmp_path)
    found = inspect_inputs(["t.csv"])
    assert found.roles == {} and found.columns == ["who", "when", "total"]
    assert found.preview == [["a", "2024-01-01", "1"]]
    assert main(["run", "t.csv", "--out", "out", "--quiet"]) == 2
    assert error_line(found.error) == capsys.readouterr().err.strip()
    assert "--column customer_id=NAME" in found.error


def test_unreadable_file_raises_as_a_run_would(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(bytes(range(256)) * 20)
    with pytest.raises(InputError, match="binary content"):
        inspect_inputs([str(path)])


def test_error_line_collapses_whitespace() -> None:
    assert error_line("a.csv:\n  no column\tfor x") == "error: a.csv: no column for x"
