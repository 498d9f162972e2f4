"""Cleaning (docs/reference/cleaning.md): one small hand-made table per rule, through
`segmint.segment`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import segmint
from helpers import DROP_REASONS, write_csv
from segmint import SegmintError

REASONS = DROP_REASONS
NULL_MARKERS = ("", "NA", "N/A", "NULL", "null", "NaN", "None", "-")
# Three clean customers added to every table (unless filler=False) so that k=2 has enough
# distinct points: F1/F2/F3 buy 10/20/30 on 2024-01-02/03/04, one line each.
FILLER = 3


def filler_rows(header: list[str]) -> list[list[str]]:
    rows = []
    for i in (1, 2, 3):
        value = {
            "customer_id": f"F{i}",
            "date": f"2024-01-0{i + 1}",
            "order_id": f"F{i}",
            "quantity": "1",
            "unit_price": str(10 * i),
            "amount": str(10 * i),
        }
        rows.append([value[column] for column in header])
    return rows


def run(
    tmp_path: Path, header: list[str], rows: list[list[str]], filler: bool = True, **settings
) -> segmint.SegmentationResult:
    rows = list(rows) + (filler_rows(header) if filler else [])
    path = write_csv(tmp_path / "lines.csv", header, rows)
    settings.setdefault("k", 2)
    settings.setdefault("n_init", 2)
    return segmint.segment(path, **settings)


def drops(**counts: int) -> dict[str, int]:
    """Return the full rows_dropped dict: the given counts, zero for every other reason."""
    return {reason: counts.get(reason, 0) for reason in REASONS}


def dropped(result: segmint.SegmentationResult) -> dict[str, int]:
    return {reason: result.summary["input"]["rows_dropped"].get(reason, 0) for reason in REASONS}


def customer(result: segmint.SegmentationResult, customer_id: str) -> pd.Series:
    rows = result.customers[result.customers["customer_id"] == customer_id]
    assert len(rows) == 1, f"customer {customer_id!r}: {len(rows)} rows"
    return rows.iloc[0]


def ids(result: segmint.SegmentationResult) -> set[str]:
    return set(result.customers["customer_id"])


AMOUNT = ["customer_id", "date", "amount"]
QTY_PRICE = ["customer_id", "date", "quantity", "unit_price"]


# --- missing customer id -------------------------------------------------------------


@pytest.mark.parametrize("marker", [*NULL_MARKERS, "   ", "  NA  "])
def test_each_null_marker_is_a_missing_customer_id(tmp_path: Path, marker: str) -> None:
    # 1 line with the marker (dropped) + 1 line of A + 3 filler lines.
    result = run(tmp_path, AMOUNT, [[marker, "2024-01-01", "5"], ["A", "2024-01-01", "7"]])
    assert dropped(result) == drops(missing_customer_id=1)
    assert result.summary["input"]["rows_read"] == 2 + FILLER
    assert result.summary["input"]["rows_used"] == 1 + FILLER
    assert ids(result) == {"A", "F1", "F2", "F3"}


def test_all_null_markers_together_and_lookalikes_kept(tmp_path: Path) -> None:
    # 8 markers dropped; "-1", "NAN1" and "Nora" are real ids (not markers) and are kept.
    rows = [[m, "2024-01-01", "5"] for m in NULL_MARKERS]
    rows += [["-1", "2024-01-01", "1"], ["NAN1", "2024-01-01", "2"], ["Nora", "2024-01-01", "3"]]
    result = run(tmp_path, AMOUNT, rows)
    assert dropped(result) == drops(missing_customer_id=8)
    assert result.summary["input"]["rows_used"] == 3 + FILLER
    assert ids(result) == {"-1", "NAN1", "Nora", "F1", "F2", "F3"}


def test_null_values_of_a_dataframe_are_missing_customer_ids() -> None:
    frame = pd.DataFrame(
        {
            "customer_id": [None, np.nan, "A", "B", "C"],
            "date": ["2024-01-01"] * 5,
            "amount": [1.0, 2.0, 3.0, 4.0, 5.0],
        }
    )
    result = segmint.segment(frame, k=2, n_init=2)
    assert dropped(result) == drops(missing_customer_id=2)
    assert ids(result) == {"A", "B", "C"}


def test_ids_are_trimmed_text_kept_as_written(tmp_path: Path) -> None:
    # "00042" and "  00042 " are one customer (2 orders, 5 + 7 = 12); "42" is another;
    # "17850.0" keeps its ".0".
    rows = [
        ["00042", "2024-01-01", "5"],
        ["  00042 ", "2024-01-03", "7"],
        ["42", "2024-01-02", "9"],
        ["17850.0", "2024-01-02", "4"],
    ]
    result = run(tmp_path, AMOUNT, rows)
    assert ids(result) == {"00042", "42", "17850.0", "F1", "F2", "F3"}
    assert all(isinstance(c, str) for c in result.customers["customer_id"])
    c42 = customer(result, "00042")
    assert c42["frequency"] == 2
    assert c42["monetary"] == pytest.approx(12.0)
    assert customer(result, "42")["monetary"] == pytest.approx(9.0)


def test_ids_of_a_dataframe_stay_text() -> None:
    frame = pd.DataFrame(
        {
            "customer_id": ["00042", "042", " 42", "007"],
            "date": ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"],
            "amount": ["1", "2", "3", "4"],
        }
    )
    result = segmint.segment(frame, k=2, n_init=2)
    assert list(result.customers.sort_values("customer_id")["customer_id"]) == sorted(
        ["00042", "042", "42", "007"]
    )


# --- bad date --------------------------------------------------------------------------


def test_bad_date_is_dropped_and_counted(tmp_path: Path) -> None:
    # "yesterday" and "2024-13-45" do not parse: 2 bad_date; A's line is kept.
    rows = [
        ["A", "2024-01-01", "5"],
        ["B", "yesterday", "5"],
        ["C", "2024-13-45", "5"],
    ]
    result = run(tmp_path, AMOUNT, rows)
    assert dropped(result) == drops(bad_date=2)
    assert result.summary["input"]["rows_used"] == 1 + FILLER
    assert ids(result) == {"A", "F1", "F2", "F3"}


def test_over_half_bad_dates_is_an_error(tmp_path: Path) -> None:
    # 3 readable dates, 4 unreadable: 4 of 7 > half → error naming the column.
    good = [["A", "2024-01-01", "1"], ["B", "2024-01-02", "2"], ["C", "2024-01-03", "3"]]
    bad = [[c, "not a date", "1"] for c in "DEFG"]
    with pytest.raises(SegmintError, match="'date'"):
        run(tmp_path, AMOUNT, good + bad, filler=False)


def test_exactly_half_bad_dates_is_not_an_error(tmp_path: Path) -> None:
    # 4 readable, 4 unreadable: exactly half is not "over half" → 4 bad_date, run goes on.
    good = [[c, f"2024-01-0{i}", str(i)] for i, c in enumerate("ABCD", start=1)]
    bad = [[c, "not a date", "1"] for c in "EFGH"]
    result = run(tmp_path, AMOUNT, good + bad, filler=False)
    assert dropped(result) == drops(bad_date=4)
    assert ids(result) == set("ABCD")


# --- duplicates ------------------------------------------------------------------------

DUPLICATE_ROWS = [
    ["A", "2024-01-01", "10"],
    ["A", "2024-01-01", "10"],
    ["A", "2024-01-01", "10"],  # 3 copies: 2 duplicates
    ["A", "2024-01-05", "10"],  # another date: not a duplicate
    ["B", "2024-01-01", "10"],
    ["B", "2024-01-01", "10.5"],  # another amount: not a duplicate
]


def test_exact_duplicates_are_dropped(tmp_path: Path) -> None:
    # A keeps one 01-01 line and the 01-05 line: 2 orders, 10 + 10 = 20.
    # B: 10 + 10.5 at one timestamp = 1 order of 20.5.
    result = run(tmp_path, AMOUNT, DUPLICATE_ROWS)
    assert dropped(result) == drops(duplicate=2)
    assert result.summary["input"]["rows_read"] == 6 + FILLER
    assert result.summary["input"]["rows_used"] == 4 + FILLER
    a, b = customer(result, "A"), customer(result, "B")
    assert (a["frequency"], a["monetary"]) == (2, pytest.approx(20.0))
    assert (b["frequency"], b["monetary"]) == (1, pytest.approx(20.5))


def test_keep_duplicates_keeps_them(tmp_path: Path) -> None:
    # All three 01-01 copies count: A = 10*3 + 10 = 40; the three copies share one
    # timestamp (no order id), so still 2 orders.
    result = run(tmp_path, AMOUNT, DUPLICATE_ROWS, keep_duplicates=True)
    assert dropped(result) == drops()
    assert result.summary["input"]["rows_used"] == 6 + FILLER
    a = customer(result, "A")
    assert (a["frequency"], a["monetary"]) == (2, pytest.approx(40.0))


# --- invalid amount ------------------------------------------------------------------


def test_invalid_quantity_or_price(tmp_path: Path) -> None:
    # Only A's first line (2 × 5 = 10) is valid; 10 lines are invalid_amount. The dropped
    # lines are later than every kept one, so as_of = latest filler date, 2024-01-04.
    rows = [
        ["A", "2024-01-01", "2", "5"],
        ["A", "2024-01-02", "0", "5"],  # zero quantity
        ["A", "2024-01-03", "1", "0"],  # price 0
        ["A", "2024-01-03", "1", "-2"],  # price < 0
        ["A", "2024-01-04", "NaN", "5"],
        ["A", "2024-01-04", "1", "inf"],
        ["A", "2024-01-05", "-inf", "5"],
        ["A", "2024-01-05", "1", "2e15"],  # beyond 1e15
        ["A", "2024-01-06", "1e16", "1"],  # beyond 1e15
        ["A", "2024-01-06", "abc", "5"],  # not a number
        ["A", "2024-01-07", "2", "x1"],  # not a number
    ]
    result = run(tmp_path, QTY_PRICE, rows)
    assert dropped(result) == drops(invalid_amount=10)
    a = customer(result, "A")
    assert (a["frequency"], a["monetary"]) == (1, pytest.approx(10.0))
    assert result.summary["input"]["as_of"] == "2024-01-04"
    assert a["recency_days"] == 3


def test_invalid_amount_column(tmp_path: Path) -> None:
    # NaN, inf, -inf, 2e15, -2e15 and "abc" are invalid (6); 1e15 is not beyond 1e15.
    rows = [
        ["A", "2024-01-01", "10"],
        ["A", "2024-01-01", "NaN"],
        ["A", "2024-01-01", "inf"],
        ["A", "2024-01-01", "-inf"],
        ["A", "2024-01-01", "2e15"],
        ["A", "2024-01-01", "-2e15"],
        ["A", "2024-01-01", "abc"],
        ["BIG", "2024-01-01", "1e15"],
    ]
    result = run(tmp_path, AMOUNT, rows)
    assert dropped(result) == drops(invalid_amount=6)
    assert customer(result, "A")["monetary"] == pytest.approx(10.0)
    assert customer(result, "BIG")["monetary"] == pytest.approx(1e15)


def test_zero_quantity_is_invalid_even_with_an_amount(tmp_path: Path) -> None:
    # CDNOW-like: quantity 0 with amount 5 → invalid; quantity 1, amount 5 kept.
    header = ["customer_id", "date", "quantity", "amount"]
    rows = [["A", "2024-01-01", "0", "5"], ["A", "2024-01-02", "1", "5"]]
    result = run(tmp_path, header, rows)
    assert dropped(result) == drops(invalid_amount=1)
    a = customer(result, "A")
    assert (a["frequency"], a["monetary"]) == (1, pytest.approx(5.0))


# --- after as_of ---------------------------------------------------------------------


def test_lines_after_as_of_are_dropped(tmp_path: Path) -> None:
    # as_of 2024-01-05: a line at 2024-01-05 23:59:59 is on the as_of date (kept);
    # 2024-01-06 00:00:00 and 2024-02-01 are after it (2 dropped).
    # A: 10 + 20 = 30 over 2 orders, last order on 01-05 → recency 0, first 01-01 → tenure 4.
    rows = [
        ["A", "2024-01-01", "10"],
        ["A", "2024-01-05 23:59:59", "20"],
        ["A", "2024-01-06 00:00:00", "30"],
        ["B", "2024-02-01", "40"],
    ]
    result = run(tmp_path, AMOUNT, rows, as_of="2024-01-05")
    assert dropped(result) == drops(after_as_of=2)
    assert result.summary["input"]["as_of"] == "2024-01-05"
    a = customer(result, "A")
    assert (a["frequency"], a["monetary"], a["recency_days"], a["tenure_days"]) == (
        2,
        pytest.approx(30.0),
        0,
        4,
    )
    assert "B" not in ids(result)
    # F1 bought on 2024-01-02: 3 days before as_of.
    assert customer(result, "F1")["recency_days"] == 3


# --- returns -----------------------------------------------------------------------------


def test_returns_subtract_and_are_not_orders_quantity_price(tmp_path: Path) -> None:
    # O1 2 × 25 = 50 is A's only order. Returns: O2 quantity -1 × 10 = -10; C3 (id starts with
    # C, positive quantity) -|1 × 4| = -4; C4 -3 × 2 = -6. monetary = 50 - 20 = 30,
    # return_rate = 20 / 50 = 0.4. The returns are kept lines, so as_of = 2024-01-06 (C3/C4):
    # last (and first) order 01-01 → recency = tenure = 5.
    header = ["customer_id", "date", "order_id", "quantity", "unit_price"]
    rows = [
        ["A", "2024-01-01", "O1", "2", "25"],
        ["A", "2024-01-05", "O2", "-1", "10"],
        ["A", "2024-01-06", "C3", "1", "4"],
        ["A", "2024-01-06", "C4", "-3", "2"],
    ]
    result = run(tmp_path, header, rows)
    assert dropped(result) == drops()
    assert result.summary["input"]["as_of"] == "2024-01-06"
    a = customer(result, "A")
    assert a["frequency"] == 1
    assert a["monetary"] == pytest.approx(30.0)
    assert a["return_rate"] == pytest.approx(0.4)
    assert (a["recency_days"], a["tenure_days"]) == (5, 5)


def test_returns_always_subtract_absolute_amount(tmp_path: Path) -> None:
    # O1 +50 (order). Returns: O2 amount -8 → -8; C3 amount +12 → -12; C4 quantity -1 with
    # amount written +5 → -5; R5 quantity -2, amount -6 → -6. monetary = 50 - 31 = 19.
    header = ["customer_id", "date", "order_id", "quantity", "amount"]
    rows = [
        ["A", "2024-01-01", "O1", "2", "50"],
        ["A", "2024-01-02", "O2", "1", "-8"],
        ["A", "2024-01-02", "C3", "1", "12"],
        ["A", "2024-01-03", "C4", "-1", "5"],
        ["A", "2024-01-03", "R5", "-2", "-6"],
    ]
    result = run(tmp_path, header, rows)
    assert dropped(result) == drops()
    a = customer(result, "A")
    assert a["frequency"] == 1
    assert a["monetary"] == pytest.approx(19.0)
    assert a["return_rate"] == pytest.approx(31 / 50)


def test_negative_amount_is_a_return(tmp_path: Path) -> None:
    # No order id, no quantity: amount -8 is a return, not an order. A = 50 - 8 = 42, 1 order.
    rows = [["A", "2024-01-01", "50"], ["A", "2024-01-02", "-8"]]
    result = run(tmp_path, AMOUNT, rows)
    a = customer(result, "A")
    assert (a["frequency"], a["monetary"]) == (1, pytest.approx(42.0))


def test_returns_only_customers_are_dropped_and_counted(tmp_path: Path) -> None:
    # R has two returns and no order: 2 lines returns_only. S's only order is invalid
    # (quantity 0: invalid_amount), so its return is left alone: 1 more returns_only.
    header = ["customer_id", "date", "order_id", "quantity", "unit_price"]
    rows = [
        ["A", "2024-01-01", "O1", "1", "5"],
        ["R", "2024-01-01", "C1", "-1", "5"],
        ["R", "2024-01-02", "C2", "-2", "5"],
        ["S", "2024-01-01", "O3", "0", "5"],
        ["S", "2024-01-02", "C4", "-1", "5"],
    ]
    result = run(tmp_path, header, rows)
    assert dropped(result) == drops(invalid_amount=1, returns_only=3)
    assert result.summary["input"]["rows_used"] == 1 + FILLER
    assert ids(result) == {"A", "F1", "F2", "F3"}


# --- nothing left ------------------------------------------------------------------------


def test_as_of_before_the_data_is_an_error_naming_the_rule(tmp_path: Path) -> None:
    rows = [["A", "2024-01-01", "10"], ["B", "2024-01-02", "20"], ["C", "2024-01-03", "30"]]
    with pytest.raises(SegmintError, match="after_as_of"):
        run(tmp_path, AMOUNT, rows, filler=False, as_of="2023-06-30")


def test_only_returns_is_an_error_naming_the_rule(tmp_path: Path) -> None:
    rows = [["A", "2024-01-01", "-10"], ["B", "2024-01-02", "-20"], ["C", "2024-01-03", "-30"]]
    with pytest.raises(SegmintError, match="returns_only"):
        run(tmp_path, AMOUNT, rows, filler=False)


def test_only_missing_ids_is_an_error_naming_the_rule(tmp_path: Path) -> None:
    rows = [["NA", "2024-01-01", "10"], ["", "2024-01-02", "20"], ["-", "2024-01-03", "30"]]
    with pytest.raises(SegmintError, match="missing_customer_id"):
        run(tmp_path, AMOUNT, rows, filler=False)


# --- precedence ----------------------------------------------------------------------------


def test_each_row_is_counted_under_the_first_rule_that_drops_it(tmp_path: Path) -> None:
    rows = [
        ["B", "2024-01-01", "1", "5"],  # kept
        ["NA", "garbage", "0", "-1"],  # missing id (also bad date, invalid)
        ["NA", "garbage", "0", "-1"],  # its copy: missing id, not duplicate
        ["B", "garbage", "0", "5"],  # bad date (also invalid)
        ["B", "garbage", "0", "5"],  # its copy: bad date, not duplicate
        ["B", "2024-01-09", "0", "5"],  # invalid (also after as_of)
        ["B", "2024-01-09", "0", "5"],  # its copy: duplicate comes before invalid
        ["B", "2024-01-09", "2", "5"],  # after as_of
        ["B", "2024-01-09", "2", "5"],  # its copy: duplicate comes before after_as_of
        ["B", "2024-01-07", "-1", "5"],  # a return after as_of: after_as_of
        ["R", "2024-01-02", "-1", "5"],  # R's only kept line is a return: returns_only
        ["R", "2024-01-03", "0", "5"],  # R's would-be order: invalid
    ]
    result = run(tmp_path, QTY_PRICE, rows, as_of="2024-01-05")
    assert dropped(result) == drops(
        missing_customer_id=2,
        bad_date=2,
        duplicate=2,
        invalid_amount=2,
        after_as_of=2,
        returns_only=1,
    )
    assert result.summary["input"]["rows_read"] == 12 + FILLER
    assert result.summary["input"]["rows_used"] == 1 + FILLER
    assert customer(result, "B")["monetary"] == pytest.approx(5.0)


# --- line amount ---------------------------------------------------------------------------


def test_amount_column_wins_over_quantity_times_price(tmp_path: Path) -> None:
    # 2 × 3 = 6 but amount says 7: the amount is used.
    header = ["customer_id", "date", "quantity", "unit_price", "amount"]
    result = run(tmp_path, header, [["A", "2024-01-01", "2", "3", "7"]])
    assert customer(result, "A")["monetary"] == pytest.approx(7.0)


def test_quantity_times_unit_price_without_amount(tmp_path: Path) -> None:
    # 3 × 2.55 = 7.65 and 2 × 0.10 = 0.20 at one timestamp: one order of 7.85.
    rows = [["A", "2024-01-01", "3", "2.55"], ["A", "2024-01-01", "2", "0.10"]]
    result = run(tmp_path, QTY_PRICE, rows)
    a = customer(result, "A")
    assert a["frequency"] == 1
    assert a["monetary"] == pytest.approx(7.85, abs=1e-9)
    assert round(a["monetary"], 2) == 7.85


def test_unit_price_alone_is_the_line_amount(tmp_path: Path) -> None:
    # Only a unit price column: each line is 1 unit at that price. 4.5 + 0.5 = 5.0 over two
    # dates; the 0 price line is invalid (price ≤ 0).
    header = ["customer_id", "date", "unit_price"]
    rows = [["A", "2024-01-01", "4.5"], ["A", "2024-01-02", "0.5"], ["A", "2024-01-03", "0"]]
    result = run(tmp_path, header, rows)
    assert dropped(result) == drops(invalid_amount=1)
    a = customer(result, "A")
    assert (a["frequency"], a["monetary"]) == (2, pytest.approx(5.0))


def test_amount_zero_is_kept_without_quantity_or_price(tmp_path: Path) -> None:
    # A free order is an order: Z has one order of 0; A has orders of 0 and 10.
    rows = [["Z", "2024-01-01", "0"], ["A", "2024-01-01", "0.00"], ["A", "2024-01-03", "10"]]
    result = run(tmp_path, AMOUNT, rows)
    assert dropped(result) == drops()
    z, a = customer(result, "Z"), customer(result, "A")
    assert (z["frequency"], z["monetary"]) == (1, pytest.approx(0.0))
    assert (a["frequency"], a["monetary"]) == (2, pytest.approx(10.0))


# --- orders ----------------------------------------------------------------------------------


def test_an_order_is_the_lines_of_one_order_id(tmp_path: Path) -> None:
    # O1 has two lines (5 + 6); O2 is another order at the same timestamp; O3 another day.
    # A: 3 orders, 5 + 6 + 7 + 8 = 26, aov 26 / 3.
    header = ["customer_id", "date", "order_id", "amount"]
    rows = [
        ["A", "2024-01-01 10:00:00", "O1", "5"],
        ["A", "2024-01-01 10:00:00", "O1", "6"],
        ["A", "2024-01-01 10:00:00", "O2", "7"],
        ["A", "2024-01-03 09:00:00", "O3", "8"],
    ]
    result = run(tmp_path, header, rows)
    a = customer(result, "A")
    assert a["frequency"] == 3
    assert a["monetary"] == pytest.approx(26.0)
    assert a["aov"] == pytest.approx(26 / 3)


def test_without_order_id_an_order_is_a_customers_lines_at_one_timestamp(tmp_path: Path) -> None:
    # A: 10:00 (5 + 6) is one order, 11:00 the same day another → 2 orders, first and last
    # on the same day → interpurchase 0 / (2 - 1) = 0. B at 10:00 is B's own order.
    rows = [
        ["A", "2024-01-01 10:00:00", "5"],
        ["A", "2024-01-01 10:00:00", "6"],
        ["A", "2024-01-01 11:00:00", "7"],
        ["B", "2024-01-01 10:00:00", "8"],
    ]
    result = run(tmp_path, AMOUNT, rows)
    a, b = customer(result, "A"), customer(result, "B")
    assert (a["frequency"], a["monetary"]) == (2, pytest.approx(18.0))
    assert a["interpurchase_days"] == pytest.approx(0.0)
    assert (b["frequency"], b["monetary"]) == (1, pytest.approx(8.0))
