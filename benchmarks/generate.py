"""Generate a realistic, seeded transaction log of an exact number of order lines.

    python benchmarks/generate.py --lines 10M --out DIR [--format csv|parquet|both] [--seed 0]

Writes DIR/lines_10M.csv and/or DIR/lines_10M.parquet and prints one JSON line of stats.

The model, per customer (BG/NBD-like): a type (spend scale, purchase-rate multiplier, basket
size), a birth (first order) uniform over the two years before END, a purchase rate
lambda ~ Gamma(R, 1/ALPHA) per day, a drop-out probability p ~ Beta(A, B) after each purchase,
and exponential times between purchases (a Poisson process: the repeat orders within the
customer's window are the first min(K, M) arrival times, K ~ Geometric(p) - 1 the purchases
before drop-out, M ~ Poisson(lambda T) the arrivals). Each order has 1 + Poisson lines of
distinct products (a fixed catalogue of N_PRODUCTS, each with a category and a lognormal
unit price), quantity ~ Geometric with the customer's mean basket quantity (heavy-tailed,
lognormal across customers). Dirt as in real logs: returns ('C' invoices: a product of an
earlier order of the same customer, negative quantity, dated after it), invoices without a
CustomerID, exact duplicate lines and lines with a zero UnitPrice.

Customers are generated in chunks of CUSTOMERS_PER_CHUNK (about a million lines) from
their own seeded generator, and written chunk by chunk: memory stays constant and the file
is the same, byte for byte, for a seed. The last chunk is cut at the requested line count.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

END = np.datetime64("2025-01-01T00:00:00", "s")  # exclusive: the last date is 2024-12-31
WINDOW_DAYS = 731  # births spread over the two years before END
DAY = 86_400
CUSTOMERS_PER_CHUNK = 60_000  # about a million lines per chunk
FIRST_CUSTOMER_ID = 100_000

# BG/NBD-like parameters (time in days).
R, ALPHA = 0.9, 23.0  # purchase rate lambda ~ Gamma(R, scale 1/ALPHA): 1.2 orders a month
A, B = 2.0, 9.0  # drop-out after each purchase p ~ Beta(A, B): mean 0.18

# Customer types: share, spend scale (basket quantity), purchase-rate multiplier, extra lines.
TYPES = {
    "bargain": (0.40, 0.5, 0.8, 1.5),
    "regular": (0.35, 1.0, 1.0, 2.5),
    "loyal": (0.20, 1.6, 1.6, 3.0),
    "wholesale": (0.05, 8.0, 1.2, 6.0),
}
SPEND_SIGMA = 0.6  # lognormal spread of the spend scale within a type

N_PRODUCTS = 3_000
CATEGORIES = (
    "Home Decor",
    "Kitchen",
    "Stationery",
    "Toys",
    "Garden",
    "Lighting",
    "Bags",
    "Jewellery",
    "Party",
    "Christmas",
    "Bath",
    "Pets",
)
COUNTRIES = {
    "United Kingdom": 0.62,
    "Germany": 0.09,
    "France": 0.08,
    "Netherlands": 0.06,
    "Ireland": 0.05,
    "Spain": 0.04,
    "Belgium": 0.03,
    "Portugal": 0.03,
}

# Dirt (shares of the final lines, approximately).
RETURN_SHARE = 0.0206  # order lines returned: about 2% of all lines are return lines
MISSING_ID_SHARE = 0.01  # orders (and their returns) written without a CustomerID
DUPLICATE_SHARE = 0.0101  # lines written twice: about 1% of all lines are extra copies
ZERO_PRICE_SHARE = 0.005  # order lines with UnitPrice 0

COLUMNS = (
    "InvoiceNo",
    "StockCode",
    "Category",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
    "Country",
)
_SUFFIXES = {"": 1, "k": 1_000, "m": 1_000_000, "g": 1_000_000_000}


def parse_lines(text: str) -> int:
    """Return the line count written as 100000, 100k, 1M, 2.5M or 10_000."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([kKmMgG]?)", text.replace("_", "").strip())
    if not match:
        raise ValueError(f"not a line count: {text!r} (e.g. 100k, 1M, 50M)")
    value = float(match.group(1)) * _SUFFIXES[match.group(2).lower()]
    if value < 1 or value != int(value):
        raise ValueError(f"not a whole positive line count: {text!r}")
    return int(value)


def size_label(lines: int) -> str:
    """Return 1M for 1_000_000, 100k for 100_000, else the number."""
    for suffix, unit in (("M", 1_000_000), ("k", 1_000)):
        if lines % unit == 0:
            return f"{lines // unit}{suffix}"
    return str(lines)


def data_path(out_dir: str | Path, lines: int, fmt: str) -> Path:
    """Return the path of the generated file of that size and format."""
    return Path(out_dir) / f"lines_{size_label(lines)}.{fmt}"


