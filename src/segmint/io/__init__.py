"""Inputs and outputs: open any supported source as one DuckDB relation, find columns, write atomically."""
