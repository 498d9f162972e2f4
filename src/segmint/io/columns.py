"""Find which column plays which role (docs/reference/input.md#roles)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from segmint.errors import InputError

# Role → the header names that identify it, after normalisation (see `normalise`).
ROLE_NAMES: dict[str, tuple[str, ...]] = {
    "customer_id": ("customerid", "customer", "custid", "clientid", "userid", "cust"),
    "date": ("invoicedate", "transactiondate", "orderdate", "date", "timestamp", "purchasedate"),
    "order_id": ("invoiceno", "invoice", "orderid", "transactionid", "order", "receipt"),
    "quantity": ("quantity", "qty", "units"),
    "unit_price": ("unitprice", "price", "priceeach"),
    "amount": ("totalvalue", "amount", "total", "revenue", "sales", "value", "linetotal"),
    "category": ("category", "productcategory", "department"),
    "product_id": ("productid", "stockcode", "sku", "itemid"),
}
REQUIRED_ROLES = ("customer_id", "date")


def normalise(header: str) -> str:
    """Return header lower-cased without spaces, underscores, hyphens or a BOM."""
    return re.sub(r"[\s_\-\ufeff]", "", header).lower()


def find_columns(
    columns: Iterable[str],
    source: str,
    overrides: Mapping[str, str] | None = None,
    roles: Iterable[str] = tuple(ROLE_NAMES),
    required: Iterable[str] = REQUIRED_ROLES,
) -> dict[str, str]:
    """Return role → column for the roles found among columns; raise InputError when ambiguous or missing."""
    columns = list(columns)
    overrides = dict(overrides or {})
    roles = list(roles)
    seen = ", ".join(repr(c) for c in columns)
    for role, name in overrides.items():
        if role in roles and name not in columns:
            raise InputError(
                f"{source}: --column {role}={name}: no column {name!r}; columns seen: {seen}",
                file=str(source),
                column=name,
            )
    overridden = {name for role, name in overrides.items() if role in roles}

    matches: dict[str, list[str]] = {role: [] for role in roles}
    for column in columns:
        if column in overridden:
            continue
        key = normalise(column)
        hits = [role for role in roles if role not in overrides and key in ROLE_NAMES[role]]
        if len(hits) > 1:
            raise InputError(
                f"{source}: column {column!r} matches several roles ({', '.join(hits)}); "
                f"use --column ROLE={column} for the one it plays",
                file=str(source),
                column=column,
            )
        for role in hits:
            matches[role].append(column)

    mapping = {role: name for role, name in overrides.items() if role in roles}
    for role, found in matches.items():
        if len(found) > 1:
            listed = ", ".join(repr(c) for c in found)
            raise InputError(
                f"{source}: several columns could be the {role} ({listed}); "
                f"choose one with --column {role}=NAME (columns seen: {seen})",
                file=str(source),
            )
        if found:
            mapping[role] = found[0]
    headerless = all(re.fullmatch(r"column\d+", c) for c in columns)
    for role in required:
        if role not in mapping:
            hint = (
                "the file has no header row, so columns are named by position: "
                f"e.g. --column {role}=column0"
                if headerless
                else f"name it with --column {role}=NAME"
            )
            raise InputError(
                f"{source}: no column for the {role} (columns seen: {seen}); {hint}",
                file=str(source),
            )
    return mapping
