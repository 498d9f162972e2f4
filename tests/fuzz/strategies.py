"""Hypothesis strategies: transaction logs with the oddities real exports have, written in
every input format, and random (valid and invalid) options for every command."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import random
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import strategies as st

# Header names each role is found under (and a few it is not: the run must then say so).
ROLE_HEADERS = {
    "customer_id": ("CustomerID", "Customer ID", "customer_id", "client-id", "User Id", "Cust"),
    "date": ("InvoiceDate", "date", "Order Date", "timestamp", "purchase_date"),
    "order_id": ("InvoiceNo", "order_id", "Receipt", "Transaction ID"),
    "quantity": ("Quantity", "qty", "Units"),
    "unit_price": ("UnitPrice", "price", "Price Each"),
    "amount": ("Amount", "Total", "Revenue", "line_total"),
    "category": ("Category", "Department", "product category"),
    "product_id": ("StockCode", "sku", "Item ID"),
}
EXTRA_HEADERS = ("Country", "Description", "", "Notes", "Country")
NULL_MARKERS = ("", "NA", "N/A", "null", "NULL", "None", "nan", "-", "  ")
DATE_STYLES = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%d/%m/%Y %H:%M",
    "%m/%d/%y %H:%M",
    "%d/%m/%y",
    "%d.%m.%Y",
    "%Y/%m/%d",
)
BASE_YEARS = (1752, 1899, 1900, 1970, 2010, 2011, 2024, 2099, 2100, 2250, 9990)
SPANS = (0, 1, 7, 90, 400, 2000, 36_500, 120_000)
ODD_AMOUNTS = (
    "0", "0.00", "-0", "1e15", "-1e15", "1000000000000000", "1e-9", "0.000000001",
    "1e400", "-1e400", "NaN", "inf", "-inf", "1,234.50", "1.234,50", "$12.00", "12 €",
    "(5.00)", "abc", "", " 7 ", "+3", "99999999999999999999999", "1_000",
)  # fmt: skip
ODD_DATES = ("not a date", "0000-00-00", "2011-02-30", "31/31/2011", "", "NULL", "1e5", "12")
# Free text of the extra columns: unicode, now and then a control character.
TEXT_CELLS = (
    "", "plain", "ünïcödé", "日本語のテキスト", "emoji 🛒", "tab\there", "form\x0cfeed",
    "line\u2028sep", "bell\x07", 'q"uote', "comma, inside", "semi;colon", "pipe|bar",
    "new\nline", "cr\rreturn", " padded ", "=1+2", "NULL", "0042",
)  # fmt: skip


@dataclass
class Log:
    """A transaction log as text cells: a header and rows (None: the cell is absent)."""

    header: list[str]
    rows: list[list[str]]
    roles: dict[str, int] = field(default_factory=dict)  # role → column position
    date_styles: list[str] = field(default_factory=list)  # strftime codes of the dates

    def column(self, role: str) -> str | None:
        return self.header[self.roles[role]] if role in self.roles else None


@st.composite
def customer_ids(draw: st.DrawFn, plausible: bool = False) -> list[str]:
    """A pool of 1–40 customer ids (12–40 when plausible) in a style real exports use."""
    n = draw(st.sampled_from((32, 12, 20, 40) + ((8, 5, 3, 2, 1), ())[plausible]))
    style = draw(st.sampled_from(("int", "zeros", "float", "unicode", "long", "text", "mixed")))
    ids = []
    for i in range(n):
        kind = (
            draw(st.sampled_from(("int", "zeros", "float", "unicode", "long", "text")))
            if (style == "mixed")
            else style
        )
        ids.append(
            {
                "int": str(12345 + i),
                "zeros": f"{i:06d}",
                "float": f"{17850 + i}.0",
                "unicode": f"客户-{i}-ü\u200b",
                "long": f"{'x' * 1000}{i}",
                "text": f'=cust {i}, "q"' if i % 3 == 0 else f"+c{i}",
            }[kind]
        )
    return ids


def _format_date(when: dt.datetime, style: str) -> str:
    if when.year < 1000 and "%Y" in style:
        style = style.replace("%Y", f"{when.year:04d}")  # strftime pads oddly below 1000
    return when.strftime(style)


@st.composite
def dates(
    draw: st.DrawFn, lines: int, rng: random.Random, plausible: bool = False
) -> tuple[list[str], list[str]]:
    """The date cell of each line: one style (or two mixed), spans up to centuries, oddities."""
    years = (2010, 2011, 2024) + ((2010, 2011, 2024) * 7 + BASE_YEARS, ())[plausible]
    base = dt.datetime(draw(st.sampled_from(years)), 1, 1)
    span = draw(st.sampled_from((90, 400, 2000) if plausible else SPANS))
    mixed = not plausible and draw(st.integers(0, 5)) == 5
    styles = draw(st.lists(st.sampled_from(DATE_STYLES), min_size=1 + mixed, max_size=1 + mixed,
                           unique=True))  # fmt: skip
    odd_share = 0.0 if plausible else draw(st.sampled_from((0.0,) * 6 + (0.05, 0.5, 1.0)))
    cells = []
    for _ in range(lines):
        if odd_share and rng.random() < odd_share:
            cells.append(rng.choice(ODD_DATES))
            continue
        offset = rng.randint(0, span)
        minutes = rng.randint(0, 24 * 60 - 1)
        when = base + dt.timedelta(days=min(offset, (dt.datetime(9999, 1, 1) - base).days),
                                   minutes=minutes)  # fmt: skip
        cells.append(_format_date(when, rng.choice(styles)))
    return cells, styles


@st.composite
def amounts(draw: st.DrawFn, lines: int, rng: random.Random, plausible: bool = False) -> list[str]:
    """Line amounts: ordinary prices, returns, zeros, extremes and unreadable text."""
    modes = ("plain", "returns") + ((), ("all_returns", "odd", "same"))[not plausible]
    mode = draw(st.sampled_from(modes))
    same = draw(st.sampled_from(("10", "0", "1e15", "0.01")))
    cells = []
    for _ in range(lines):
        if mode == "same":
            cells.append(same)
            continue
        if mode == "odd" and rng.random() < 0.5:
            cells.append(rng.choice(ODD_AMOUNTS))
            continue
        cents = rng.randint(1, 50_000)
        negative = mode == "all_returns" or (mode == "returns" and rng.random() < 0.2)
        cells.append(f"{'-' if negative else ''}{cents // 100}.{cents % 100:02d}")
    return cells


@st.composite
def logs(draw: st.DrawFn, max_lines: int = 200, plausible: bool = False) -> Log:
    """A transaction log of 1–max_lines lines with a random choice of roles and oddities.

    plausible: a log a run should segment (40 or more lines of 12–40 customers with a
    customer id, a date in one format of this century and positive amounts), its other
    traits (roles, formats, returns, categories, extra columns) drawn as for any log.
    """
    lines = draw(st.integers(40 if plausible else 1, max_lines))
    # Cells are drawn from a seeded generator (its seed drawn by hypothesis): the structure
    # of a log is what hypothesis varies and shrinks, not each of its thousand cells.
    rng = draw(st.randoms(use_true_random=True))
    ids = draw(customer_ids(plausible))
    # (Hypothesis favours small integers: the rare branch is the largest value.)
    roles = ["customer_id", "date"] if plausible or draw(st.integers(0, 19)) < 19 else []
    money = ("amount",) * 6 + ("qty_price", "qty_price", "both") + ((), ("none",))[not plausible]
    money = money[draw(st.integers(0, len(money) - 1))]
    roles += {"amount": ["amount"], "qty_price": ["quantity", "unit_price"],
              "both": ["amount", "quantity", "unit_price"], "none": []}[money]  # fmt: skip
    roles += [r for r in ("order_id", "category", "product_id") if draw(st.booleans())]
    if not roles:
        roles = ["customer_id"]
    order = draw(st.permutations(roles))
    header = [draw(st.sampled_from(ROLE_HEADERS[role])) for role in order]
    extras = draw(st.lists(st.sampled_from(EXTRA_HEADERS), max_size=3))
    columns: dict[str, list[str]] = {}
    null_share = 0.0 if plausible else draw(st.sampled_from((0.0, 0.0, 0.02, 0.3)))
    who = "spread" if plausible else draw(st.sampled_from(("spread",) * 8 + ("one",)))
    picks = [ids[0] if who == "one" else rng.choice(ids) for _ in range(lines)]
    columns["customer_id"] = [
        rng.choice(NULL_MARKERS) if null_share and rng.random() < null_share
        else p
        for p in picks
    ]  # fmt: skip
    columns["date"], styles = draw(dates(lines, rng, plausible))
    columns["amount"] = draw(amounts(lines, rng, plausible))
    quantities = draw(st.sampled_from(((1, 1, 2, 3, 12), (1, 2, 0, -1, 10**9))))
    columns["quantity"] = [str(rng.choice(quantities)) for _ in range(lines)]
    columns["unit_price"] = draw(amounts(lines, rng))
    orders_per_customer = draw(st.sampled_from((1, 2, 5)))
    columns["order_id"] = [
        f"{'C' if columns['amount'][i].startswith('-') else ''}{picks[i][:20]}-{rng.randint(0, orders_per_customer)}"
        for i in range(lines)
    ]  # fmt: skip
    n_categories = draw(st.sampled_from((1, 2, 5, 60, 300)))
    category_names = draw(st.sampled_from(("plain", "odd")))
    columns["category"] = [
        (f"Cat {c}" if category_names == "plain" else f'Home\n"Garden", {c} — é')
        for c in (rng.randrange(n_categories) for _ in range(lines))
    ]
    columns["product_id"] = [f"{rng.randint(0, 30):05d}" for _ in range(lines)]
    rows = [[columns[role][i] for role in order] for i in range(lines)]
    for extra in extras:
        header.append(extra)
        empty = draw(st.booleans())
        for row in rows:
            row.append("" if empty else TEXT_CELLS[rng.randrange(len(TEXT_CELLS))])
    duplicates = draw(st.sampled_from((0, 0, 1, 5)))
    rows += [list(rows[i % len(rows)]) for i in range(duplicates)]
    return Log(header, rows, {role: order.index(role) for role in order}, styles)


@dataclass(frozen=True)
class CsvDialect:
    delimiter: str = ","
    quote_all: bool = False
    line_end: str = "\n"  # or "\r\n", or "mixed": LF after the header, CRLF after rows
    encoding: str = "utf-8"
    gzip: bool = False
    trailing_blank_lines: int = 0


csv_dialects = st.builds(
    CsvDialect,
    delimiter=st.sampled_from((",", ",", ";", "\t", "|")),
    quote_all=st.booleans(),
    line_end=st.sampled_from(("\n", "\r\n", "mixed")),
    encoding=st.sampled_from(("utf-8", "utf-8", "utf-8-sig", "cp1252", "utf-16")),
    gzip=st.booleans(),
    trailing_blank_lines=st.sampled_from((0, 0, 2)),
)


def csv_bytes(log: Log, dialect: CsvDialect) -> bytes:
    """Return log as the bytes of a delimited file written in dialect."""

    def line(cells: list[str]) -> str:
        buffer = io.StringIO()
        quoting = csv.QUOTE_ALL if dialect.quote_all else csv.QUOTE_MINIMAL
        # (a line end the writer knows, so that cells holding CR or LF are quoted)
        csv.writer(buffer, delimiter=dialect.delimiter, quoting=quoting).writerow(cells)
        return buffer.getvalue().removesuffix("\r\n")

    header_end = "\n" if dialect.line_end == "mixed" else dialect.line_end
    row_end = "\r\n" if dialect.line_end == "mixed" else dialect.line_end
    text = line(log.header) + header_end + "".join(line(row) + row_end for row in log.rows)
    text += row_end * dialect.trailing_blank_lines
    data = text.encode(dialect.encoding, errors="replace")
    return gzip.compress(data, mtime=0) if dialect.gzip else data


def write_log(log: Log, folder: Path, kind: str, dialect: CsvDialect, name: str = "log") -> str:
    """Write log into folder in the input format `kind`; return the input argument naming it."""
    if kind == "csv":
        suffix = ".tsv" if dialect.delimiter == "\t" else ".csv"
        path = folder / f"{name}{suffix}{'.gz' if dialect.gzip else ''}"
        path.write_bytes(csv_bytes(log, dialect))
        return str(path)
    columns = unique_names(log.header)
    table = {
        c: [row[i] if i < len(row) else None for row in log.rows] for i, c in enumerate(columns)
    }
    if kind == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = folder / f"{name}.parquet"
        pq.write_table(pa.table({c: pa.array(v, pa.string()) for c, v in table.items()}), path)
        return str(path)
    if kind == "xlsx":
        from openpyxl import Workbook
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        workbook = Workbook()
        sheet = workbook.active
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", c) for c in log.header])
        for row in log.rows:
            sheet.append([_xlsx_cell(c) for c in row])
        path = folder / f"{name}.xlsx"
        workbook.save(path)
        return str(path)
    if kind == "duckdb":
        import duckdb
        import pyarrow as pa

        path = folder / f"{name}.duckdb"
        frame = pa.table({c: pa.array(v, pa.string()) for c, v in table.items()})
        with duckdb.connect(str(path)) as con:
            con.register("frame", frame)
            con.execute("CREATE TABLE orders AS SELECT * FROM frame")
        return f"duckdb:{path}::orders"
    raise ValueError(kind)


def _xlsx_cell(text: str) -> object:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    text = ILLEGAL_CHARACTERS_RE.sub("", text)
    try:  # numbers as numbers, as a spreadsheet holds them
        number = float(text)
    except ValueError:
        return text
    return number if abs(number) < 1e300 and text.strip() == text and text else text


def unique_names(header: list[str]) -> list[str]:
    """Column names for formats that need unique, non-empty ones (Parquet, DuckDB)."""
    seen: dict[str, int] = {}
    names = []
    for i, name in enumerate(header):
        name = name or f"column{i}"
        if name in seen:
            seen[name] += 1
            name = f"{name}_{seen[name]}"
        seen.setdefault(name, 0)
        names.append(name)
    return names


INPUT_KINDS = st.sampled_from(("csv", "csv", "csv", "parquet", "xlsx", "duckdb"))


# Options: each is left out, given a valid value, or given an invalid one.
VALID_SEEDS = st.one_of(st.sampled_from((0, 1, 42, 2**32 - 1)), st.integers(0, 2**32 - 1))
SEEDS = st.sampled_from((2**32, 2**63, -1, 10**30))


@st.composite
def run_options(draw: st.DrawFn, log: Log, valid: bool | None = None) -> list[str]:
    """Options of `segmint run` for log: valid values, and in one example in eight an invalid
    one (a bad value, an unknown option, a missing argument)."""
    if valid is None:
        valid = draw(st.integers(0, 7)) < 7
    options: list[str] = []

    def maybe(flag: str, good: tuple, bad: tuple = ()) -> None:
        if draw(st.integers(0, 4)) == 4:
            pool = good if valid or not bad else bad
            options.extend([flag, str(draw(st.sampled_from(pool)))])

    maybe("--k", (2, 3, 4, 7, 12), (-1, 0, 1, "x"))
    maybe("--k-min", (2, 3, 4, 8), (0, 1))
    maybe("--k-max", (2, 3, 5, 10, 14, 10**9), (1,))
    maybe("--select", ("davies_bouldin", "silhouette", "calinski_harabasz", "stable"), ("best",))
    maybe("--min-segment-share", (0, 0.02, 0.3, 0.5, 0.99), (1, -0.1, "nan"))
    maybe("--min-segment-size", (0, 1, 5, 50, 10**6), (-1,))
    maybe("--transform", ("auto", "none"), ("log",))
    maybe("--feature-set", ("rfm", "value", "full"), ("all",))
    if draw(st.integers(0, 3)) == 0:
        options.extend(["--seed", str(draw(SEEDS if not valid else VALID_SEEDS))])
    maybe("--sample-size", (1000, 20_000, 10**12), (999,))
    maybe("--as-of", ("2011-12-09", "2024-06-30", "1900-01-01", "2500-01-01"), ("09/12/2011", ""))
    maybe("--date-format", tuple(log.date_styles[:1]) or DATE_STYLES, ("%Q", "", "%d"))
    maybe("--clv-horizon-days", (1, 30, 365, 36_500), (0, -5, 36_501))
    maybe("--clv-model", ("auto", "pareto-nbd", "mbg-nbd", "bg-nbd"), ("gamma",))
    maybe("--rules-depth", (1, 2, 5, 8), (0, 9))
    maybe("--discount-rate", (0, 0.1, 9.9), (-0.1, 10, "inf"))
    maybe("--threads", (1, 2, 64), (0, 100_000))
    maybe("--memory-limit", ("1GB", "500MB"), ("lots",))
    if draw(st.integers(0, 4)) == 0:
        options.append(draw(st.sampled_from(("--clv", "--no-clv"))))
    if draw(st.integers(0, 5)) == 0:
        options.append("--keep-duplicates")
    if not valid and draw(st.booleans()):
        role = draw(st.sampled_from(tuple(ROLE_HEADERS) + ("shopper",)))
        name = draw(st.sampled_from(log.header + ["nowhere"])) if log.header else "nowhere"
        options.extend(["--column", f"{role}={name}"])
    if not valid and draw(st.booleans()):
        options.append(draw(st.sampled_from(("--frobnicate", "--k", "--seed=x", "--clv=2"))))
    return options
