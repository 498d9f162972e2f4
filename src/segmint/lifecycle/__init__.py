"""Segments over time: comparing two runs, keeping segment identities, stability of the choice."""
