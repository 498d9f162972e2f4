"""Reading real-world exports (docs/reference/input.md#file-formats): encodings, delimiters,
number styles and formats.

Every test writes a tiny file and checks per-customer values computed by hand. Unless a test
says otherwise the file holds the same four order lines ("the base table"):

    customer  date        amount
    A         2024-01-10  10.00
    A         2024-01-20   5.50
    B         2024-01-15  20.00
    C         2024-01-31   7.25

as_of = latest date = 2024-01-31, so by hand:
    A: frequency 2, monetary 15.50, recency 31-20 = 11, tenure 31-10 = 21
    B: frequency 1, monetary 20.00, recency 31-15 = 16, tenure 16
    C: frequency 1, monetary  7.25, recency 0,          tenure 0
"""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path

import duckdb
import openpyxl
import pandas as pd
import pytest

from segmint import SegmintError, segment

BASE_ROWS = [
    ("A", "2024-01-10", "10.00"),
    ("A", "2024-01-20", "5.50"),
    ("B", "2024-01-15", "20.00"),
    ("C", "2024-01-31", "7.25"),
]
BASE_EXPECTED = {
    # customer: (frequency, monetary, recency_days, tenure_days)
    "A": (2, 15.5, 11, 21),
    "B": (1, 20.0, 16, 16),
    "C": (1, 7.25, 0, 0),
}


def run(source, **settings) -> pd.DataFrame:
    """Return the per-customer table of a k=2 run, indexed by customer id."""
    result = segment(source, k=2, n_init=2, **settings)
    return result.customers.set_index("customer_id")


def assert_customers(table: pd.DataFrame, expected: dict[str, tuple]) -> None:
    """Check frequency, monetary, recency_days, tenure_days per customer against the hand values."""
    assert sorted(table.index) == sorted(expected)
    for customer, (frequency, monetary, recency, tenure) in expected.items():
        row = table.loc[customer]
        assert row["frequency"] == frequency, customer
        assert row["monetary"] == pytest.approx(monetary, abs=1e-9), customer
        assert row["recency_days"] == recency, customer
        assert row["tenure_days"] == tenure, customer


def write_base(path: Path, delimiter: str = ",", encoding: str = "utf-8", newline: str = "\n"):
    header = delimiter.join(["CustomerID", "InvoiceDate", "Amount"])
    body = [delimiter.join(row) for row in BASE_ROWS]
    path.write_bytes((newline.join([header, *body]) + newline).encode(encoding))
    return path


# Encodings and line endings ----------------------------------------------------------------


