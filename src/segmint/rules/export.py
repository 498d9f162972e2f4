"""The rules as words, as one SQL expression, and the per-segment audience files."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from segmint.io.outputs import copying
from segmint.io.sources import literal
from segmint.names import free_name
from segmint.rules.tree import Condition, Rules

# How a condition on a feature reads: (for "<=", for ">"), {v} the formatted value.
PHRASES: dict[str, tuple[str, str]] = {
    "recency_days": ("ordered in the last {v} days", "no order in the last {v} days"),
    "frequency": ("at most {v} order{s}", "more than {v} order{s}"),
    "monetary": ("spent at most {v}", "spent over {v}"),
    "aov": ("average order value at most {v}", "average order value over {v}"),
    "quantity": ("bought at most {v} units", "bought over {v} units"),
    "avg_unit_price": ("average unit price at most {v}", "average unit price over {v}"),
    "tenure_days": ("first order within the last {v} days", "first order over {v} days ago"),
    "return_rate": ("returned at most {v} of spend", "returned over {v} of spend"),
    "n_categories": ("at most {v} categor{ies}", "more than {v} categor{ies}"),
}
NO_RULE = "no rule: the tree that imitates the segments never picks this one"
# Contact columns of a --customers file carried into the audience files, by normalised name.
CONTACT_NAMES = ("email", "emailaddress", "mail", "phone", "phonenumber", "mobile", "telephone")


def number(value: float) -> str:
    """Return a threshold as a person writes it: 1,200 / 37 / 0.35."""
    if float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.2f}".rstrip("0").rstrip(".") if abs(value) >= 1 else f"{value:.3g}"


def condition_text(condition: Condition) -> str:
    value = number(condition.value)
    if condition.feature in PHRASES:
        at_most, over = PHRASES[condition.feature]
        one = value == "1"
        return (at_most if condition.op == "<=" else over).format(
            v=value, s="" if one else "s", ies="y" if one else "ies"
        )
    if condition.feature.startswith("share_"):
        category = condition.feature.removeprefix("share_").replace("_", " ")
        word = "at most" if condition.op == "<=" else "over"
        return f"{category} {word} {value} of spend"
    return f"{condition.feature} {'≤' if condition.op == '<=' else '>'} {value}"


# How a range (low, high] of a whole-number feature reads, {a} = low + 1, {b} = high.
RANGES: dict[str, str] = {
    "recency_days": "last order {a}–{b} days ago",
    "frequency": "{a}–{b} orders",
    "tenure_days": "first order {a}–{b} days ago",
    "n_categories": "{a}–{b} categories",
}


def clause_text(clause: list[Condition]) -> str:
    """Return an AND of conditions in words; a feature bounded on both sides reads as a range."""
    parts = []
    by_feature: dict[str, list[Condition]] = {}
    for condition in clause:
        by_feature.setdefault(condition.feature, []).append(condition)
    for feature, conditions in by_feature.items():
        bounds = {c.op: c.value for c in conditions}
        whole = all(float(v).is_integer() for v in bounds.values())
        if len(bounds) == 2 and feature in RANGES and whole:
            low, high = int(bounds[">"]) + 1, int(bounds["<="])
            parts.append(
                RANGES[feature].format(a=number(low), b=number(high))
                if low < high
                else condition_text(Condition(feature, "<=", high)).replace("at most ", "")
                if feature in ("frequency", "n_categories")
                else RANGES[feature].format(a=number(low), b=number(high))
            )
        elif len(bounds) == 2:
            first = condition_text(Condition(feature, ">", bounds[">"]))
            parts.append(f"{first}, up to {number(bounds['<='])}")
        else:
            parts.extend(condition_text(c) for c in conditions)
    return " and ".join(parts) or "every customer"


def rule_text(clauses: list[list[Condition]]) -> str:
    """Return a segment's rules in words: ANDs joined by 'and', alternatives by '; or '."""
    if not clauses:
        return NO_RULE
    return "; or ".join(clause_text(clause) for clause in clauses)


def sql_expression(rules: Rules) -> str:
    """Return one CASE expression over segments.parquet's columns, valid in DuckDB and Spark SQL.

    Column names are plain identifiers (lower case, digits and _), names single-quoted
    (a quote inside a name written as chr(39)); the WHEN branches follow rules.json's
    segment order.
    """
    lines = ["CASE"]
    for name, clauses in zip(rules.names, rules.rules, strict=True):
        if not clauses:
            continue
        ors = " OR ".join(
            "(" + (" AND ".join(_sql_condition(c) for c in clause) or "TRUE") + ")"
            for clause in clauses
        )
        lines.append(f"  WHEN {ors} THEN {_sql_string(name)}")
    lines.append("END AS segment_name")
    return "\n".join(lines) + "\n"


def _sql_condition(condition: Condition) -> str:
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", condition.feature):
        raise ValueError(f"not a plain column name: {condition.feature!r}")
    value = float(condition.value)
    return f"{condition.feature} {condition.op} {int(value) if value.is_integer() else value!r}"


def _sql_string(text: str) -> str:
    """Return text as a SQL string that DuckDB and Spark read alike.

    The engines escape a quote differently ('' in DuckDB, \\' in Spark, which reads ''
    as two adjacent strings), so a name with a quote is built with chr(39), in both.
    """
    parts = text.split("'")
    if len(parts) == 1:
        return f"'{text}'"
    return "concat(" + ", chr(39), ".join(f"'{p}'" for p in parts) + ")"


def audience_files(names: list[str]) -> list[str]:
    """Return a file name per segment: its name in lower case, other characters as -, unique."""
    out: list[str] = []
    taken: set[str] = set()
    for name in names:
        plain = re.sub(r"['’]", "", name.lower())  # Can't Lose Them → cant-lose-them
        base = re.sub(r"[^a-z0-9]+", "-", plain).strip("-") or "segment"
        out.append(f"{free_name(base, taken, '-')}.csv")
    return out


def contact_columns(attributes: pd.DataFrame) -> list[str]:
    """Return the columns of a customers file that hold contact details (email, phone)."""
    normal = {c: re.sub(r"[\s_\-]", "", c).lower() for c in attributes.columns}
    return [c for c, n in normal.items() if n in CONTACT_NAMES]


def write_audiences(
    folder: Path,
    customers: pd.DataFrame,
    names: list[str],
    contacts: pd.DataFrame | None,
    marketing: Sequence[str] = (),
) -> None:
    """Write audiences/<segment>.csv: each segment's customer ids, contact columns, then the
    `marketing` columns of the per-customer table (the churn risk, CLV and next order date).

    Written by DuckDB (quoting only where needed, as pandas would; 0.9 s → 0.2 s for
    600,000 customers), in the per-customer table's order.
    """
    import pyarrow as pa

    target = folder / "audiences"
    target.mkdir()
    table = customers[["customer_id", "segment_id"]]
    if contacts is not None and len(contacts.columns) > 1:
        table = table.merge(contacts, on="customer_id", how="left")
    for column in marketing:
        table[column] = customers[column].to_numpy()
    with copying(pa.Table.from_pandas(table, preserve_index=False), "audience") as con:
        for segment, file_name in enumerate(audience_files(names)):
            con.execute(
                "COPY (SELECT * EXCLUDE (segment_id) FROM audience "
                f"WHERE segment_id = {int(segment)}) "
                f"TO {literal(str(target / file_name))} (HEADER, DELIMITER ',')"
            )
