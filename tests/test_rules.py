"""Segments as CRM rules (docs/reference/rules.md): thresholds found where they are, rules.sql
equal to rules.json on every customer, honest fidelity, audience files."""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd
import pytest

from helpers import SHARED_DATA, write_csv
from segmint import segment
from segmint.rules.export import audience_files, rule_text, sql_expression
from segmint.rules.tree import Condition, Rules, learn_rules

DATA = SHARED_DATA
pytestmark = pytest.mark.shared_data


def separable() -> tuple[pd.DataFrame, np.ndarray]:
    """Segments cut at recency 30/45 days and spend 400/600: 0 recent; 1 lapsed big; 2 lapsed small."""
    rng = np.random.default_rng(2)
    recency = np.concatenate([rng.integers(0, 31, 100), rng.integers(45, 400, 200)])
    spend = np.concatenate(
        [rng.uniform(10, 2000, 100), rng.uniform(600, 3000, 100), rng.uniform(5, 400, 100)]
    )
    frequency = rng.integers(1, 9, 300)
    labels = np.array([0] * 100 + [1] * 100 + [2] * 100)
    table = pd.DataFrame({"recency_days": recency, "frequency": frequency, "monetary": spend})
    return table, labels


def test_exactly_separable_segments_get_their_thresholds_and_full_fidelity():
    table, labels = separable()
    rules = learn_rules(table, labels, ["Recent", "Lapsed Big", "Lapsed Small"],
                        ["recency_days", "frequency", "monetary"], seed=0)  # fmt: skip
    assert rules.fidelity == 1.0 and rules.segment_fidelity == [1.0, 1.0, 1.0]
    assert rules.max_depth == 2  # the smallest depth tried reaches 90%
    assert rules.depths == [{"depth": 2, "fidelity": 1.0}]
    # Recency splits between 30 and 45 days: a whole number of days in that gap.
    assert rules.rules[0] == [[Condition("recency_days", "<=", rules.rules[0][0][0].value)]]
    assert 30 <= rules.rules[0][0][0].value < 45 and float(rules.rules[0][0][0].value).is_integer()
    # Spend splits in the gap 400..600, at a value of two significant figures.
    (clause,) = rules.rules[1]
    spend = next(c for c in clause if c.feature == "monetary")
    assert (
        spend.op == ">" and 400 <= spend.value < 600 and float(f"{spend.value:.2g}") == spend.value
    )
    assert (rules.assign(table) == labels).all()
    assert "ordered in the last" in rule_text(rules.rules[0])


def test_rounding_that_would_cost_fidelity_is_not_made():
    # Spend splits at 1235.0 with customers at 1230.25 and 1239.75 on either side: 1200
    # would misplace half of them, so the threshold keeps its cents.
    spend = np.array([1230.25] * 50 + [1239.75] * 50)
    table = pd.DataFrame({"recency_days": np.arange(100) % 7, "monetary": spend})
    labels = np.array([0] * 50 + [1] * 50)
    rules = learn_rules(table, labels, ["A", "B"], ["recency_days", "monetary"], seed=0)
    assert rules.fidelity == 1.0
    (clause,) = rules.rules[0]
    assert clause == [Condition("monetary", "<=", 1235.0)]


@pytest.fixture(scope="module", params=["online_retail_sample.csv", "cdnow_sample.csv", "zeotap"])
def run_dir(request, tmp_path_factory):
    out = tmp_path_factory.mktemp("rules") / "out"
    if request.param == "zeotap":
        z = DATA / "zeotap"
        inputs, extra = z / "Transactions.csv", {"products_file": str(z / "Products.csv")}
    else:
        inputs, extra = DATA / request.param, {}
    segment(inputs, **extra).write(out)  # default settings: the default k range and depth
    return out