def test_utf8_bom_first_column_is_found(tmp_path):
    path = write_base(tmp_path / "bom.csv", encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    result = segment(path, k=2, n_init=2)
    # The BOM is not part of the first column's name: customer_id is found as "CustomerID".
    assert result.summary["input"]["columns"]["customer_id"] == "CustomerID"
    assert_customers(result.customers.set_index("customer_id"), BASE_EXPECTED)


@pytest.mark.parametrize(
    ("encoding", "ids"),
    [
        # '€' is 0x80 in cp1252 (undefined in latin-1); accented ids must come back intact.
        ("cp1252", ["José", "Zoë", "Ærø"]),
        ("latin-1", ["José", "Zoë", "Ærø"]),
    ],
)
def test_legacy_encoding_keeps_text_and_ids(tmp_path, encoding, ids):
    description = "Café € mug" if encoding == "cp1252" else "Crème brûlée set"
    rows = [
        f"{ids[0]};2024-01-10;{description};10.00",
        f"{ids[0]};2024-01-20;{description};5.50",
        f"{ids[1]};2024-01-15;Señor hat;20.00",
        f"{ids[2]};2024-01-31;Straße map;7.25",
    ]
    path = tmp_path / f"{encoding}.csv"
    path.write_bytes(
        ("CustomerID;InvoiceDate;Description;Amount\n" + "\n".join(rows)).encode(encoding)
    )
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")  # really not UTF-8
    expected = dict(zip(ids, BASE_EXPECTED.values(), strict=True))
    assert_customers(run(path), expected)


def test_crlf_line_endings_leave_no_carriage_return(tmp_path):
    # The customer id is the LAST column, so a stray '\r' would end up inside the ids.
    rows = [f"{d},{a},{c}" for c, d, a in BASE_ROWS]
    path = tmp_path / "crlf.csv"
    path.write_bytes(("InvoiceDate,Amount,CustomerID\r\n" + "\r\n".join(rows) + "\r\n").encode())
    table = run(path)
    assert all("\r" not in c for c in table.index)
    assert_customers(table, BASE_EXPECTED)


def test_windows_european_excel_export(tmp_path):
    # Excel "CSV UTF-8" on a European Windows: BOM, CRLF, semicolons, decimal commas, "€".
    rows = ["A;10/01/2024;10,00 €", "A;20/01/2024;5,50 €", "B;15/01/2024;1.020,00 €"]
    rows.append("C;31/01/2024;7,25 €")
    path = tmp_path / "export.csv"
    path.write_bytes(
        ("Kundennummer;Datum;Umsatz\r\n" + "\r\n".join(rows) + "\r\n").encode("utf-8-sig")
    )
    table = run(path, columns={"customer_id": "Kundennummer", "date": "Datum", "amount": "Umsatz"})
    # B spent 1020.00; dates are day-first (31/01 exists only day-first).
    assert_customers(
        table, {"A": (2, 15.5, 11, 21), "B": (1, 1020.0, 16, 16), "C": (1, 7.25, 0, 0)}
    )


def test_utf16_tab_separated_unicode_text(tmp_path):
    # Excel's "Unicode Text" export: UTF-16 with a BOM, tab-separated, CRLF.
    lines = ["CustomerID\tInvoiceDate\tAmount"] + ["\t".join(r) for r in BASE_ROWS]
    path = tmp_path / "unicode.txt"
    path.write_bytes("\r\n".join(lines).encode("utf-16"))
    assert_customers(run(path), BASE_EXPECTED)


# Delimiters and number styles --------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters(tmp_path, delimiter):
    path = write_base(tmp_path / "d.csv", delimiter=delimiter)
    assert_customers(run(path), BASE_EXPECTED)


def test_delimiter_with_text_containing_other_delimiters(tmp_path):
    # Semicolon file whose description holds commas and a quoted semicolon.
    path = tmp_path / "semi.csv"
    path.write_text(
        "CustomerID;InvoiceDate;Description;Amount\n"
        'A;2024-01-10;"cup, blue";10.00\n'
        'A;2024-01-20;"plate; large";5.50\n'
        "B;2024-01-15;bowl, red, small;20.00\n"
        "C;2024-01-31;spoon;7.25\n",
        encoding="utf-8",
    )
    assert_customers(run(path), BASE_EXPECTED)


def test_decimal_comma_with_semicolon(tmp_path):
    path = tmp_path / "eu.csv"
    path.write_text(
        "Kunde;Datum;Betrag\n"
        "A;2024-01-10;12,50\n"
        "A;2024-01-20;1.234,50\n"
        "B;2024-01-15;7\n"
        "C;2024-01-31;0,25\n",
        encoding="utf-8",
    )
    # A: 12.50 + 1234.50 = 1247.00; B: 7; C: 0.25
    table = run(path, columns={"customer_id": "Kunde", "date": "Datum", "amount": "Betrag"})
    assert_customers(table, {"A": (2, 1247.0, 11, 21), "B": (1, 7.0, 16, 16), "C": (1, 0.25, 0, 0)})


def test_currency_symbols_and_thousands_separators(tmp_path):
    path = tmp_path / "money.csv"
    path.write_text(
        "CustomerID,InvoiceDate,Amount\n"
        'A,2024-01-10,"$1,200.00"\n'
        "A,2024-01-20,$5.50\n"
        'B,2024-01-15,"$2,000"\n'
        "C,2024-01-31,$7.25\n",
        encoding="utf-8",
    )
    # A: 1200 + 5.50 = 1205.50; B: 2000; C: 7.25
    assert_customers(
        run(path), {"A": (2, 1205.5, 11, 21), "B": (1, 2000.0, 16, 16), "C": (1, 7.25, 0, 0)}
    )


def test_whitespace_separated_columns_with_header(tmp_path):
    # CDNOW-like: runs of spaces between columns, zero-padded ids, YYYYMMDD dates.
    path = tmp_path / "cdnow.txt"
    path.write_text(
        "customer    date      quantity    amount\n"
        "00004   19970101    2    29.33\n"
        "00004   19970118    2    29.73\n"
        "00018   19970102    2    33.23\n"
        "00021   19970101    3    12.00\n"
        "00021   19970101    1     5.00\n",
        encoding="utf-8",
    )
    # as_of 1997-01-18. 00004: 2 orders, 59.06, recency 0, tenure 17.
    # 00018: 1 order, 33.23, recency 16, tenure 16.
    # 00021: two lines at one timestamp = one order, 17.00, recency 17, tenure 17.
    table = run(path)
    assert_customers(
        table,
        {
            "00004": (2, 59.06, 0, 17),
            "00018": (1, 33.23, 16, 16),
            "00021": (1, 17.0, 17, 17),
        },
    )
    assert table.loc["00021", "quantity"] == 4  # 3 + 1 units


def test_leading_zero_ids_stay_distinct_text(tmp_path):
    # 00042, 042 and 42 are three different customers when ids are kept as written.
    path = tmp_path / "ids.csv"
    path.write_text(
        "CustomerID,InvoiceDate,Amount\n"
        "00042,2024-01-10,10.00\n"
        "00042,2024-01-20,5.50\n"
        "042,2024-01-15,20.00\n"
        "  42 ,2024-01-31,7.25\n",  # trimmed
        encoding="utf-8",
    )
    table = run(path)
    assert_customers(
        table,
        {"00042": BASE_EXPECTED["A"], "042": BASE_EXPECTED["B"], "42": BASE_EXPECTED["C"]},
    )
    assert all(isinstance(c, str) for c in table.index)


# Other formats -----------------------------------------------------------------------------


def test_gzipped_csv(tmp_path):
    path = tmp_path / "log.csv.gz"
    text = "CustomerID,InvoiceDate,Amount\n" + "\n".join(",".join(r) for r in BASE_ROWS) + "\n"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write(text)
    assert_customers(run(path), BASE_EXPECTED)


def test_gzipped_cp1252_csv(tmp_path):
    path = tmp_path / "log.csv.gz"
    text = "Customer;Date;Amount\nJosé;2024-01-10;10\nJosé;2024-01-20;5,50\nZoë;2024-01-15;20\n"
    text += "Ann;2024-01-31;7,25\n"
    with gzip.open(path, "wb") as handle:
        handle.write(text.encode("cp1252"))
    expected = dict(zip(["José", "Zoë", "Ann"], BASE_EXPECTED.values(), strict=True))
    assert_customers(run(path), expected)


def test_parquet_with_typed_columns(tmp_path):
    # Integer ids, real timestamps and float amounts: ids come back as text.
    frame = pd.DataFrame(
        {
            "customer_id": [101, 101, 102, 103],
            "order_date": pd.to_datetime(
                ["2024-01-10 00:00", "2024-01-20 13:45", "2024-01-15 00:00", "2024-01-31 00:00"]
            ),
            "amount": [10.0, 5.5, 20.0, 7.25],
        }
    )
    path = tmp_path / "log.parquet"
    frame.to_parquet(path)
    expected = dict(zip(["101", "102", "103"], BASE_EXPECTED.values(), strict=True))
    assert_customers(run(path), expected)


def test_parquet_keeps_leading_zero_text_ids(tmp_path):
    frame = pd.DataFrame(
        {
            "cust": ["007", "007", "070", "700"],
            "date": ["2024-01-10", "2024-01-20", "2024-01-15", "2024-01-31"],
            "total": ["10.00", "5.50", "20.00", "7.25"],
        }
    )
    path = tmp_path / "log.parquet"
    frame.to_parquet(path)
    expected = dict(zip(["007", "070", "700"], BASE_EXPECTED.values(), strict=True))
    assert_customers(run(path), expected)


def test_excel_with_datetime_cells(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Customer ID", "Invoice Date", "Quantity", "Unit Price"])
    sheet.append(["A", dt.datetime(2010, 12, 1, 8, 26), 2, 5.0])
    sheet.append(["A", dt.datetime(2010, 12, 11, 23, 59), 1, 5.5])
    sheet.append(["B", dt.datetime(2010, 12, 6, 12, 0), 4, 5.0])
    sheet.append(["C", dt.datetime(2010, 12, 21, 0, 0), 1, 7.25])
    path = tmp_path / "log.xlsx"
    book.save(path)
    # as_of 2010-12-21. A: 2*5 + 1*5.5 = 15.5, orders on 12-01 and 12-11: recency 10, tenure 20.
    # B: 4*5 = 20, recency 15. C: 7.25, recency 0.
    assert_customers(
        run(path), {"A": (2, 15.5, 10, 20), "B": (1, 20.0, 15, 15), "C": (1, 7.25, 0, 0)}
    )


def test_excel_serial_day_numbers(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["CustomerID", "InvoiceDate", "Amount"])
    # Excel day 40513 = 2010-12-01 (day 0 is 1899-12-30); .5 = 12:00.
    sheet.append([17850, 40513.5, 10.0])  # 2010-12-01 12:00
    sheet.append([17850, 40523.25, 5.5])  # 2010-12-11 06:00
    sheet.append([13047, 40518, 20.0])  # 2010-12-06
    sheet.append([12583, 40533.999, 7.25])  # 2010-12-21 23:58:33.6
    path = tmp_path / "serial.xlsx"
    book.save(path)
    result = segment(path, k=2, n_init=2)
    assert result.summary["input"]["period"]["start"].startswith("2010-12-01T12:00")
    assert result.summary["input"]["as_of"] == "2010-12-21"
    # The integer ids are written by Excel as numbers; they come back as "17850", not "17850.0".
    assert_customers(
        result.customers.set_index("customer_id"),
        {"17850": (2, 15.5, 10, 20), "13047": (1, 20.0, 15, 15), "12583": (1, 7.25, 0, 0)},
    )


def test_excel_number_too_large_for_a_serial_day_is_a_bad_date(tmp_path):
    # 20101201083000 (a compact timestamp among serial days) once overflowed the cast to
    # microseconds and stopped the run with DuckDB's conversion error.
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["CustomerID", "InvoiceDate", "Amount"])
    sheet.append(["A", 40513.5, 10.0])  # 2010-12-01 12:00
    sheet.append(["A", 40523.25, 5.5])  # 2010-12-11 06:00
    sheet.append(["B", 40518, 20.0])  # 2010-12-06
    sheet.append(["C", 40533, 7.25])  # 2010-12-21
    sheet.append(["D", 20101221000000, 3.0])
    path = tmp_path / "mixed.xlsx"
    book.save(path)
    result = segment(path, k=2, n_init=2)
    assert result.summary["input"]["rows_dropped"]["bad_date"] == 1
    assert result.summary["input"]["period"]["end"].startswith("2010-12-21T00:00")
    assert sorted(result.customers["customer_id"]) == ["A", "B", "C"]


def test_excel_written_by_pandas(tmp_path):
    frame = pd.DataFrame(
        {
            "CustomerID": ["A", "A", "B", "C"],
            "InvoiceDate": pd.to_datetime([d for _, d, _ in BASE_ROWS]),
            "Amount": [10.0, 5.5, 20.0, 7.25],
        }
    )
    path = tmp_path / "pandas.xlsx"
    frame.to_excel(path, index=False)
    assert_customers(run(path), BASE_EXPECTED)


def test_duckdb_table(tmp_path):
    db = tmp_path / "shop.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE sales (cust VARCHAR, order_date TIMESTAMP, total DECIMAL(10, 2))")
        con.executemany(
            "INSERT INTO sales VALUES (?, ?, ?)",
            [[c, d, a] for c, d, a in BASE_ROWS],
        )
        con.execute("CREATE TABLE other (x INTEGER)")
    assert_customers(run(f"duckdb:{db}::sales"), BASE_EXPECTED)


