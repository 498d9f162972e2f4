"""Date and number format detection (src/segmint/io/formats.py), directly and through segment()."""

from __future__ import annotations

import datetime as dt
import math

import duckdb
import pandas as pd
import pytest

from segmint import SegmintError, segment
from segmint.io.formats import (
    DATE_FAMILIES,
    ISO,
    _count_readings,
    detect_date_reading,
    detect_number_reading,
)

D = dt.datetime


def read_dates(values: list[str], **options) -> list[dt.datetime | None]:
    """Detect the reading of a one-column table of `values`; return each value read with it."""
    with duckdb.connect() as con:
        con.execute("CREATE TABLE t (i INTEGER, d VARCHAR)")
        con.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(values)))
        reading = detect_date_reading(con, "t", "d", "test.csv", **options)
        rows = con.execute(f"SELECT {reading.sql('d')} FROM t ORDER BY i").fetchall()
    return [r[0] for r in rows]


def read_numbers(values: list[str], delimiter: str | None) -> list[float | None]:
    """Detect the reading of `values` (a column sample); return each value read with it."""
    reading = detect_number_reading(values, delimiter)
    with duckdb.connect() as con:
        con.execute("CREATE TABLE t (i INTEGER, v VARCHAR)")
        con.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(values)))
        rows = con.execute(f"SELECT {reading.sql('v')} FROM t ORDER BY i").fetchall()
    return [r[0] for r in rows]


def write_log(path, dates: list[str], customers: list[str] | None = None):
    """Write a CSV with one 10.00 line per date; customers default to A, B, C, A, B, C, ..."""
    customers = customers or ["ABC"[i % 3] for i in range(len(dates))]
    rows = [f"{c},{d},10.00" for c, d in zip(customers, dates, strict=True)]
    path.write_text("CustomerID,InvoiceDate,Amount\n" + "\n".join(rows) + "\n")
    return path


# Dates, directly -------------------------------------------------------------------------


def test_iso_dates_and_timestamps():
    values = ["2010-12-01", "2010-12-01 08:26:00", "2010-12-01T08:26:00", "2011-02-20 11:39"]
    assert read_dates(values) == [
        D(2010, 12, 1),
        D(2010, 12, 1, 8, 26),
        D(2010, 12, 1, 8, 26),
        D(2011, 2, 20, 11, 39),
    ]


def test_values_read_as_iso_read_no_other_way():
    # detect_date_reading stops at the ISO formats when they read every value; that is the
    # full detection's choice only if no other family reads any of them (else a tie or an
    # ambiguity could change it). Every ISO format, days 1-12 and above, the plausible edges.
    days = [D(1900, 1, 1), D(1969, 3, 4), D(2001, 2, 3, 4, 5, 6), D(2012, 11, 10, 9, 8),
            D(2068, 12, 12), D(2069, 1, 31, 23, 59, 59), D(2100, 12, 31, 23, 59, 59)]  # fmt: skip
    shapes = ["%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M",
              "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d", "%Y%m%d%H%M%S", "%Y%m%d"]  # fmt: skip
    values = [d.strftime(shape) for d in days for shape in shapes]
    with duckdb.connect() as con:
        con.execute("CREATE TABLE t AS SELECT unnest(?) AS v, 1 AS n", [values])
        readings = _count_readings(con, "t", DATE_FAMILIES)
    assert readings.total == len(values)
    assert readings.per_family == {
        "iso": len(values), "month_first": 0, "day_first": 0, "excel": 0,
    }  # fmt: skip


def test_iso_detection_stops_early_with_the_full_detections_formats():
    values = ["2010-12-01 08:26:00", "2010/12/02", "2010-12-03"]
    with duckdb.connect() as con:
        con.execute("CREATE TABLE t AS SELECT unnest(?) AS d", [values])
        reading = detect_date_reading(con, "t", "d", "test.csv")
        full = _count_readings(con, "(SELECT d AS v, 1 AS n FROM t)", DATE_FAMILIES)
    assert reading.formats == full.used("iso") == (ISO, "%Y/%m/%d")


