"""Loads the fuzz suite's hypothesis profile (budget.py) before its tests are collected."""

import budget  # noqa: F401