def test_duckdb_missing_table_is_an_error(tmp_path):
    db = tmp_path / "shop.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE sales (cust VARCHAR)")
    with pytest.raises(SegmintError, match="nosuch"):
        segment(f"duckdb:{db}::nosuch", k=2)


def test_several_files_are_combined(tmp_path):
    # Two exports of the same shop, columns in a different order; A appears in both.
    first = tmp_path / "jan_a.csv"
    first.write_text("CustomerID,InvoiceDate,Amount\nA,2024-01-10,10.00\nB,2024-01-15,20.00\n")
    second = tmp_path / "jan_b.csv"
    second.write_text("Amount,CustomerID,InvoiceDate\n5.50,A,2024-01-20\n7.25,C,2024-01-31\n")
    result = segment([first, second], k=2, n_init=2)
    assert result.summary["input"]["rows_read"] == 4
    assert_customers(result.customers.set_index("customer_id"), BASE_EXPECTED)


def test_several_files_of_different_formats(tmp_path):
    csv = tmp_path / "a.csv"
    csv.write_text("CustomerID;InvoiceDate;Amount\nA;2024-01-10;10\nB;2024-01-15;20\n")
    parquet = tmp_path / "b.parquet"
    pd.DataFrame(
        {
            "CustomerID": ["A", "C"],
            "InvoiceDate": ["2024-01-20", "2024-01-31"],
            "Amount": [5.5, 7.25],
        }
    ).to_parquet(parquet)
    assert_customers(run([csv, parquet]), BASE_EXPECTED)


