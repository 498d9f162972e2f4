"""`--engine spark` equals the DuckDB engine: features to the cent, the same segments and names.

One Spark run per shared dataset (module fixture), compared with the DuckDB engine's run of
the same file and settings, customer by customer.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from helpers import SHARED_DATA
from segmint import segment
from segmint.cli import main
from segmint.errors import SegmintError, UsageError
from segmint.pipeline import segment_on_spark

pytestmark = [pytest.mark.spark, pytest.mark.shared_data]

DATA = SHARED_DATA
DATASETS = ["online_retail_sample.csv", "cdnow_sample.csv", "zeotap/Transactions.csv"]
MONEY = ("monetary", "aov", "avg_unit_price")
SETTINGS = {"n_init": 3}


@pytest.fixture(scope="module", params=DATASETS)
def both(request, spark):
    """The DuckDB engine's result and the Spark engine's, with the Spark table collected
    here (the test's own check, not something a run does)."""
    path = DATA / request.param
    duck = segment(path, **SETTINGS)
    run = segment_on_spark(spark, path, **SETTINGS)
    table = run.customers.toPandas().sort_values("customer_id", kind="stable")
    return duck, run, table.reset_index(drop=True)


def assert_same_interval(a: list[float] | None, b: list[float] | None) -> None:
    """Both engines give an interval and it is the same, or neither gives one."""
    assert (a is None) == (b is None)
    if a is not None:
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_every_feature_equals_duckdbs_money_to_the_cent(both):
    duck, run, table = both
    summary, spark_summary = duck.summary["input"], run.summary["input"]
    for key in ("rows_read", "rows_used", "rows_dropped", "as_of", "period", "customers"):
        assert spark_summary[key] == summary[key], key
    expected = duck.customers.sort_values("customer_id", kind="stable").reset_index(drop=True)
    assert table.columns.tolist() == expected.columns.tolist()
    assert table["customer_id"].tolist() == expected["customer_id"].tolist()
    clv = [
        c for c in expected.columns if c.startswith(("p_alive", "p_no_order", "expected_", "clv_"))
    ]
    for column in expected.columns.drop(["segment_id", "segment_name", "next_order_by", *clv]):
        a, b = expected[column], table[column]
        if pd.api.types.is_float_dtype(a):
            both_known = a.notna() & b.notna()
            assert (a.isna() == b.isna()).all(), column
            if column in MONEY:  # money to the cent
                assert (a[both_known].round(2) == b[both_known].round(2)).all(), column
            np.testing.assert_allclose(b[both_known], a[both_known], rtol=1e-12, err_msg=column)
        else:
            assert a.tolist() == b.tolist(), column
    for column in clv:  # scored by Spark's executors with the same functions
        np.testing.assert_allclose(table[column], expected[column], rtol=1e-9, err_msg=column)

    # The next order's date: the same day, or no date, for every customer.
    def dates(column: pd.Series) -> list:
        return [None if pd.isna(v) else v for v in column.tolist()]

    assert dates(table["next_order_by"]) == dates(expected["next_order_by"])
    assert expected["next_order_by"].notna().any()


def test_same_segments_and_names(both):
    duck, run, table = both
    expected = duck.customers.sort_values("customer_id", kind="stable").reset_index(drop=True)
    assert run.model.k_ == duck.model.k_
    assert adjusted_rand_score(expected["segment_id"], table["segment_id"]) >= 0.99
    assert run.model.names_ == duck.model.names_
    assert (table["segment_name"] == expected["segment_name"]).mean() >= 0.99
    np.testing.assert_allclose(run.model.centers_, duck.model.centers_, rtol=1e-7, atol=1e-9)


def test_summary_figures_equal_duckdbs(both):
    duck, run, _ = both
    a, b = duck.summary, run.summary
    assert b["totals"]["customers"] == a["totals"]["customers"]
    assert b["totals"]["orders"] == a["totals"]["orders"]
    assert b["totals"]["revenue"] == pytest.approx(a["totals"]["revenue"], rel=1e-12)
    assert [r["name"] for r in b["rfm_segments"]] == [r["name"] for r in a["rfm_segments"]]
    for x, y in zip(a["revenue_concentration"], b["revenue_concentration"], strict=True):
        assert y["customers"] == x["customers"]
        assert y["revenue_share"] == pytest.approx(x["revenue_share"], rel=1e-12)
    for x, y in zip(a["segments"], b["segments"], strict=True):
        assert (y["name"], y["customers"], y["traits"]) == (x["name"], x["customers"], x["traits"])
        assert y["top_categories"] == x["top_categories"]
        assert y["strategy"] == x["strategy"]
        for key in ("revenue", "aov_mean", "recency_days_mean", "monetary_mean"):
            assert y[key] == pytest.approx(x[key], rel=1e-12), key
    chosen = next(s for s in b["selection"]["scores"] if s["k"] == run.model.k_)
    expected = next(s for s in a["selection"]["scores"] if s["k"] == duck.model.k_)
    for key in ("davies_bouldin", "calinski_harabasz", "inertia", "silhouette"):
        assert chosen[key] == pytest.approx(expected[key], rel=1e-9), key
    assert b["clv"]["enabled"] == a["clv"]["enabled"]
    if a["clv"]["enabled"]:
        assert b["clv"]["totals"]["clv_total"] == pytest.approx(a["clv"]["totals"]["clv_total"])
        assert b["clv"]["totals"]["likely_lost"] == a["clv"]["totals"]["likely_lost"]
        assert b["clv"]["model"]["params"] == pytest.approx(a["clv"]["model"]["params"])
        assert_same_interval(b["clv"]["totals"]["clv_total_interval"],
                             a["clv"]["totals"]["clv_total_interval"])  # fmt: skip
        assert b["clv"]["interval"] == a["clv"]["interval"]
    assert b["rules"]["fidelity"] == pytest.approx(a["rules"]["fidelity"], abs=1e-12)


@pytest.mark.slow
def test_sampled_run_chooses_k_on_the_md5_sample_and_measures_everyone(spark):
    """More customers than sample_size: both engines choose k on the same md5-ordered
    sample, refine on everyone (Spark: Lloyd as Spark aggregations) and agree; the figures
    of summary.json are over every customer."""
    path = DATA / "cdnow_sample.csv"
    run = segment_on_spark(spark, path, sample_size=1000, n_init=3)
    duck = segment(path, sample_size=1000, n_init=3)
    table = run.customers.toPandas().sort_values("customer_id").reset_index(drop=True)
    assert duck.summary["selection"]["sampled"] is True
    assert run.model.k_ == duck.model.k_
    assert run.model.names_ == duck.model.names_
    assert adjusted_rand_score(duck.customers["segment_id"], table["segment_id"]) >= 0.99
    chosen = [next(s for s in r.summary["selection"]["scores"] if s["k"] == r.model.k_)
              for r in (run, duck)]  # fmt: skip
    assert chosen[0]["davies_bouldin"] == pytest.approx(chosen[1]["davies_bouldin"], rel=1e-3)
    # Every other k: the same sample fit, scored over every customer (Spark SQL vs numpy).
    for a, b in zip(run.summary["selection"]["scores"], duck.summary["selection"]["scores"],
                    strict=True):  # fmt: skip
        if a["k"] != run.model.k_:
            for key in ("davies_bouldin", "calinski_harabasz", "inertia", "smallest_share"):
                assert a[key] == pytest.approx(b[key], rel=1e-9), (a["k"], key)
    assert run.summary["selection"]["sampled"] is True
    assert len(run.sample) == 1000 == run.summary["selection"]["sample_size"]
    # The sample, computed independently with DuckDB's md5.
    with duckdb.connect() as con:
        con.register("everyone", table[["customer_id"]])
        first = con.execute(
            "SELECT customer_id FROM everyone "
            "ORDER BY md5(concat('0', '|', customer_id)), customer_id LIMIT 1000"
        ).fetchall()
    assert sorted(r[0] for r in first) == sorted(run.sample["customer_id"])
    # Every customer is at its nearest delivered centre.
    scaled = run.model.scaled(table)
    distances = ((scaled[:, None, :] - run.model.centers_[None]) ** 2).sum(axis=2)
    assert (distances.argmin(axis=1) == table["segment_id"].to_numpy()).all()
    # summary.json's figures are over every customer, not the sample.
    assert run.summary["totals"]["customers"] == len(table)
    assert run.summary["totals"]["revenue"] == pytest.approx(table["monetary"].sum(), rel=1e-12)
    for entry in run.summary["segments"]:
        inside = table[table["segment_id"] == entry["id"]]
        assert entry["customers"] == len(inside)
        assert entry["recency_days_mean"] == pytest.approx(inside["recency_days"].mean())
    assert any("seeded sample of 1,000" in w for w in run.summary["warnings"])
    # Both engines fit the CLV models on every customer, not on the sample (Spark collapses
    # them with a GROUP BY into the same distinct rows), and score every customer.
    clv = [r.summary["clv"] for r in (run, duck)]
    assert clv[0]["model"]["customers"] == clv[1]["model"]["customers"] == len(table)
    assert clv[0]["model"]["distinct_rows"] == clv[1]["model"]["distinct_rows"] < len(table)
    assert clv[0]["model"]["name"] == clv[1]["model"]["name"] == "pareto-nbd"
    for name, value in clv[1]["model"]["params"].items():
        assert clv[0]["model"]["params"][name] == pytest.approx(value, rel=1e-9), name
    for name in ("p", "q", "gamma", "customers"):
        assert clv[0]["gamma_gamma"][name] == pytest.approx(clv[1]["gamma_gamma"][name], rel=1e-6)
    duck_table = duck.customers.sort_values("customer_id").reset_index(drop=True)
    np.testing.assert_allclose(table["p_alive"], duck_table["p_alive"], rtol=1e-9)
    # The intervals: the same delta method over the same groups of customers.
    assert_same_interval(clv[0]["totals"]["clv_total_interval"],
                         clv[1]["totals"]["clv_total_interval"])  # fmt: skip
    for a, b in zip(run.summary["segments"], duck.summary["segments"], strict=True):
        assert_same_interval(a["clv_total_interval"], b["clv_total_interval"])
        assert a["p_no_order_mean"] == pytest.approx(b["p_no_order_mean"], rel=1e-9)


@pytest.mark.slow
def test_spark_table_input_equals_the_file(spark):
    path = DATA / "online_retail_sample.csv"
    spark.read.option("header", True).csv(str(path)).createOrReplaceTempView("retail_lines")
    run = segment_on_spark(spark, "spark:retail_lines", k=4, n_init=2, clv=False)
    duck = segment(path, k=4, n_init=2, clv=False)
    table = run.customers.toPandas().sort_values("customer_id").reset_index(drop=True)
    expected = duck.customers.sort_values("customer_id").reset_index(drop=True)
    assert run.summary["input"]["files"] == ["spark:retail_lines"]
    assert table["customer_id"].tolist() == expected["customer_id"].tolist()
    assert (table["frequency"] == expected["frequency"]).all()
    assert adjusted_rand_score(expected["segment_id"], table["segment_id"]) >= 0.99


@pytest.mark.slow
def test_cli_writes_every_output_with_spark(spark, tmp_path, capsys):
    out = tmp_path / "out"
    path = DATA / "online_retail_sample.csv"
    assert main(["run", str(path), "--out", str(out), "--engine", "spark", "--k", "4",
                 "--quiet"]) == 0  # fmt: skip
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([
        "audiences", "charts", "model.json", "report.html", "report.md", "rules.json",
        "rules.sql", "segments.csv", "segments.parquet", "summary.json",
    ])  # fmt: skip
    summary = json.loads((out / "summary.json").read_text())
    assert summary["engine"]["customers_table"]["parquet"] == "segments.parquet/"
    written = pd.read_parquet(out / "segments.parquet")
    assert len(written) == summary["totals"]["customers"]
    with duckdb.connect() as con:  # the CSV part files hold the same customers
        csv_ids = con.execute(
            f"SELECT count(DISTINCT customer_id) FROM read_csv('{out}/segments.csv/*.csv', "
            "header = true, all_varchar = true)"
        ).fetchone()[0]
    assert csv_ids == len(written)
    audiences = sorted(p.name for p in (out / "audiences").iterdir())
    assert len(audiences) == 4
    assert capsys.readouterr().err == ""


def test_cli_bad_input_and_settings_with_spark(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(tmp_path / "missing.csv"), "--out", str(out), "--engine", "spark"]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("error: ")
    assert main(["run", str(DATA / "cdnow_sample.csv"), "--out", str(out), "--engine", "spark",
                 "--spark-conf", "nonsense"]) == 2  # fmt: skip
    assert "--spark-conf 'nonsense'" in capsys.readouterr().err
    assert main(["run", str(DATA / "cdnow_sample.csv"), "--out", str(out), "--engine", "spark",
                 "--memory-limit", "2GB"]) == 2  # fmt: skip
    assert "not supported by the Spark engine" in capsys.readouterr().err
    assert main(["run", str(DATA / "cdnow_sample.csv"), "--out", str(out), "--engine", "spark",
                 "--previous", str(tmp_path)]) == 2  # fmt: skip
    assert "no model.json there" in capsys.readouterr().err
    cut = tmp_path / "cut.csv"  # an export cut short: its last line has 2 of 4 fields
    text = (DATA / "cdnow_sample.csv").read_text()
    cut.write_text(text + text.split("\n", 1)[1] * 3 + "18008,19970")
    assert main(["run", str(cut), "--out", str(out), "--engine", "spark"]) == 2
    assert "line 27,678 has 2 fields where the header has 4" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.slow
def test_parquet_input_equals_the_duckdb_engine(spark, tmp_path):
    parquet = tmp_path / "lines.parquet"
    with duckdb.connect() as con:  # typed columns, as an export would have them
        con.execute(f"COPY (SELECT * FROM read_csv('{DATA / 'cdnow_sample.csv'}')) TO '{parquet}'")
    run = segment_on_spark(spark, parquet, k=4, n_init=2, clv=False)
    duck = segment(parquet, k=4, n_init=2, clv=False)
    table = run.customers.toPandas().sort_values("customer_id").reset_index(drop=True)
    expected = duck.customers.sort_values("customer_id").reset_index(drop=True)
    assert table["customer_id"].tolist() == expected["customer_id"].tolist()
    assert (table["monetary"].round(2) == expected["monetary"].round(2)).all()
    assert adjusted_rand_score(expected["segment_id"], table["segment_id"]) >= 0.99
    assert run.model.names_ == duck.model.names_


@pytest.mark.slow
def test_encodings_spark_reads_and_those_it_refuses(spark, tmp_path):
    lines = (DATA / "online_retail_sample.csv").read_text("utf-8").splitlines()[:2000]
    text = (
        "\n".join(lines[:1] + [x.replace(",United Kingdom", ",Großbritannien") for x in lines[1:]])
        + "\n"
    )
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    run = segment_on_spark(spark, bom, k=3, n_init=2, clv=False)
    duck = segment(bom, k=3, n_init=2, clv=False)
    assert run.summary["input"]["rows_used"] == duck.summary["input"]["rows_used"]
    assert run.customers.count() == len(duck.customers)
    for encoding in ("cp1252", "utf-16"):
        path = tmp_path / f"{encoding}.csv"
        path.write_bytes(text.encode(encoding))
        with pytest.raises(UsageError, match=f"this file is {encoding.upper()}"):
            segment_on_spark(spark, path, k=3)


@pytest.mark.slow
def test_decimal_comma_amounts_equal_the_duckdb_engine(spark, tmp_path):
    """A semicolon file of decimal-comma amounts, some written with a decimal point or
    thousands dots: both engines read each as the same number as the original file."""
    original = pd.read_csv(DATA / "cdnow_sample.csv", dtype=str)
    amounts = original["amount"].astype(float)
    written = [f"{a:.2f}".replace(".", ",") for a in amounts]
    for i in range(0, len(written), 7):  # a decimal point in a decimal-comma column
        written[i] = f"{amounts[i]:.2f}"
    for i in range(3, len(written), 11):  # a thousands dot: 1.029,33 for 1029.33
        amounts[i] += 1000
        whole, cents = f"{amounts[i]:.2f}".split(".")
        written[i] = f"{whole[:-3]}.{whole[-3:]},{cents}"
    path = tmp_path / "comma.csv"
    frame = original.assign(amount=written)
    frame.to_csv(path, sep=";", index=False)
    kept = ~frame.duplicated()  # exact duplicate rows count once
    run = segment_on_spark(spark, path, k=3, n_init=2, clv=False)
    duck = segment(path, k=3, n_init=2, clv=False)
    table = run.customers.toPandas().sort_values("customer_id").reset_index(drop=True)
    expected = duck.customers.sort_values("customer_id").reset_index(drop=True)
    by_customer = amounts[kept].groupby(original["customer_id"][kept]).sum().round(2)
    assert duck.summary["input"]["rows_dropped"]["invalid_amount"] == 0
    monetary = expected.set_index("customer_id")["monetary"].round(2)
    assert (monetary - by_customer.reindex(monetary.index)).abs().max() < 0.005
    assert (table["monetary"].round(2) == expected["monetary"].round(2)).all()


@pytest.mark.slow
def test_products_file_gives_the_same_categories_as_the_duckdb_engine(spark):
    """--products: the lines take their product's category through the same join SQL in
    both engines, so the category shares are equal customer by customer."""
    zeotap = DATA / "zeotap"
    options = {"products_file": str(zeotap / "Products.csv"), "k": 4, "n_init": 2, "clv": False}
    run = segment_on_spark(spark, zeotap / "Transactions.csv", **options)
    duck = segment(zeotap / "Transactions.csv", **options)
    table = run.customers.toPandas().sort_values("customer_id").reset_index(drop=True)
    expected = duck.customers.sort_values("customer_id").reset_index(drop=True)
    shares = [c for c in expected.columns if c.startswith("share_")]
    assert len(shares) >= 3 and shares == [c for c in table.columns if c.startswith("share_")]
    assert np.allclose(table[shares].to_numpy(), expected[shares].to_numpy(), atol=1e-12)
    assert (table["n_categories"] == expected["n_categories"]).all()
    assert expected["n_categories"].max() > 1


@pytest.mark.slow
def test_customers_file_gives_the_same_attributes_and_audiences_as_the_duckdb_engine(
    spark, tmp_path
):
    """--customers: each segment's Region shares, counted by Spark over every customer,
    equal the DuckDB engine's; the audiences carry the contact column."""
    zeotap = DATA / "zeotap"
    customers = pd.read_csv(zeotap / "Customers.csv", dtype=str)
    customers["Email"] = customers["CustomerID"].str.lower() + "@example.com"
    customers["Phone"] = None  # a contact column with no value at all
    path = tmp_path / "customers.csv"
    customers.to_csv(path, index=False)
    options = {"customers_file": str(path), "k": 4, "n_init": 2, "clv": False}
    run = segment_on_spark(spark, zeotap / "Transactions.csv", **options)
    duck = segment(zeotap / "Transactions.csv", **options)
    assert run.model.names_ == duck.model.names_
    spark_attributes = [e["attributes"] for e in run.summary["segments"]]
    duck_attributes = [e["attributes"] for e in duck.summary["segments"]]
    assert spark_attributes == duck_attributes and "Region" in duck_attributes[0]
    run.write(tmp_path / "out")
    audiences = sorted((tmp_path / "out" / "audiences").iterdir())
    written = pd.concat(pd.read_csv(f, dtype=str) for a in audiences for f in a.glob("*.csv"))
    assert sorted(written.columns) == ["Email", "Phone", "customer_id"]
    assert written["Phone"].isna().all()
    assert (written["Email"] == written["customer_id"].str.lower() + "@example.com").all()
    assert len(written) == len(duck.customers)


@pytest.mark.slow
def test_previous_keeps_the_same_ids_names_and_moves_as_the_duckdb_engine(spark, tmp_path):
    """--previous: an earlier run's segments keep their ids and names, and the key moves are
    counted over every customer by Spark, as the DuckDB engine does; a later run can also
    start from the Spark run's own output folder (segments.parquet as Spark's parts)."""
    log = DATA / "cdnow_sample.csv"
    earlier = tmp_path / "earlier"
    segment(log, as_of="1998-01-31", k=4, n_init=2, clv=False).write(earlier)
    options = {"k": 5, "n_init": 2, "clv": False, "previous": str(earlier)}
    run = segment_on_spark(spark, log, **options)
    duck = segment(log, **options)
    assert run.model.names_ == duck.model.names_
    spark_previous, duck_previous = run.summary["previous"], duck.summary["previous"]
    for key in ("persisted", "appeared", "vanished", "moves"):
        assert spark_previous[key] == duck_previous[key], key
    assert [m["id"] for m in spark_previous["matches"]] == [
        m["id"] for m in duck_previous["matches"]
    ]
    assert spark_previous["persisted"] and spark_previous["moves"]
    run.write(tmp_path / "spark_run")
    again = segment(log, k=5, n_init=2, clv=False, previous=str(tmp_path / "spark_run"))
    assert again.summary["previous"]["persisted"] == duck.model.names_


def test_a_spark_error_after_the_reading_stages_is_a_bug_not_bad_input(spark, monkeypatch):
    # Spark's errors about the data become "cannot process it" (exit 2) only while the
    # inputs are read; the features stage materialises every customer, so a Spark error
    # later (here in the profile's aggregates) is a bug with its traceback (issue 26, item 5).
    from pyspark.errors import PySparkException

    from segmint.engines.spark_run import SparkEngine

    def broken(self, model):
        raise PySparkException("an aggregate of the profile stage failed")

    monkeypatch.setattr(SparkEngine, "groups", broken)
    with pytest.raises(PySparkException, match="profile stage"):
        segment_on_spark(spark, DATA / "online_retail_sample.csv", k=3, n_init=1, clv=False)

    def unreadable(self, lines, config):
        raise PySparkException("a line cannot be parsed")

    monkeypatch.setattr(SparkEngine, "clean", unreadable)
    with pytest.raises(SegmintError, match=r"online_retail_sample\.csv: Spark cannot process") as e:
        segment_on_spark(spark, DATA / "online_retail_sample.csv", k=3, n_init=1, clv=False)
    assert e.value.file.endswith("online_retail_sample.csv")


def test_the_spark_summary_meets_the_published_schema(both):
    # docs/reference/summary.schema.json, the engine block included (the runs of `both`)
    from jsonschema import Draft202012Validator

    from segmint.strict_json import dumps

    _, run, _ = both
    summary = json.loads(dumps(run.summary))  # as write_json writes it
    assert summary["engine"]["name"] == "spark"
    published = Path(__file__).resolve().parents[2] / "docs" / "reference" / "summary.schema.json"
    validator = Draft202012Validator(json.loads(published.read_text(encoding="utf-8")))
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(summary)]
    assert not errors, errors[:5]
    assert not validator.is_valid({**summary, "engine": {**summary["engine"], "cores": 2}})
