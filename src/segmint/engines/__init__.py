"""Other engines for the same SQL: the DuckDB dialect transpiled (Spark SQL)."""