def test_compact_yyyymmdd_text():
    assert read_dates(["19970101", "19971231", "19980630"]) == [
        D(1997, 1, 1),
        D(1997, 12, 31),
        D(1998, 6, 30),
    ]


def test_month_first_with_unpadded_hour():
    # The UCI Online Retail xlsx as exported by Excel to CSV.
    assert read_dates(["12/1/2010 8:26", "12/13/2010 17:05", "1/4/2011 10:00"]) == [
        D(2010, 12, 1, 8, 26),
        D(2010, 12, 13, 17, 5),
        D(2011, 1, 4, 10, 0),
    ]


def test_month_first_two_digit_year():
    assert read_dates(["12/1/09 7:45", "1/15/10 13:00"]) == [
        D(2009, 12, 1, 7, 45),
        D(2010, 1, 15, 13, 0),
    ]


def test_one_column_mixing_four_and_two_digit_years():
    # '2/20/11' must be 2011-02-20, never the year 11 (which %Y would happily read).
    assert read_dates(["12/06/2010 10:08", "2/20/11 11:39", "12/9/2011 9:44"]) == [
        D(2010, 12, 6, 10, 8),
        D(2011, 2, 20, 11, 39),
        D(2011, 12, 9, 9, 44),
    ]


def test_day_first_when_a_day_is_above_12():
    # 13/01 and 25.12 only read day-first, so the whole column is day-first:
    # '01/02/2010' is then 1 February, not 2 January.
    assert read_dates(["13/01/2010", "25.12.2010", "01/02/2010"]) == [
        D(2010, 1, 13),
        D(2010, 12, 25),
        D(2010, 2, 1),
    ]


def test_month_first_when_a_day_is_above_12():
    # The mirror case: 01/13 only reads month-first, so '01/02/2010' is 2 January.
    assert read_dates(["01/13/2010", "01/02/2010"]) == [D(2010, 1, 13), D(2010, 1, 2)]


def test_day_first_dotted_two_digit_year():
    assert read_dates(["25.12.10", "01.02.11 14:30"]) == [D(2010, 12, 25), D(2011, 2, 1, 14, 30)]


def test_ambiguous_month_and_day_is_an_error():
    # Both readings parse every value but give different dates: the user must say which.
    with pytest.raises(SegmintError, match=r"(?s)month-first.*day-first.*--date-format"):
        read_dates(["01/02/2010", "03/04/2010", "05/06/2010"])


def test_readings_that_agree_are_not_ambiguous():
    # 01/01 and 02/02 read the same either way: no reason to ask.
    assert read_dates(["01/01/2010", "02/02/2010"]) == [D(2010, 1, 1), D(2010, 2, 2)]


def test_date_format_override_wins():
    assert read_dates(["01/02/2010", "03/04/2010"], date_format="%d/%m/%Y") == [
        D(2010, 2, 1),
        D(2010, 4, 3),
    ]
    assert read_dates(["01/02/2010", "03/04/2010"], date_format="%m/%d/%Y") == [
        D(2010, 1, 2),
        D(2010, 3, 4),
    ]


def test_implausible_years_read_as_null():
    # 1850 and 2250 are outside 1900–2100: not dates.
    values = ["2010-12-01 08:26", "1850-01-01", "2250-01-01", "2100-12-31"]
    assert read_dates(values) == [D(2010, 12, 1, 8, 26), None, None, D(2100, 12, 31)]


def test_forced_four_digit_year_on_two_digit_text_is_implausible():
    # %Y reads '11' as the year 0011: outside 1900–2100, so NULL rather than a wrong date.
    assert read_dates(["2/20/11", "2/20/2011"], date_format="%m/%d/%Y") == [None, D(2011, 2, 20)]


