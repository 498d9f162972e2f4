"""What the API and the pages both do with runs: create from an upload, inspect, start, read."""

from __future__ import annotations

import math
import mimetypes
import shutil
from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request

from segmint.db import one_row
from segmint.errors import SegmintError, UsageError
from segmint.runs import error_line
from segmint.web.forms import settings_from_fields, validated
from segmint.web.store import Run, RunStore, read_json, with_upload_names
from segmint.web.uploads import ReceivedForm, UploadError, receive_form

MAX_PAGE = 1000
MEDIA_TYPES = {
    ".csv": "text/csv; charset=utf-8",
    ".json": "application/json",
    ".parquet": "application/vnd.apache.parquet",
    ".html": "text/html; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".sql": "text/plain; charset=utf-8",
    ".png": "image/png",
}


def store_of(request: Request) -> RunStore:
    return request.app.state.store


def run_or_404(request: Request, run_id: str, missing: str) -> Run:
    """Return the run with this id; answer 404 with the message `missing` when there is none."""
    run = store_of(request).get(run_id)
    if run is None:
        raise HTTPException(404, missing)
    return run


async def receive_upload(request: Request) -> tuple[Run, ReceivedForm]:
    """Return a new run holding the request's uploaded files; raise UploadError (run removed)."""
    store = store_of(request)
    run = store.create({"inputs": [], "uploads": [], "settings": {}})
    try:
        form = await receive_form(
            dict(request.headers), request.stream(), run.input_dir, request.app.state.max_bytes
        )
        files = {role: [f for f in form.files if f.role == role]
                 for role in ("transactions", "customers", "products")}  # fmt: skip
        if not files["transactions"]:
            raise UploadError(400, "choose at least one transactions file")
        for role in ("customers", "products"):
            if len(files[role]) > 1:
                raise UploadError(400, f"give at most one {role} file")
    except BaseException:
        shutil.rmtree(run.folder, ignore_errors=True)
        raise
    meta = run.meta
    meta["inputs"] = [f.stored for f in files["transactions"]]
    meta["uploads"] = [{"role": f.role, "stored": f.stored, "name": f.original,
                        "bytes": f.size, "kind": f.kind} for f in form.files]  # fmt: skip
    meta["files"] = {role: files[role][0].stored for role in ("customers", "products")
                     if files[role]}  # fmt: skip
    run.write_meta(meta)
    return run, form


def discard(run: Run) -> None:
    shutil.rmtree(run.folder, ignore_errors=True)


def run_settings(run: Run, fields: dict[str, list[str]]) -> dict[str, Any]:
    """Return the run's settings from form fields, validated; raise UsageError (CLI message)."""
    settings = settings_from_fields(fields)
    files = run.meta.get("files", {})
    if "customers" in files:
        settings["customers_file"] = files["customers"]
    if "products" in files:
        settings["products_file"] = files["products"]
    validated(_absolute(run, settings))
    return settings


def start(request: Request, run: Run, settings: dict[str, Any]) -> None:
    meta = run.meta
    meta["settings"] = settings
    run.write_meta(meta)
    if run.out_dir.exists():  # pragma: no cover - only failed runs start again, without out/
        raise UsageError("this run already has outputs")
    request.app.state.pool.submit(run)


def _absolute(run: Run, settings: dict[str, Any]) -> dict[str, Any]:
    """Return settings with the uploaded side files as paths the server process can open."""
    absolute = dict(settings)
    for key in ("customers_file", "products_file"):
        if absolute.get(key):
            absolute[key] = str(run.input_dir / absolute[key])
    return absolute


def relative_message(run: Run, message: str) -> str:
    """Return message naming the uploads as the user's files were named, not by their paths."""
    return with_upload_names(message.replace(f"{run.input_dir}/", ""), run.upload_names())


def inspect(run: Run, settings: dict[str, Any]) -> dict[str, Any]:
    """Return the mapping page's inspection of the run's inputs with these settings.

    A file that cannot be read at all gives {"fatal": "error: …"}; detection errors come back
    in "error" (as the one `error: …` line a run would print) with the columns and preview.
    """
    from segmint.io.inspect import inspect_inputs  # DuckDB: only when a run is inspected

    inputs = [str(run.input_dir / name) for name in run.meta.get("inputs", [])]
    keep = {k: v for k, v in settings.items() if k in _INSPECT_SETTINGS}
    try:
        found = inspect_inputs(inputs, **_absolute(run, keep)).as_json()
    except SegmintError as exc:
        return {"fatal": error_line(relative_message(run, str(exc)))}
    if found["error"]:
        found["error"] = error_line(relative_message(run, found["error"]))
    return found


_INSPECT_SETTINGS = ("columns", "customers_file", "products_file", "date_format",
                     "keep_duplicates", "as_of")  # fmt: skip


def describe(run: Run, detail: bool = True) -> dict[str, Any]:
    """Return a run's status and, when done, its key figures and segments (the API's view)."""
    meta, status = run.meta, run.status
    described = {
        "id": run.id,
        "created": meta.get("created"),
        "inputs": [
            {"role": u["role"], "name": u["name"], "stored": u["stored"], "bytes": u["bytes"]}
            for u in meta.get("uploads", [])
        ],  # fmt: skip
        **status,
        "links": {"self": f"/api/runs/{run.id}", "page": f"/runs/{run.id}"},
    }
    if detail:
        described["settings"] = meta.get("settings", {})
    if status.get("state") == "done":
        described["links"].update(
            report=f"/runs/{run.id}/report",
            segments=f"/api/runs/{run.id}/segments",
            files=f"/api/runs/{run.id}/files/",
        )
        if detail:
            described["files"] = run.output_files()
            described["segments"] = segment_rows(run)
    return described


def summary_of(run: Run) -> dict:
    return read_json(run.out_dir / "summary.json")


def segment_rows(run: Run) -> list[dict]:
    keep = ("id", "name", "customers", "share", "revenue", "revenue_share", "description",
            "recency_days_mean", "frequency_mean", "monetary_mean", "rule_text")  # fmt: skip
    return [{k: s.get(k) for k in keep} for s in summary_of(run).get("segments", [])]


def customers_page(run: Run, offset: int, limit: int) -> dict[str, Any]:
    """Return rows offset..offset+limit of segments.parquet (limit capped at MAX_PAGE)."""
    import duckdb

    limit = min(limit, MAX_PAGE)
    path = str(run.out_dir / "segments.parquet")
    with duckdb.connect() as con:
        total = one_row(con.execute("SELECT count(*) FROM read_parquet(?)", [path]))[0]
        cursor = con.execute(
            "SELECT * FROM read_parquet(?) LIMIT ? OFFSET ?", [path, limit, offset]
        )
        names = [d[0] for d in cursor.description]
        rows = [
            {k: _json_value(v) for k, v in zip(names, row, strict=True)}
            for row in cursor.fetchall()
        ]
    return {"total": total, "offset": offset, "limit": limit, "rows": rows}


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def media_type(name: str) -> str:
    suffix = Path(name).suffix.lower()
    return MEDIA_TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
