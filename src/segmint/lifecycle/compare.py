"""`segmint compare OLD_DIR NEW_DIR` (docs/reference/outputs.md#compare-files): who moved where.

Customers are matched by id. The migration matrix counts old segment × new segment, with a
`(new)` row for customers only in the new run and a `(gone)` column for customers only in
the old one; its cells add up to the union of both runs' customers.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from segmint.errors import InputError

NEW, GONE = "(new)", "(gone)"
KEY_MOVES = 5


@dataclass(frozen=True)
class Run:
    """The per-customer segments and the summary of one earlier run's output folder."""

    folder: Path
    customers: pd.DataFrame  # customer_id, segment_name, monetary
    segment_names: list[str]  # in segment id order
    summary: dict

    @classmethod
    def read(cls, folder: str | Path) -> Run:
        folder = Path(folder)
        table, summary_file = folder / "segments.parquet", folder / "summary.json"
        for needed in (table, summary_file):  # the table: a file, or Spark's folder of parts
            if not needed.exists():
                raise InputError(f"{folder}: not a Segmint output folder (no {needed.name})")
        try:
            summary = json.loads(summary_file.read_text(encoding="utf-8"))
            names = segment_names(summary)
            as_of = summary["input"]["as_of"]
        except (ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
            raise InputError(
                f"{summary_file}: not the summary of a Segmint run ({type(exc).__name__}: {exc})"
            ) from None
        if not isinstance(as_of, str):
            raise InputError(f"{summary_file}: not the summary of a Segmint run (no as_of date)")
        try:
            customers = pd.read_parquet(
                table, columns=["customer_id", "segment_id", "segment_name", "monetary"]
            )
        except (ValueError, KeyError, OSError) as exc:
            raise InputError(f"{table}: cannot be read ({exc})", file=str(table)) from None
        return cls(folder, customers, names, summary)


@dataclass(frozen=True)
class Comparison:
    """The migration matrix, per-segment changes and the key moves in words."""

    matrix: pd.DataFrame  # rows: old segments + (new); columns: new segments + (gone)
    segments: list[dict]
    moves: list[str]
    summary: dict


def compare(old_dir: str | Path, new_dir: str | Path) -> Comparison:
    """Return the comparison of two output folders of `segmint run` (or `segmint score`)."""
    old, new = Run.read(old_dir), Run.read(new_dir)
    merged = _merged(old.customers, new.customers)
    matrix = migration_matrix(merged, old.segment_names, new.segment_names)
    rows, columns = list(matrix.index), list(matrix.columns)
    segments = _segment_changes(old, new)
    moves = key_moves(matrix)
    summary = {
        "old": str(old.folder),
        "new": str(new.folder),
        "as_of": {"old": old.summary["input"]["as_of"], "new": new.summary["input"]["as_of"]},
        "customers": {
            "old": len(old.customers),
            "new": len(new.customers),
            "both": int(merged[["segment_name_old", "segment_name_new"]].notna().all(axis=1).sum()),
            "union": len(merged),
        },
        "migration": {
            "rows": rows,
            "columns": columns,
            "counts": matrix.to_numpy().tolist(),
        },
        "segments": segments,
        "moves": moves,
    }
    return Comparison(matrix, segments, moves, summary)


def _merged(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    return old[["customer_id", "segment_name"]].merge(
        new[["customer_id", "segment_name"]],
        on="customer_id",
        how="outer",
        suffixes=("_old", "_new"),
    )


def migration_matrix(
    merged: pd.DataFrame, old_names: list[str], new_names: list[str]
) -> pd.DataFrame:
    """Return old segment (+ new) × new segment (+ gone) customer counts of merged customers."""
    pairs = merged.groupby(["segment_name_old", "segment_name_new"], dropna=False).size()
    return matrix_of_pairs(pairs.rename("n").reset_index(), old_names, new_names)


def matrix_of_pairs(
    pairs: pd.DataFrame, old_names: list[str], new_names: list[str]
) -> pd.DataFrame:
    """Return the migration matrix from customers counted per (old name, new name) pair
    (`segment_name_old`, `segment_name_new`, `n`; a missing name: not in that run)."""
    counts = pd.crosstab(
        pairs["segment_name_old"].fillna(NEW),
        pairs["segment_name_new"].fillna(GONE),
        values=pairs["n"],
        aggfunc="sum",
    ).fillna(0)
    matrix = counts.reindex(index=old_names + [NEW], columns=new_names + [GONE], fill_value=0)
    matrix = matrix.astype("int64")
    matrix.index.name, matrix.columns.name = "old segment", "new segment"
    return matrix


def segment_names(summary: dict) -> list[str]:
    """Return a run's segment names in segment id order (from its summary.json)."""
    return [s["name"] for s in sorted(summary["segments"], key=lambda s: s["id"])]


def moves_since(folder: str | Path, customers: pd.DataFrame, names: list[str]) -> list[str]:
    """Return the key moves from an earlier run's folder to this run's customers, in words."""
    old = Run.read(folder)
    matrix = migration_matrix(_merged(old.customers, customers), old.segment_names, names)
    return key_moves(matrix)


def _segment_changes(old: Run, new: Run) -> list[dict]:
    """Return each segment's customers and revenue in both runs (by name), with the changes."""
    names = list(dict.fromkeys(old.segment_names + new.segment_names))

    def figures(run: Run, name: str) -> tuple[int, float]:
        inside = run.customers.loc[run.customers["segment_name"] == name, "monetary"]
        return len(inside), math.fsum(inside)

    out = []
    for name in names:
        n_old, revenue_old = figures(old, name)
        n_new, revenue_new = figures(new, name)
        status = (
            "persisted"
            if name in old.segment_names and name in new.segment_names
            else ("appeared" if name in new.segment_names else "vanished")
        )
        out.append(
            {
                "name": name,
                "status": status,
                "customers_old": n_old,
                "customers_new": n_new,
                "customers_change": n_new - n_old,
                "revenue_old": revenue_old,
                "revenue_new": revenue_new,
                "revenue_change": revenue_new - revenue_old,
            }
        )
    return out


def key_moves(matrix: pd.DataFrame, limit: int = KEY_MOVES) -> list[str]:
    """Return the largest moves between different segments, in words, largest first.

    Ties are broken by the matrix order (old segment, then new segment), so the words are
    the same from run to run.
    """
    moves = []
    for i, source in enumerate(matrix.index):
        for j, target in enumerate(matrix.columns):
            n = int(matrix.iat[i, j])
            if n and source != target:
                moves.append((-n, i, j, _in_words(n, source, target)))
    return [words for *_, words in sorted(moves)[:limit]]


def _in_words(n: int, source: str, target: str) -> str:
    customers = "customer" if n == 1 else "customers"
    if source == NEW:
        return f"{n:,} new {customers} joined {target}"
    if target == GONE:
        return f"{n:,} {source} {customers} did not appear in the new data"
    return f"{n:,} {source} moved to {target}"
