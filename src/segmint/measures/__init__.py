"""The full-data measures the profile and the summary are made of, computed where the
customers are: in memory (`groups`, `moments`, `attributes`) or as SQL (`sql`, which DuckDB
runs and the Spark engine transpiles). Below the engines and the profile: they measure,
the profile names and describes."""
