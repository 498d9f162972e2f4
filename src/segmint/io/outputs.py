"""Write a run's outputs into a temporary folder, then move them into place (CONTRACT §5)."""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from segmint.errors import OutputError

if TYPE_CHECKING:
    from segmint.pipeline import SegmentationResult

TEXT_COLUMNS = ("customer_id", "segment_name", "rfm_segment")
FORMULA_START = ("=", "+", "-", "@")


def check_output_dir(out_dir: Path) -> None:
    """Raise OutputError when out_dir cannot become an output folder."""
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"--out {out_dir}: is a file, not a folder")
    for folder in (_existing_ancestor(out_dir), out_dir):
        if folder.is_dir() and not os.access(folder, os.W_OK | os.X_OK):
            raise OutputError(f"--out {out_dir}: cannot write into {folder}")


def write_outputs(result: SegmentationResult, out_dir: Path) -> Path:
    """Write every output of result into out_dir; a failure leaves out_dir as it was."""
    from segmint.report.build import build_report
    from segmint.report.png import drawing
    from segmint.report.writer import write_document

    def fill(staging: Path) -> None:
        table = pa.Table.from_pandas(result.customers, preserve_index=False)
        report = None
        if result.model_json is not None:  # a run; scoring writes the tables and summary
            report = build_report(result.summary, result.customers, result.model_json)
        # The charts' helper process is forked first, while this is the only thread; the
        # tables are written by pyarrow and DuckDB, which release the GIL: in a second
        # thread, they overlap the report.
        with (
            drawing(report.charts() if report else []) as png,
            ThreadPoolExecutor(max_workers=1) as pool,
        ):
            tables = pool.submit(_write_tables, table, staging)
            write_json(result.summary, staging / "summary.json")
            if report is not None:
                write_json(result.model_json, staging / "model.json")
                write_document(staging, report, "report", png)
            if result.rules is not None:
                write_rules(staging, result)
            tables.result()

    return write_staged(out_dir, fill)


def write_rules(folder: Path, result: SegmentationResult) -> None:
    """Write rules.json, rules.sql and audiences/<segment>.csv (CONTRACT §9)."""
    from segmint.rules.export import sql_expression, write_audiences

    write_json(result.rules.as_json(), folder / "rules.json")
    (folder / "rules.sql").write_text(sql_expression(result.rules), encoding="utf-8")
    write_audiences(folder, result.customers, result.rules.names, result.contacts)


def write_staged(out_dir: Path, fill: Callable[[Path], None]) -> Path:
    """Let fill write into a staging folder beside out_dir, then move its files into out_dir.

    A failure leaves out_dir as it was; files of out_dir that fill does not write are kept.
    """
    check_output_dir(out_dir)
    staging = Path(tempfile.mkdtemp(prefix=".segmint-", dir=_existing_ancestor(out_dir)))
    try:
        _as_if_made_by_mkdir(staging)
        fill(staging)
        _move_into_place(staging, out_dir)
    except OSError as exc:
        raise OutputError(f"--out {out_dir}: cannot write ({exc.strerror or exc})") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out_dir


def _as_if_made_by_mkdir(folder: Path) -> None:
    """Give folder the permissions a plain mkdir would (mkdtemp makes it private)."""
    umask = os.umask(0)
    os.umask(umask)
    folder.chmod(0o777 & ~umask)


def _existing_ancestor(path: Path) -> Path:
    """Return the nearest existing folder above path (where the staging folder goes)."""
    return next(p for p in path.absolute().parents if p.is_dir())


def _move_into_place(staging: Path, out_dir: Path) -> None:
    if not out_dir.exists():
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging, out_dir)
        return
    for item in sorted(staging.iterdir()):
        target = out_dir / item.name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif item.is_dir() and (target.exists() or target.is_symlink()):
            target.unlink()  # a file where our folder (charts/) goes: os.replace cannot swap them
        os.replace(item, target)


def _write_tables(table: pa.Table, folder: Path) -> None:
    write_parquet(table, folder / "segments.parquet")
    write_csv(table, folder / "segments.csv")


def write_parquet(table: pa.Table, path: Path) -> None:
    """Write the per-customer table; text columns stay text exactly as written."""
    pq.write_table(table, path)


def write_csv(table: pa.Table, path: Path) -> None:
    """Write the per-customer table as CSV, with formula-like text cells neutralised.

    DuckDB writes it (quoting only where needed, as pandas would, in a fraction of the time),
    prefixing a ' to every text cell that a spreadsheet would run as a formula.
    """
    import duckdb

    starts = ", ".join(_sql_string(c) for c in FORMULA_START)
    quote = _sql_string("'")
    safe = [
        f"CASE WHEN left({_ident(c)}, 1) IN ({starts}) THEN {quote} || {_ident(c)} "
        f"ELSE {_ident(c)} END AS {_ident(c)}"
        for c in TEXT_COLUMNS
        if c in table.column_names
    ]
    with duckdb.connect() as con:
        con.register("customer_table", table)
        con.execute(
            f"COPY (SELECT * REPLACE ({', '.join(safe)}) FROM customer_table) "
            f"TO {_sql_string(str(path))} (HEADER, DELIMITER ',')"
        )


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _json_ready(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if hasattr(value, "item"):  # numpy scalars
        return _json_ready(value.item())
    return value


def write_json(data: dict, path: Path) -> None:
    """Write data as indented JSON (NaN and infinity as null)."""
    text = json.dumps(_json_ready(data), indent=2, ensure_ascii=False, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")