def test_excel_serial_numbers_only_when_allowed():
    # 40513 = 2010-12-01 (Excel's day 0 is 1899-12-30); .5 = noon, .25 = 06:00.
    assert read_dates(["40513.5", "40513", "40523.25"], allow_excel=True) == [
        D(2010, 12, 1, 12),
        D(2010, 12, 1),
        D(2010, 12, 11, 6),
    ]
    # A text file's number column is not a date column.
    with pytest.raises(SegmintError, match="date-format"):
        read_dates(["40513.5", "40513"])


def test_no_date_at_all_is_an_error_naming_a_value():
    with pytest.raises(SegmintError, match="hello"):
        read_dates(["hello", "world"])


def test_blank_column_is_an_error():
    with pytest.raises(SegmintError, match="blank"):
        read_dates(["", "  "])


# Dates, through segment() ------------------------------------------------------------------


def test_yyyymmdd_text_through_segment(tmp_path):
    path = write_log(tmp_path / "a.csv", ["19970101", "19970111", "19970121", "19970131"])
    # A: 01-01 and 01-31 (as_of 1997-01-31): recency 0, tenure 30; B: 01-11 -> 20; C: 01-21 -> 10.
    table = segment(path, k=2, n_init=2).customers.set_index("customer_id")
    assert table.loc["A", ["recency_days", "tenure_days", "frequency"]].tolist() == [0, 30, 2]
    assert table.loc["B", "recency_days"] == 20
    assert table.loc["C", "recency_days"] == 10


def test_yyyymmdd_integer_looking_through_segment(tmp_path):
    # What pandas gives for CDNOW's date column: an int64, not text.
    frame = pd.DataFrame(
        {
            "customer_id": ["00001", "00002", "00003", "00001"],
            "date": [19970101, 19970111, 19970121, 19970131],
            "amount": [1.0, 2.0, 3.0, 4.0],
        }
    )
    for source in (frame, tmp_path / "int.parquet"):
        if not isinstance(source, pd.DataFrame):
            frame.to_parquet(source)
        result = segment(source, k=2, n_init=2)
        assert result.summary["input"]["period"]["start"].startswith("1997-01-01")
        table = result.customers.set_index("customer_id")
        assert table.loc["00001", ["recency_days", "tenure_days"]].tolist() == [0, 30]
        assert table.loc["00002", "recency_days"] == 20


def test_mixed_years_through_segment(tmp_path):
    path = write_log(
        tmp_path / "a.csv",
        ["12/06/2010 10:08", "2/20/11 11:39", "12/9/2011 9:44", "12/01/2010 08:26"],
    )
    result = segment(path, k=2, n_init=2)
    assert result.summary["input"]["rows_dropped"]["bad_date"] == 0
    assert result.summary["input"]["period"]["start"] == "2010-12-01T08:26:00"
    assert result.summary["input"]["period"]["end"] == "2011-12-09T09:44:00"
    table = result.customers.set_index("customer_id")
    # B's only order is 2011-02-20; as_of 2011-12-09: 8 (Feb rest) + 31+30+31+30+31+31+30+31+30
    # (Mar–Nov) + 9 = 292 days.
    assert table.loc["B", "recency_days"] == 292
    assert (dt.date(2011, 12, 9) - dt.date(2011, 2, 20)).days == 292


def test_day_first_through_segment(tmp_path):
    path = write_log(tmp_path / "a.csv", ["13/01/2010", "25.12.2010", "01/02/2010"])
    result = segment(path, k=2, n_init=2)
    table = result.customers.set_index("customer_id")
    # as_of 2010-12-25; C's order is 1 February 2010 (day-first): 327 days before.
    assert result.summary["input"]["as_of"] == "2010-12-25"
    assert table.loc["C", "recency_days"] == (dt.date(2010, 12, 25) - dt.date(2010, 2, 1)).days
    assert table.loc["C", "recency_days"] == 327