# Columns by role ---------------------------------------------------------------------------


def test_column_override(tmp_path):
    # None of these names is recognised: only --column makes the file usable.
    path = tmp_path / "odd.csv"
    path.write_text(
        "Who,When,Paid\nA,2024-01-10,10\nA,2024-01-20,5.5\nB,2024-01-15,20\nC,2024-01-31,7.25\n"
    )
    with pytest.raises(SegmintError, match="--column"):
        segment(path, k=2)
    table = run(path, columns={"customer_id": "Who", "date": "When", "amount": "Paid"})
    assert_customers(table, BASE_EXPECTED)


def test_column_override_resolves_two_candidates(tmp_path):
    # Both "Amount" and "Total" could be the amount; Total is net of a discount.
    path = tmp_path / "two.csv"
    path.write_text(
        "CustomerID,InvoiceDate,Amount,Total\n"
        "A,2024-01-10,11,10\n"
        "A,2024-01-20,6,5.5\n"
        "B,2024-01-15,21,20\n"
        "C,2024-01-31,8,7.25\n"
    )
    with pytest.raises(SegmintError, match=r"(?s)amount.*Amount.*Total.*--column"):
        segment(path, k=2)
    assert_customers(run(path, columns={"amount": "Total"}), BASE_EXPECTED)
    # The other choice gives A: 11 + 6 = 17, B: 21, C: 8.
    assert_customers(
        run(path, columns={"amount": "Amount"}),
        {"A": (2, 17.0, 11, 21), "B": (1, 21.0, 16, 16), "C": (1, 8.0, 0, 0)},
    )