def test_rules_sql_in_duckdb_equals_rules_json_for_every_customer(run_dir):
    table = pd.read_parquet(run_dir / "segments.parquet")
    rules = Rules.from_json(json.loads((run_dir / "rules.json").read_text()))
    expression = (run_dir / "rules.sql").read_text()
    with duckdb.connect() as con:
        sql = f"SELECT customer_id, {expression} FROM read_parquet('{run_dir}/segments.parquet')"
        by_sql = con.execute(sql).df()
    assert (by_sql["customer_id"] == table["customer_id"]).all()
    by_json = [rules.names[i] for i in rules.assign(table)]
    assert (by_sql["segment_name"] == by_json).all()  # every customer matched, the same way


def test_reported_fidelity_is_what_the_rules_do(run_dir):
    table = pd.read_parquet(run_dir / "segments.parquet")
    saved = json.loads((run_dir / "rules.json").read_text())
    summary = json.loads((run_dir / "summary.json").read_text())
    assigned = Rules.from_json(saved).assign(table)
    fidelity = float((assigned == table["segment_id"].to_numpy()).mean())
    assert saved["fidelity"] == pytest.approx(fidelity, abs=1e-12)
    assert summary["rules"]["fidelity"] == pytest.approx(fidelity, abs=1e-12)
    assert fidelity >= 0.85  # the floor on every shared dataset at the default depth
    for entry in summary["segments"]:
        inside = table["segment_id"].to_numpy() == entry["id"]
        assert entry["rule_fidelity"] == pytest.approx((assigned[inside] == entry["id"]).mean())


def test_rules_json_round_trips(run_dir):
    saved = json.loads((run_dir / "rules.json").read_text())
    again = Rules.from_json(saved).as_json()
    assert json.loads(json.dumps(again)) == saved
    assert (run_dir / "rules.sql").read_text() == sql_expression(Rules.from_json(saved))


def spark_reading(expression: str, source: str) -> str:
    """Return the query as Spark SQL reads it, written back for DuckDB by sqlglot."""
    import sqlglot

    return sqlglot.transpile(f"SELECT customer_id, {expression} FROM {source}", read="spark",
                             write="duckdb")[0]  # fmt: skip


def test_rules_sql_means_the_same_in_spark_sql(run_dir):
    # Read as Spark SQL (by sqlglot's Spark parser) and run in DuckDB, rules.sql assigns every
    # customer as it does read as DuckDB SQL.
    expression = (run_dir / "rules.sql").read_text()
    source = "segments"
    with duckdb.connect() as con:
        con.execute(
            f"CREATE VIEW segments AS SELECT * FROM read_parquet('{run_dir}/segments.parquet')"
        )
        as_duckdb = con.execute(f"SELECT customer_id, {expression} FROM {source}").fetchall()
        as_spark = con.execute(spark_reading(expression, source)).fetchall()
    assert as_spark == as_duckdb


def test_audiences_hold_every_customer_once_with_ids_as_written(run_dir):
    table = pd.read_parquet(run_dir / "segments.parquet")
    summary = json.loads((run_dir / "summary.json").read_text())
    names = [s["name"] for s in sorted(summary["segments"], key=lambda s: s["id"])]
    seen = []
    for segment_id, file_name in enumerate(audience_files(names)):
        ids = pd.read_csv(run_dir / "audiences" / file_name, dtype=str)["customer_id"].tolist()
        expected = table.loc[table["segment_id"] == segment_id, "customer_id"].tolist()
        assert ids == expected
        seen += ids
    assert sorted(seen) == sorted(table["customer_id"]) and len(seen) == len(set(seen))


