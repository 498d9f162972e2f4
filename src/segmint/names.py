"""Unique names: the one rule for a name that is already taken (columns, files, segments)."""

from __future__ import annotations


def free_name(base: str, taken: set[str], separator: str) -> str:
    """Return base, else base + separator + 2, 3, …: the first not in taken, which it joins."""
    name, n = base, 2
    while name in taken:
        name, n = f"{base}{separator}{n}", n + 1
    taken.add(name)
    return name