def test_override_of_missing_column_is_an_error(tmp_path):
    path = write_base(tmp_path / "base.csv")
    with pytest.raises(SegmintError, match="Nope"):
        segment(path, k=2, columns={"amount": "Nope"})


@pytest.mark.parametrize(
    "header",
    [
        ["CUSTOMER ID", "Order-Date", "QTY", "Unit_Price"],
        ["customer_id", "invoice date", "Quantity", "unit-price"],
        ["Cust-ID", "TRANSACTION_DATE", "units", "PRICE"],
        ["Client ID", "Purchase Date", "q t y", "Price-Each"],
    ],
)
def test_role_detection_ignores_case_space_underscore_hyphen(tmp_path, header):
    path = tmp_path / "roles.csv"
    path.write_text(
        ",".join(header) + "\n"
        "A,2024-01-10,2,5.00\n"
        "A,2024-01-20,1,5.50\n"
        "B,2024-01-15,4,5.00\n"
        "C,2024-01-31,1,7.25\n"
    )
    # Amount = quantity × unit price: A 2*5 + 1*5.5 = 15.5, B 4*5 = 20, C 7.25.
    result = segment(path, k=2, n_init=2)
    columns = result.summary["input"]["columns"]
    assert columns["customer_id"] == header[0]
    assert columns["date"] == header[1]
    assert columns["quantity"] == header[2]
    assert columns["unit_price"] == header[3]
    table = result.customers.set_index("customer_id")
    assert_customers(table, BASE_EXPECTED)
    assert table.loc["B", "quantity"] == 4
    assert table.loc["A", "avg_unit_price"] == pytest.approx(15.5 / 3)


def test_header_matching_no_required_role_lists_columns(tmp_path):
    path = tmp_path / "nodate.csv"
    path.write_text("CustomerID,Amount\nA,1\nB,2\nC,3\n")
    with pytest.raises(SegmintError, match=r"date.*'CustomerID', 'Amount'"):
        segment(path, k=2)


def test_encoding_check_skips_ascii_but_not_a_split_character(tmp_path, monkeypatch):
    # Chunks of 8 bytes: a two-byte 'é' split across a chunk boundary, then ASCII chunks.
    from segmint.io import text

    monkeypatch.setattr(text, "_CHUNK", 8)
    path = tmp_path / "a.csv"
    path.write_bytes(b"ab" + "é".encode() + b"cdefghijklmnopqrstuvwxyz\n")
    assert text.detect_encoding(path, False) == "utf-8"
    # The continuation byte alone, at the start of an otherwise ASCII chunk, is not UTF-8.
    path.write_bytes(b"abcd" + "é".encode()[:1] + b"xyzabcdefgh\n")
    assert text.detect_encoding(path, False) == "cp1252"
    # An invalid byte long after many ASCII chunks is still found.
    path.write_bytes(b"x" * 1000 + "€".encode("cp1252") + b"\n")
    assert text.detect_encoding(path, False) == "cp1252"