def test_audience_files_carry_contact_columns(tmp_path):
    rows = [[f"00{i:02d}", f"2021-0{1 + i % 9}-1{i % 9}", str(10 + 7 * i)] for i in range(40)]
    rows += [[f"00{i:02d}", "2021-11-02", str(5 + i)] for i in range(0, 40, 3)]
    log = write_csv(tmp_path / "log.csv", ["customer_id", "date", "amount"], rows)
    people = [[f"00{i:02d}", f"p{i}@example.com", f"+44 20 7946 {i:04d}", "UK"] for i in range(40)]
    crm = write_csv(tmp_path / "crm.csv", ["CustomerID", "E-mail", "Phone", "Country"], people)
    segment(log, customers_file=str(crm), k=2, n_init=2).write(tmp_path / "out")
    files = sorted((tmp_path / "out" / "audiences").glob("*.csv"))
    first = pd.read_csv(files[0], dtype=str)
    assert list(first.columns) == ["customer_id", "E-mail", "Phone"]  # contacts, not Country
    row = first.iloc[0]
    assert row["E-mail"] == f"p{int(row['customer_id'])}@example.com"
    assert row["customer_id"].startswith("00")  # ids as written


def test_file_names_are_plain_and_unique():
    assert audience_files(["Can't Lose Them", "At Risk", "At-Risk", "§"]) == [
        "cant-lose-them.csv",
        "at-risk.csv",
        "at-risk-2.csv",
        "segment.csv",
    ]


def test_rules_depth_can_be_fixed(tmp_path):
    result = segment(DATA / "online_retail_sample.csv", k=4, n_init=2, rules_depth=2)
    assert result.summary["rules"]["max_depth"] == 2
    assert result.summary["rules"]["depths"] == [
        {"depth": 2, "fidelity": result.summary["rules"]["fidelity"]}
    ]


def test_a_name_with_a_quote_reads_the_same_in_duckdb_and_spark():
    rules = Rules(["Can't Lose Them", "Other"], [[[Condition("frequency", ">", 3.0)]],
                  [[Condition("frequency", "<=", 3.0)]]], 1, 1.0, [1.0, 1.0])  # fmt: skip
    expression = sql_expression(rules)
    assert "concat('Can', chr(39), 't Lose Them')" in expression
    with duckdb.connect() as con:
        con.execute(
            "CREATE TABLE t AS SELECT * FROM (VALUES ('a', 5), ('b', 1)) v(customer_id, frequency)"
        )
        as_duckdb = con.execute(f"SELECT customer_id, {expression} FROM t").fetchall()
        as_spark = con.execute(spark_reading(expression, "t")).fetchall()
    assert as_duckdb == as_spark == [("a", "Can't Lose Them"), ("b", "Other")]
    # The doubled quote DuckDB would accept is two adjacent strings to Spark: "Cant".
    doubled = "CASE WHEN frequency > 3 THEN 'Can''t' END AS segment_name"
    with duckdb.connect() as con:
        con.execute("CREATE TABLE t AS SELECT * FROM (VALUES ('a', 5)) v(customer_id, frequency)")
        assert con.execute(spark_reading(doubled, "t")).fetchall() != [("a", "Can't")]


def test_audiences_carry_the_churn_risk_clv_and_next_order_date(run_dir):
    # With CLV on, each audience row adds the customer's marketing figures after the
    # contacts, the same values as segments.parquet.
    table = pd.read_parquet(run_dir / "segments.parquet").set_index("customer_id")
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["clv"]["enabled"]
    names = [s["name"] for s in sorted(summary["segments"], key=lambda s: s["id"])]
    columns = ["p_alive", "p_no_order_365d", "expected_orders_365d", "clv_365d", "next_order_by"]
    for file_name in audience_files(names):
        audience = pd.read_csv(run_dir / "audiences" / file_name, dtype={"customer_id": str})
        assert list(audience.columns) == ["customer_id", *columns]
        expected = table.loc[audience["customer_id"]]
        for column in columns[:-1]:
            np.testing.assert_allclose(audience[column], expected[column], rtol=1e-12)
        dates = [None if pd.isna(d) else str(d) for d in expected["next_order_by"]]
        assert [None if pd.isna(d) else d for d in audience["next_order_by"]] == dates
