"""Segment naming, descriptions and strategies: rules as data tables."""