@pytest.mark.parametrize("compressed", [False, True])
def test_legacy_bytes_past_the_checked_head_are_read_as_cp1252(tmp_path, monkeypatch, compressed):
    # The run checks only the head (here 64 bytes) for UTF-8; DuckDB stops at the 'é' far
    # below it, and the run opens the file again with the whole check.
    from segmint.io import text

    monkeypatch.setattr(text, "HEAD_BYTES", 64)
    rows = [f"A{i:03d},2024-01-{1 + i % 28:02d},{10 + i}" for i in range(60)]
    rows += ["José,2024-01-10,10.00", "José,2024-01-20,5.50"]
    data = ("customer,date,amount\n" + "\n".join(rows) + "\n").encode("cp1252")
    assert data.index("é".encode("cp1252")) > 64
    path = tmp_path / ("late.csv.gz" if compressed else "late.csv")
    path.write_bytes(gzip.compress(data) if compressed else data)
    assert text.detect_encoding(path, compressed, 64) == "utf-8"  # what the head says
    table = run(path)
    assert table.loc["José", "frequency"] == 2
    assert table.loc["José", "monetary"] == pytest.approx(15.5)
    assert len(table) == 61


def test_header_delimiter_splits_the_header_and_most_lines_alike():
    from segmint.io.text import header_delimiter

    lines = ["a,b,c", "1,2,3", '4,"x,y",6', "7,8,9", "0,0,0", "1,2"]  # the last one cut short
    assert header_delimiter(lines) == ","
    assert header_delimiter(["a;b;c", "1;2,5;3", "4;5;6"]) == ";"
    assert header_delimiter(["only one column", "x", "y"]) is None
    assert header_delimiter(["a,b", "1", "2", "3"]) is None  # the lines do not split alike
    # A short file: its last line, possibly cut short, does not count against the delimiter.
    assert header_delimiter(["a,b,c", "1,2,3", "1,2"]) == ","
    assert header_delimiter(["a,b,c", "1,2"]) == ","  # a lone line that the delimiter splits
    assert header_delimiter(["a,b,c", "1"]) is None
    assert header_delimiter(["a;b;c", "1;2;3", "4,5", "7;8"]) is None  # 1 of 2 alike


SNIFFED_FILES = {
    "semicolons and decimal commas": (
        ";",
        'Kunde;Datum;Betrag\nA;01.02.2010;"1.234,50"\nB;03.02.2010;7,25\n',
    ),
    "quoted delimiters and a line break": (
        ",",
        'id,date,note,amount\nA,2010-12-01,"one, two",5\nB,2010-12-02,"a\nb",6\n',
    ),
    "CRLF and a pipe": ("|", "id|date|amount\r\nA|2010-12-01|5\r\nB|2010-12-02|6\r\n"),
    "tabs": ("\t", "id\tdate\tamount\nA\t2010-12-01\t5\nB\t2010-12-02\t6\n"),
    "zero-padded ids": (",", "customer_id,date,amount\n00004,19970101,1.5\n00042,19970102,2.5\n"),
}


@pytest.mark.parametrize(("delimiter", "content"), SNIFFED_FILES.values(), ids=SNIFFED_FILES.keys())
def test_the_spelled_out_dialect_reads_what_read_csv_detects(tmp_path, delimiter, content):
    # The view spells out the dialect sniffed once (sources._sniffed_reader); it must read
    # every row and value as DuckDB's own detecting read_csv does.
    from segmint.io.sources import _sniffed_reader

    path = tmp_path / "log.csv"
    path.write_bytes(content.encode())
    with duckdb.connect() as con:
        reader, found = _sniffed_reader(con, path, tab_separated=False)
        assert "auto_detect = false" in reader and found == delimiter
        spelled = con.sql(f"SELECT * FROM {reader})")
        detected = con.sql(f"SELECT * FROM read_csv('{path}', all_varchar = true)")
        assert spelled.columns == detected.columns
        assert spelled.fetchall() == detected.fetchall()
