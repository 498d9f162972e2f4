"""Cleaning rules and per-customer features, as DuckDB SQL, plus RFM scoring."""