@dataclass(frozen=True)
class Catalogue:
    """The products: codes, categories, unit prices (cents) and popularity."""

    codes: pa.Array
    category: np.ndarray
    price_cents: np.ndarray
    cdf: np.ndarray

    @classmethod
    def create(cls, seed: int) -> Catalogue:
        rng = np.random.default_rng([seed, 0])
        codes = pa.array([f"{20000 + i}" for i in range(N_PRODUCTS)])
        category = rng.integers(0, len(CATEGORIES), N_PRODUCTS)
        price = np.maximum(10, np.round(rng.lognormal(np.log(2.5), 0.9, N_PRODUCTS) * 100))
        popularity = rng.lognormal(0.0, 1.0, N_PRODUCTS)
        cdf = np.cumsum(popularity) / popularity.sum()
        return cls(codes, category, price.astype(np.int64), cdf)

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.minimum(np.searchsorted(self.cdf, rng.random(n), side="right"), N_PRODUCTS - 1)


@dataclass
class Stats:
    """What was written, counted as it was written."""

    lines: int = 0
    customers: int = 0
    invoices: int = 0
    returns: int = 0
    missing_ids: int = 0
    duplicates: int = 0
    zero_prices: int = 0
    chunks: int = 0
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        n = max(self.lines, 1)
        return {
            "lines": self.lines,
            "customers": self.customers,
            "invoices": self.invoices,
            "lines_per_customer": round(self.lines / max(self.customers, 1), 2),
            "return_lines": self.returns,
            "return_share": round(self.returns / n, 5),
            "missing_ids": self.missing_ids,
            "missing_id_share": round(self.missing_ids / n, 5),
            "duplicates": self.duplicates,
            "duplicate_share": round(self.duplicates / n, 5),
            "zero_prices": self.zero_prices,
            "zero_price_share": round(self.zero_prices / n, 5),
            "chunks": self.chunks,
            **self.extra,
        }


def _segment_starts(counts: np.ndarray) -> np.ndarray:
    return np.concatenate(([0], np.cumsum(counts)[:-1]))


def _rank_in_segment(counts: np.ndarray) -> np.ndarray:
    """Return 0, 1, ..., c-1 for each segment length c, concatenated."""
    total = int(counts.sum())
    return np.arange(total) - np.repeat(_segment_starts(counts), counts)


def _shop_hours(seconds: np.ndarray) -> np.ndarray:
    """Return whole seconds with each day's time squeezed into 07:00-21:00 (the day kept)."""
    day = np.floor(seconds / DAY) * DAY
    return (day + 7 * 3600 + (seconds - day) * (14 / 24)).astype(np.int64)


def _distinct_products(
    rng: np.random.Generator, catalogue: Catalogue, invoice: np.ndarray
) -> np.ndarray:
    """Draw one product per line, redrawing until no invoice holds a product twice."""
    product = catalogue.draw(rng, len(invoice))
    while True:
        key = invoice.astype(np.int64) * N_PRODUCTS + product
        order = np.argsort(key, kind="stable")
        repeated = np.zeros(len(key), dtype=bool)
        repeated[order[1:]] = key[order[1:]] == key[order[:-1]]
        if not repeated.any():
            return product
        product[repeated] = catalogue.draw(rng, int(repeated.sum()))