def test_ambiguous_dates_through_segment(tmp_path):
    path = write_log(tmp_path / "a.csv", ["01/02/2010", "03/04/2010", "05/06/2010"])
    with pytest.raises(SegmintError, match="--date-format"):
        segment(path, k=2)
    result = segment(path, k=2, n_init=2, date_format="%d/%m/%Y")
    # Day-first: 1 Feb, 3 Apr, 5 Jun 2010.
    assert result.summary["input"]["period"]["start"].startswith("2010-02-01")
    assert result.summary["input"]["as_of"] == "2010-06-05"
    result = segment(path, k=2, n_init=2, date_format="%m/%d/%Y")
    # Month-first: 2 Jan, 4 Mar, 6 May 2010.
    assert result.summary["input"]["as_of"] == "2010-05-06"


def test_implausible_years_are_bad_dates(tmp_path):
    path = write_log(
        tmp_path / "a.csv",
        ["2010-12-01", "2010-12-02", "2010-12-03", "1850-01-01", "2250-06-01", "2010-12-04"],
    )
    result = segment(path, k=2, n_init=2)
    assert result.summary["input"]["rows_dropped"]["bad_date"] == 2
    assert result.summary["input"]["rows_used"] == 4
    assert result.summary["input"]["period"]["start"] == "2010-12-01T00:00:00"
    assert result.summary["input"]["period"]["end"] == "2010-12-04T00:00:00"


def test_forced_format_reading_year_11_gives_bad_date(tmp_path):
    path = write_log(tmp_path / "a.csv", ["2/20/2011", "2/21/2011", "2/22/2011", "2/20/11"])
    result = segment(path, k=2, n_init=2, date_format="%m/%d/%Y")
    assert result.summary["input"]["rows_dropped"]["bad_date"] == 1


def test_wrong_date_format_for_most_rows_is_an_error(tmp_path):
    path = write_log(tmp_path / "a.csv", ["2010-12-01", "2010-12-02", "2010-12-03"])
    with pytest.raises(SegmintError, match="InvoiceDate"):
        segment(path, k=2, date_format="%d/%m/%Y")


def test_head_decides_when_it_is_clear_and_says_so():
    with duckdb.connect() as con:
        con.execute("CREATE TABLE t (d VARCHAR)")
        dates = ["13/01/2010", "25/12/2010"] + ["2010-12-01"] * 8
        con.executemany("INSERT INTO t VALUES (?)", [(d,) for d in dates])
        head = detect_date_reading(con, "t", "d", "test.csv", head_rows=2)
        whole = detect_date_reading(con, "t", "d", "test.csv")
    # The first two rows are day-first; the whole column is mostly ISO.
    assert head.formats == ("%d/%m/%Y",) and not head.whole_column
    assert whole.formats == ("ISO 8601",) and whole.whole_column


def test_ambiguous_head_falls_back_to_the_whole_column():
    with duckdb.connect() as con:
        con.execute("CREATE TABLE t (d VARCHAR)")
        dates = ["01/02/2010", "03/04/2010", "05/06/2010", "25/12/2010"]
        con.executemany("INSERT INTO t VALUES (?)", [(d,) for d in dates])
        reading = detect_date_reading(con, "t", "d", "test.csv", head_rows=3)
    assert reading.formats == ("%d/%m/%Y",) and reading.whole_column


def test_head_with_every_row_is_the_whole_column():
    with duckdb.connect() as con:
        con.execute("CREATE TABLE t (d VARCHAR)")
        con.executemany("INSERT INTO t VALUES (?)", [("25/12/2010",), ("13/01/2010",)])
        reading = detect_date_reading(con, "t", "d", "test.csv", head_rows=2)
    assert reading.whole_column


