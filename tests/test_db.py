"""segmint.db.one_row: the first row, with the connection left free for the next statement."""

import duckdb
import pandas as pd

from segmint.db import one_row


def test_one_row_returns_the_first_row_and_leaves_no_result_open():
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT range AS x, range * 2 AS y FROM range(5000)")
    assert one_row(con.execute("SELECT x, y FROM t ORDER BY x DESC")) == (4999, 9998)
    # A result left open (DuckDB 2.0 after fetchone) would make register and sql fail here.
    con.register("frame", pd.DataFrame({"a": [7, 8]}))
    assert con.sql("SELECT sum(a) FROM frame").fetchall() == [(15,)]


def test_one_row_of_an_empty_result_is_none():
    con = duckdb.connect()
    assert one_row(con.execute("SELECT 1 WHERE FALSE")) is None
    assert one_row(con.execute("SELECT count(*), sum(x) FROM (SELECT 1 AS x WHERE FALSE)")) == (
        0,
        None,
    )