def chunk_lines(seed: int, chunk: int, catalogue: Catalogue) -> dict[str, np.ndarray]:
    """Return the lines of one chunk of customers, customer by customer, in time order.

    Arrays: customer (global index, -1 when written without id), country, invoice (local
    number in time order), is_return, product, quantity, price_cents, ts (seconds since the
    epoch), duplicate (True for the extra copy of a duplicated line).
    """
    rng = np.random.default_rng([seed, chunk + 1])
    n = CUSTOMERS_PER_CHUNK
    shares, spend_scale, rate_mult, extra_lines = (
        np.array(v) for v in zip(*TYPES.values(), strict=True)
    )
    ctype = rng.choice(len(TYPES), n, p=shares)
    country = rng.choice(len(COUNTRIES), n, p=np.array(list(COUNTRIES.values())))
    window = WINDOW_DAYS * (1.0 - rng.random(n))  # days observed, in (0, WINDOW_DAYS]
    lam = rng.gamma(R, 1.0 / ALPHA, n) * rate_mult[ctype]
    p_drop = rng.beta(A, B, n)
    arrivals = rng.poisson(lam * window)
    before_dropout = rng.geometric(p_drop) - 1
    repeats = np.minimum(arrivals, before_dropout)
    mean_quantity = 1.0 + 2.5 * spend_scale[ctype] * rng.lognormal(0.0, SPEND_SIGMA, n)

    # Orders: the first at birth, the repeats at the first `repeats` of `arrivals` uniform
    # arrival times in (0, window): S_j / (S_repeats + Gamma(arrivals + 1 - repeats)), with
    # S the cumulative sums of unit exponentials (order statistics by spacings).
    orders = 1 + repeats
    order_customer = np.repeat(np.arange(n), orders)
    rank = _rank_in_segment(orders)
    spacing = rng.exponential(1.0, len(order_customer))
    spacing[rank == 0] = 0.0
    cum = np.cumsum(spacing)
    cum -= np.repeat(cum[_segment_starts(orders)], orders)
    total = cum[_segment_starts(orders) + orders - 1] + rng.gamma(arrivals + 1 - repeats)
    offset = window[order_customer] * cum / np.repeat(total, orders)
    birth = END.astype(np.int64) - window * DAY
    order_seconds = birth[order_customer] + offset * DAY
    order_ts = _shop_hours(order_seconds)

    # Lines: 1 + Poisson products per order, distinct within the order.
    n_lines = 1 + rng.poisson(extra_lines[ctype[order_customer]])
    line_order = np.repeat(np.arange(len(order_customer)), n_lines)
    line_customer = order_customer[line_order]
    product = _distinct_products(rng, catalogue, line_order)
    quantity = rng.geometric(1.0 / mean_quantity[line_customer])
    price = catalogue.price_cents[product].copy()
    price[rng.random(len(price)) < ZERO_PRICE_SHARE] = 0

    # Returns: some lines of orders placed at least an hour before END, in one return
    # invoice per order, dated a while after it (about two weeks later), before END.
    end = END.astype(np.int64)
    returned = (rng.random(len(line_order)) < RETURN_SHARE) & (
        order_seconds[line_order] <= end - 3600
    )
    returned_orders, ret_invoice_of = np.unique(line_order[returned], return_inverse=True)
    since = order_seconds[returned_orders]
    delay = 120 + rng.exponential(14 * DAY, len(returned_orders))
    late = since + delay >= end
    delay[late] = 120 + rng.random(int(late.sum())) * (end - since[late] - 121)
    return_ts = _shop_hours(since + delay)
    ret_quantity = -(1 + np.floor(rng.random(int(returned.sum())) * quantity[returned]))

    # Invoices: orders then return invoices, numbered in time order.
    n_orders = len(order_customer)
    invoice_ts = np.concatenate((order_ts, return_ts))
    invoice_customer = np.concatenate((order_customer, order_customer[returned_orders]))
    number = np.empty(len(invoice_ts), dtype=np.int64)
    number[np.lexsort((np.arange(len(invoice_ts)), invoice_ts))] = np.arange(len(invoice_ts))
    # Invoices written without a CustomerID: whole orders, with their returns.
    anonymous = rng.random(n_orders) < MISSING_ID_SHARE
    invoice_anonymous = np.concatenate((anonymous, anonymous[returned_orders]))

    line_invoice = np.concatenate((line_order, n_orders + ret_invoice_of))
    lines = {
        "invoice": number[line_invoice],
        "is_return": np.concatenate(
            (np.zeros(len(line_order), bool), np.ones(returned.sum(), bool))
        ),
        "product": np.concatenate((product, product[returned])),
        "quantity": np.concatenate((quantity, ret_quantity)).astype(np.int64),
        "price_cents": np.concatenate((price, price[returned])),
        "ts": invoice_ts[line_invoice],
    }
    customer = invoice_customer[line_invoice]
    lines["country"] = country[customer]
    lines["customer"] = np.where(
        invoice_anonymous[line_invoice], -1, customer + chunk * CUSTOMERS_PER_CHUNK
    )
    # Customer by customer, in time order (an invoice's lines together).
    order = np.lexsort((np.arange(len(customer)), lines["ts"], customer))
    lines = {k: v[order] for k, v in lines.items()}
    # Exact duplicates: some lines written twice, the copy right after the line.
    copies = 1 + (rng.random(len(order)) < DUPLICATE_SHARE)
    lines = {k: np.repeat(v, copies) for k, v in lines.items()}
    lines["duplicate"] = np.zeros(len(lines["ts"]), dtype=bool)
    lines["duplicate"][np.cumsum(copies)[copies == 2] - 1] = True
    return lines


def _cut(lines: dict[str, np.ndarray], keep: int) -> dict[str, np.ndarray]:
    return {k: v[:keep] for k, v in lines.items()}


