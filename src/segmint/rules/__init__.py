"""Segments as rules a CRM can apply: thresholds learned by a shallow tree, SQL and audiences."""
