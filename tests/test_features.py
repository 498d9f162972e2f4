"""Per-customer features (docs/reference/features.md), each computed by hand on a tiny table."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

import segmint
from helpers import write_csv

# Invoice, customer, timestamp, quantity, unit price, category. C1003 is a return.
# Line amounts: 3 × 2.55 = 7.65, 1 × 0.10 = 0.10, 2 × 0.10 = 0.20, -(1 × 2.55) = -2.55,
# 100.00, 4 × 0.35 = 1.40, 2 × 0.05 = 0.10, 5 × 1.99 = 9.95, 20.00.
MAIN_HEADER = ["InvoiceNo", "CustomerID", "InvoiceDate", "Quantity", "UnitPrice", "Category"]
MAIN_ROWS = [
    ["1001", "A", "2024-03-01 09:00:00", "3", "2.55", "Food"],
    ["1001", "A", "2024-03-01 09:00:00", "1", "0.10", "Toys"],
    ["1002", "A", "2024-03-05 23:59:00", "2", "0.10", "Toys"],
    ["C1003", "A", "2024-03-06 12:00:00", "-1", "2.55", "Food"],
    ["2001", "B", "2024-03-02 10:00:00", "1", "100.00", "Books"],
    ["2002", "B", "2024-03-09 23:59:00", "4", "0.35", "Food"],
    ["2003", "B", "2024-03-09 08:00:00", "2", "0.05", "Toys"],
    ["3001", "C", "2024-03-10 00:01:00", "5", "1.99", "Books"],
    ["4001", "D", "2024-03-04 15:00:00", "1", "20.00", "Garden"],
]


def run(tmp_path: Path, header: list[str], rows: list[list[str]], **settings):
    settings.setdefault("k", 2)
    settings.setdefault("n_init", 2)
    return segmint.segment(write_csv(tmp_path / "lines.csv", header, rows), **settings)


def by_id(result) -> dict[str, pd.Series]:
    return {row["customer_id"]: row for _, row in result.customers.iterrows()}


def money(value: float, expected: float) -> None:
    """Assert a money value is exact to the cent (and to float precision)."""
    assert abs(value - expected) < 1e-9, (value, expected)
    assert round(value, 2) == round(expected, 2)


@pytest.fixture(scope="module")
def main(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.Series]:
    result = run(tmp_path_factory.mktemp("features"), MAIN_HEADER, MAIN_ROWS)
    assert result.summary["input"]["as_of"] == "2024-03-10"
    return by_id(result)


def test_as_of_is_the_latest_kept_line_date(tmp_path: Path) -> None:
    # C's 2024-03-10 00:01 line is the latest: as_of 2024-03-10.
    result = run(tmp_path, MAIN_HEADER, MAIN_ROWS)
    assert result.summary["input"]["as_of"] == "2024-03-10"


def test_as_of_ignores_dropped_lines_but_counts_kept_returns(tmp_path: Path) -> None:
    # Dropped later lines: 03-20 (price 0: invalid) and 03-25 (customer R, returns only).
    # A kept return of A on 03-15 is the latest kept line → as_of 2024-03-15.
    rows = MAIN_ROWS + [
        ["5001", "D", "2024-03-20 10:00:00", "1", "0", "Garden"],
        ["C5002", "R", "2024-03-25 10:00:00", "-1", "3", "Garden"],
        ["C5003", "A", "2024-03-15 10:00:00", "-1", "0.10", "Toys"],
    ]
    result = run(tmp_path, MAIN_HEADER, rows)
    assert result.summary["input"]["as_of"] == "2024-03-15"
    # A's last order is 1002 on 03-05: 10 days before 03-15.
    assert by_id(result)["A"]["recency_days"] == 10


def test_recency_and_tenure_in_whole_calendar_days(main: dict[str, pd.Series]) -> None:
    # as_of 2024-03-10. A: orders 03-01 and 03-05 (the 03-06 return is not an order).
    # B: last order 03-09 23:59 → 1 day before 03-10 (though only 2 minutes before C's line).
    # C: 03-10 00:01 → 0. D: 03-04 → 6.
    assert [main[c]["recency_days"] for c in "ABCD"] == [5, 1, 0, 6]
    assert [main[c]["tenure_days"] for c in "ABCD"] == [9, 8, 0, 6]


def test_frequency_counts_orders_not_lines_nor_returns(main: dict[str, pd.Series]) -> None:
    # A: 1001 (2 lines), 1002 → 2; B: 2001, 2002, 2003 → 3; C, D: 1.
    assert [main[c]["frequency"] for c in "ABCD"] == [2, 3, 1, 1]


def test_monetary_is_net_spend_exact_to_the_cent(main: dict[str, pd.Series]) -> None:
    # A: 7.65 + 0.10 + 0.20 - 2.55 = 5.40; B: 100 + 1.40 + 0.10 = 101.50; C: 9.95; D: 20.
    money(main["A"]["monetary"], 5.40)
    money(main["B"]["monetary"], 101.50)
    money(main["C"]["monetary"], 9.95)
    money(main["D"]["monetary"], 20.00)


def test_aov_is_monetary_over_frequency(main: dict[str, pd.Series]) -> None:
    # A: 5.40 / 2 = 2.70; B: 101.50 / 3; C: 9.95; D: 20.
    assert main["A"]["aov"] == pytest.approx(2.70)
    assert main["B"]["aov"] == pytest.approx(101.50 / 3)
    assert main["C"]["aov"] == pytest.approx(9.95)
    assert main["D"]["aov"] == pytest.approx(20.0)


def test_quantity_is_net_units(main: dict[str, pd.Series]) -> None:
    # A: 3 + 1 + 2 - 1 = 5; B: 1 + 4 + 2 = 7; C: 5; D: 1.
    assert [main[c]["quantity"] for c in "ABCD"] == [5, 7, 5, 1]


def test_avg_unit_price_is_gross_spend_over_gross_units(main: dict[str, pd.Series]) -> None:
    # A: (7.65 + 0.10 + 0.20) / (3 + 1 + 2) = 7.95 / 6 = 1.325 (the return is not counted).
    # B: 101.50 / 7 = 14.5; C: 9.95 / 5 = 1.99; D: 20.
    assert main["A"]["avg_unit_price"] == pytest.approx(1.325)
    assert main["B"]["avg_unit_price"] == pytest.approx(14.5)
    assert main["C"]["avg_unit_price"] == pytest.approx(1.99)
    assert main["D"]["avg_unit_price"] == pytest.approx(20.0)


def test_interpurchase_days(main: dict[str, pd.Series]) -> None:
    # A: (03-05 - 03-01) / (2 - 1) = 4. B: (03-09 - 03-02) / (3 - 1) = 3.5.
    # C and D: one order → null.
    assert main["A"]["interpurchase_days"] == pytest.approx(4.0)
    assert main["B"]["interpurchase_days"] == pytest.approx(3.5)
    assert pd.isna(main["C"]["interpurchase_days"])
    assert pd.isna(main["D"]["interpurchase_days"])


def test_return_rate(main: dict[str, pd.Series]) -> None:
    # A: returned 2.55 of gross 7.95. Others: no return → 0.
    assert main["A"]["return_rate"] == pytest.approx(2.55 / 7.95)
    assert [main[c]["return_rate"] for c in "BCD"] == [0.0, 0.0, 0.0]


def test_n_categories_of_orders(main: dict[str, pd.Series]) -> None:
    # A: Food, Toys → 2; B: Books, Food, Toys → 3; C: Books; D: Garden.
    assert [main[c]["n_categories"] for c in "ABCD"] == [2, 3, 1, 1]


def test_shares_of_a_few_categories(main: dict[str, pd.Series]) -> None:
    # 4 categories (fewer than 8): one column each, share_other = 0. Shares of gross spend:
    # A: Food 7.65 / 7.95, Toys 0.30 / 7.95; B: Books 100 / 101.5, Food 1.4 / 101.5,
    # Toys 0.1 / 101.5; C: Books 1; D: Garden 1.
    expected = {
        "A": {"share_food": 7.65 / 7.95, "share_toys": 0.30 / 7.95},
        "B": {"share_books": 100 / 101.5, "share_food": 1.4 / 101.5, "share_toys": 0.1 / 101.5},
        "C": {"share_books": 1.0},
        "D": {"share_garden": 1.0},
    }
    columns = ["share_books", "share_food", "share_garden", "share_toys", "share_other"]
    for c, shares in expected.items():
        row = main[c]
        assert {k for k in row.index if k.startswith("share_")} == set(columns)
        for column in columns:
            assert row[column] == pytest.approx(shares.get(column, 0.0), abs=1e-12), (c, column)


def test_money_sums_are_exact_to_the_cent(tmp_path: Path) -> None:
    # Ten lines of 0.1 make 1.00; 0.1 + 0.2 = 0.30; 3 × 2.55 = 7.65 three times = 22.95.
    header = ["customer_id", "date", "quantity", "unit_price"]
    rows = [["P", f"2024-01-{d:02d}", "1", "0.1"] for d in range(1, 11)]
    rows += [["Q", "2024-01-01", "1", "0.1"], ["Q", "2024-01-02", "1", "0.2"]]
    rows += [["S", f"2024-01-0{d}", "3", "2.55"] for d in (1, 2, 3)]
    customers = by_id(run(tmp_path, header, rows))
    money(customers["P"]["monetary"], 1.00)
    money(customers["Q"]["monetary"], 0.30)
    money(customers["S"]["monetary"], 22.95)
    money(customers["S"]["aov"], 7.65)


def test_return_rate_is_zero_when_gross_is_zero(tmp_path: Path) -> None:
    # G: a free order (0) and a return of 5 → gross 0, return_rate 0, monetary -5.
    header = ["customer_id", "date", "amount"]
    rows = [
        ["G", "2024-01-01", "0"],
        ["G", "2024-01-02", "-5"],
        ["H", "2024-01-01", "10"],
        ["H", "2024-01-02", "-4"],
        ["I", "2024-01-03", "30"],
    ]
    customers = by_id(run(tmp_path, header, rows))
    assert customers["G"]["return_rate"] == 0.0
    money(customers["G"]["monetary"], -5.0)
    assert customers["G"]["frequency"] == 1
    # H: returned 4 of gross 10 → 0.4.
    assert customers["H"]["return_rate"] == pytest.approx(0.4)


def test_quantity_features_absent_without_quantity(tmp_path: Path) -> None:
    header = ["customer_id", "date", "amount"]
    rows = [["A", "2024-01-01", "1"], ["B", "2024-01-02", "2"], ["C", "2024-01-03", "4"]]
    table = run(tmp_path, header, rows).customers
    for column in ("quantity", "avg_unit_price", "n_categories"):
        assert column not in table or table[column].isna().all()


# Ten categories with gross spend 100, 90, ..., 10 (returns not counted), and one blank one.
# Top 8 by gross: Home & Garden 100 (net only 5: its return of 95 must not matter),
# Électronique 90, Kids' Toys! 80, BOOKS 70, Food/Drink 60, Sport 2000 50, Beauty 40,
# Tools 30. Pets 20, misc 10 and the blank category go to share_other.
SHARE_ROWS = [
    ["X", "2024-05-01", "100", "Home & Garden"],
    ["X", "2024-05-01", "90", "Électronique"],
    ["X", "2024-05-02", "10", "misc"],
    ["X", "2024-05-03", "-95", "Home & Garden"],
    ["Y", "2024-05-01", "80", "Kids' Toys!"],
    ["Y", "2024-05-02", "70", "BOOKS"],
    ["Y", "2024-05-02", "20", "Pets"],
    ["Y", "2024-05-03", "-5", "Tools"],
    ["Z", "2024-05-01", "60", "Food/Drink"],
    ["Z", "2024-05-01", "50", "Sport 2000"],
    ["Z", "2024-05-02", "40", "Beauty"],
    ["Z", "2024-05-02", "30", "Tools"],
    ["Z", "2024-05-03", "15", ""],
]
SHARE_COLUMNS = {
    "Home & Garden": "share_home_garden",
    "Électronique": "share__lectronique",  # "é" is not in a–z: it becomes "_"
    "Kids' Toys!": "share_kids_toys_",
    "BOOKS": "share_books",
    "Food/Drink": "share_food_drink",
    "Sport 2000": "share_sport_2000",
    "Beauty": "share_beauty",
    "Tools": "share_tools",
}


def test_share_columns_top_8_categories_and_other(tmp_path: Path) -> None:
    header = ["customer_id", "date", "amount", "category"]
    result = run(tmp_path, header, SHARE_ROWS)
    share_columns = {c for c in result.customers.columns if c.startswith("share_")}
    assert share_columns == set(SHARE_COLUMNS.values()) | {"share_other"}
    customers = by_id(result)
    # X gross 200: Home & Garden 0.5, Électronique 0.45, other (misc) 0.05.
    # Y gross 170 (the Tools return excluded): Kids 80/170, BOOKS 70/170, other (Pets) 20/170.
    # Z gross 195: Food/Drink 60, Sport 2000 50, Beauty 40, Tools 30, other (blank) 15.
    expected = {
        "X": {"share_home_garden": 0.5, "share__lectronique": 0.45, "share_other": 0.05},
        "Y": {"share_kids_toys_": 80 / 170, "share_books": 70 / 170, "share_other": 20 / 170},
        "Z": {
            "share_food_drink": 60 / 195,
            "share_sport_2000": 50 / 195,
            "share_beauty": 40 / 195,
            "share_tools": 30 / 195,
            "share_other": 15 / 195,
        },
    }
    for c, shares in expected.items():
        for column in sorted(share_columns):
            assert customers[c][column] == pytest.approx(shares.get(column, 0.0), abs=1e-12), (
                c,
                column,
            )
        assert math.isclose(sum(customers[c][col] for col in share_columns), 1.0)
    # X: monetary 200 - 95 = 105, return_rate 95 / 200; n_categories of orders:
    # X 3 (Home & Garden, Électronique, misc), Y 3 (Tools is only returned), Z 4 (blank is no
    # category).
    money(customers["X"]["monetary"], 105.0)
    assert customers["X"]["return_rate"] == pytest.approx(0.475)
    assert [customers[c]["n_categories"] for c in "XYZ"] == [3, 3, 4]
