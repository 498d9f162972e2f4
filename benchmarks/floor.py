"""The floor for the aggregation: one hand-written DuckDB query, recency/frequency/monetary.

    python benchmarks/floor.py FILE [--out RFM.parquet]

Reads the generated log (read_csv with auto-detection, or read_parquet) and groups by
CustomerID with Segmint's cleaning rules written by hand: lines without a CustomerID and
exact duplicate rows dropped, zero quantities and non-positive prices dropped; returns
(InvoiceNo starting with 'C' or a negative quantity) subtract from monetary but are not
orders; customers with no order left are left out. recency = days from the last order's day
to the latest day of the lines kept. Prints one JSON line: seconds and the number of customers.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

QUERY = """
WITH kept AS (
    SELECT CAST(CustomerID AS VARCHAR) AS customer_id, InvoiceNo,
           CAST(InvoiceDate AS TIMESTAMP) AS ts,
           Quantity * UnitPrice AS amount,
           starts_with(InvoiceNo, 'C') OR Quantity < 0 AS is_return
    FROM (SELECT DISTINCT * FROM {source})
    WHERE CustomerID IS NOT NULL AND Quantity <> 0 AND UnitPrice > 0
),
per_customer AS (
    SELECT customer_id,
           max(ts) FILTER (WHERE NOT is_return) AS last_order,
           max(ts) AS last_line,
           count(DISTINCT InvoiceNo) FILTER (WHERE NOT is_return) AS frequency,
           sum(amount) AS monetary
    FROM kept
    GROUP BY customer_id
    HAVING count(*) FILTER (WHERE NOT is_return) > 0
)
SELECT customer_id,
       date_diff('day', CAST(last_order AS DATE),
                 CAST(max(last_line) OVER () AS DATE)) AS recency_days,
       frequency,
       monetary
FROM per_customer
"""


def source_sql(path: str) -> str:
    """Return the DuckDB table function reading the file."""
    quoted = "'" + path.replace("'", "''") + "'"
    if path.endswith(".parquet"):
        return f"read_parquet({quoted})"
    return f"read_csv({quoted})"


def run(path: str, out: str | None = None) -> dict:
    """Run the query into a table (and out, when given); return its seconds and customers."""
    start = time.perf_counter()
    import duckdb

    imported = time.perf_counter()
    with duckdb.connect() as con:
        con.execute(f"CREATE TABLE rfm AS {QUERY.format(source=source_sql(path))}")
        customers = con.execute("SELECT count(*) FROM rfm").fetchone()[0]
        if out:
            quoted = "'" + out.replace("'", "''") + "'"
            con.execute(f"COPY rfm TO {quoted} (FORMAT parquet)")
    return {
        "tool": "floor",
        "file": path,
        "seconds": {
            "import": round(imported - start, 3),
            "query": round(time.perf_counter() - imported, 3),
        },
        "customers": int(customers),
        "duckdb": duckdb.__version__,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("--out", help="write the per-customer table here (Parquet)")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.file, args.out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