def _in_time_order(lines: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    order = np.argsort(lines["ts"], kind="stable")
    return {k: v[order] for k, v in lines.items()}


def _two_decimals(cents: np.ndarray) -> pa.Array:
    units = pa.array(cents // 100).cast(pa.string())
    hundredths = pc.utf8_lpad(pa.array(cents % 100).cast(pa.string()), width=2, padding="0")
    return pc.binary_join_element_wise(units, hundredths, ".")


def to_table(
    lines: dict[str, np.ndarray], catalogue: Catalogue, invoice_offset: int, for_csv: bool
) -> pa.Table:
    """Return the chunk's lines as the output table (text columns for CSV, typed for Parquet)."""
    number = pa.array(lines["invoice"] + invoice_offset + 1).cast(pa.string())
    prefix = pa.array(np.where(lines["is_return"], "CINV", "INV"))
    invoice = pc.binary_join_element_wise(prefix, pc.utf8_lpad(number, width=8, padding="0"), "")
    customer = pa.array(lines["customer"] + FIRST_CUSTOMER_ID, mask=lines["customer"] < 0).cast(
        pa.string()
    )
    ts = pa.array(lines["ts"].astype("datetime64[s]"))
    price = _two_decimals(lines["price_cents"]) if for_csv else pa.array(lines["price_cents"] / 100)
    columns = {
        "InvoiceNo": invoice,
        "StockCode": catalogue.codes.take(pa.array(lines["product"])),
        "Category": pa.array(np.array(CATEGORIES)[catalogue.category[lines["product"]]]),
        "Quantity": pa.array(lines["quantity"]),
        "InvoiceDate": ts.cast(pa.string()) if for_csv else ts,
        "UnitPrice": price,
        "CustomerID": customer,
        "Country": pa.array(np.array(list(COUNTRIES))[lines["country"]]),
    }
    return pa.table(columns)


def generate_chunks(
    lines: int, seed: int
) -> Iterator[tuple[dict[str, np.ndarray], int, Catalogue]]:
    """Yield (chunk lines in time order, invoice number offset, catalogue) up to `lines` lines."""
    catalogue = Catalogue.create(seed)
    written, invoices, chunk = 0, 0, 0
    while written < lines:
        part = chunk_lines(seed, chunk, catalogue)
        n_invoices = int(part["invoice"].max()) + 1
        part = _in_time_order(_cut(part, lines - written))
        yield part, invoices, catalogue
        written += len(part["ts"])
        invoices += n_invoices
        chunk += 1


def generate(lines: int, out_dir: str | Path, formats: tuple[str, ...], seed: int = 0) -> dict:
    """Write the log of `lines` lines in each format into out_dir; return its stats."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    targets = {fmt: data_path(out_dir, lines, fmt) for fmt in formats}
    partial = {fmt: path.with_name(path.name + ".partial") for fmt, path in targets.items()}
    stats = Stats()
    start = time.perf_counter()
    csv_file = parquet_writer = None
    try:
        if "csv" in formats:
            csv_file = open(partial["csv"], "wb")  # noqa: SIM115 (closed below)
            csv_file.write((",".join(COLUMNS) + "\n").encode())
        for part, offset, catalogue in generate_chunks(lines, seed):
            if csv_file is not None:
                table = to_table(part, catalogue, offset, for_csv=True)
                options = pa_csv.WriteOptions(include_header=False, quoting_style="none")
                pa_csv.write_csv(table, csv_file, options)
            if "parquet" in formats:
                table = to_table(part, catalogue, offset, for_csv=False)
                if parquet_writer is None:
                    parquet_writer = pq.ParquetWriter(partial["parquet"], table.schema)
                parquet_writer.write_table(table)
            _count(stats, part)
    finally:
        if csv_file is not None:
            csv_file.close()
        if parquet_writer is not None:
            parquet_writer.close()
    for fmt, path in targets.items():
        os.replace(partial[fmt], path)
    stats.extra = {
        "seed": seed,
        "seconds": round(time.perf_counter() - start, 2),
        "files": [str(p) for p in targets.values()],
    }
    return stats.as_dict()


def _count(stats: Stats, part: dict[str, np.ndarray]) -> None:
    # Chunks hold disjoint customers and invoices, so distinct counts add up.
    stats.lines += len(part["ts"])
    known = part["customer"][part["customer"] >= 0]
    stats.customers += len(np.unique(known))
    stats.invoices += len(np.unique(part["invoice"]))
    stats.returns += int(part["is_return"].sum())
    stats.missing_ids += int((part["customer"] < 0).sum())
    stats.duplicates += int(part["duplicate"].sum())
    stats.zero_prices += int((part["price_cents"] == 0).sum())
    stats.chunks += 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", required=True, help="order lines: 100k, 1M, 10M, 50M ...")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--format", choices=("csv", "parquet", "both"), default="csv")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        lines = parse_lines(args.lines)
    except ValueError as exc:
        parser.error(str(exc))
    formats = ("csv", "parquet") if args.format == "both" else (args.format,)
    print(json.dumps(generate(lines, args.out, formats, args.seed)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