def test_format_change_after_the_head_is_read_from_the_whole_column(tmp_path, monkeypatch):
    # The log's first rows have four-digit years; two-digit years appear further down. The
    # head's reading leaves those unread, so the whole column is read again.
    monkeypatch.setattr("segmint.io.formats.HEAD_ROWS", 3)
    dates = ["12/13/2010 10:08", "12/14/2010 10:08", "12/15/2010 10:08"]
    dates += ["2/20/11 11:39", "3/1/11 9:00", "12/09/2011 9:44"]
    path = write_log(tmp_path / "a.csv", dates)
    result = segment(path, k=2, n_init=2)
    assert result.summary["input"]["rows_dropped"]["bad_date"] == 0
    assert result.summary["input"]["date_format"] == "%m/%d/%y %H:%M or %m/%d/%Y %H:%M"
    # A's last order is 20 February 2011; as_of 9 December 2011.
    assert result.customers.set_index("customer_id").loc["A", "recency_days"] == 292
    # Read with the head's reading only, the two-digit years would be bad dates.
    monkeypatch.setattr("segmint.features.clean.read_dates_from_whole_column", lambda *a: False)
    assert segment(path, k=2, n_init=2).summary["input"]["rows_dropped"]["bad_date"] == 2


# Numbers ---------------------------------------------------------------------------------


def test_plain_numbers():
    assert read_numbers(["1", "2.5", "-3", "1e3", ".5", "+4"], ",") == [
        1.0,
        2.5,
        -3.0,
        1000.0,
        0.5,
        4.0,
    ]


def test_thousands_commas():
    assert read_numbers(["1,234.50", "12,345", "1,234,567.89", "7"], ",") == [
        1234.5,
        12345.0,
        1234567.89,
        7.0,
    ]


def test_decimal_comma_with_semicolon_delimiter():
    assert read_numbers(["12,50", "1.234,50", "-0,25", "7"], ";") == [12.5, 1234.5, -0.25, 7.0]


def test_three_decimals_after_comma_depends_on_delimiter():
    # '1,234' alone: thousands in a comma file, decimal comma in a semicolon file.
    assert read_numbers(["1,234", "5"], ",") == [1234.0, 5.0]
    assert read_numbers(["1,234", "5"], ";") == [1.234, 5.0]


def test_decimal_comma_without_semicolon_when_digits_say_so():
    # ',5' and ',75' cannot be thousands groups, so the column writes decimal commas.
    assert read_numbers(["3,5", "12,75", "1.000,5"], "\t") == [3.5, 12.75, 1000.5]


def test_currency_symbols():
    assert read_numbers(["$1,200.00", "£5", "€ 3.50", "¥100", "-$2.25"], ",") == [
        1200.0,
        5.0,
        3.5,
        100.0,
        -2.25,
    ]


def test_currency_symbols_with_decimal_comma():
    assert read_numbers(["12,50 €", "1.234,50 €", "€0,99"], ";") == [12.5, 1234.5, 0.99]


def test_non_numbers_are_null_and_non_finite_kept():
    values = read_numbers(["abc", "nan", "inf", "-inf", "2"], ",")
    assert values[0] is None
    assert math.isnan(values[1])
    assert values[2] == math.inf and values[3] == -math.inf
    assert values[4] == 2.0


def test_decimal_comma_column_with_a_decimal_point_value():
    # '2.50' cannot be a thousands group: in a decimal-comma column it is still 2.5, not 250.
    assert read_numbers(["1,5", "2.50", "1.234", "1.234,5", "7"], ",") == [
        1.5,
        2.5,
        1234.0,
        1234.5,
        7.0,
    ]


def test_comma_that_is_no_thousands_separator_is_not_removed():
    # Detected as decimal point from the sample; a later '1,5' is neither 15 nor 1.5: unread.
    reading = detect_number_reading(["1,234.50", "12,345", "3.25"], ",")
    assert not reading.decimal_comma
    with duckdb.connect() as con:
        values = ["1,5", "1,234,567.5", "12,34", "-1,000"]
        rows = con.execute(f"SELECT {reading.sql('v')} FROM unnest(?) AS t(v)", [values]).fetchall()
    assert [r[0] for r in rows] == [None, 1234567.5, None, -1000.0]
