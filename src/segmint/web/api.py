"""The JSON API: the pages' twin, for scripts (`/docs` lists it, `/openapi.json` describes it)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse

from segmint.errors import SegmintError
from segmint.runs import error_line
from segmint.settings import CLV_MODELS, FEATURE_SETS, MAX_SEED, SELECTION_METRICS, Settings
from segmint.web import service
from segmint.web.forms import RUN_FIELDS
from segmint.web.responses import StrictJSONResponse
from segmint.web.security import REPORT_CSP
from segmint.web.store import Run
from segmint.web.uploads import UploadError

DEFAULTS = Settings()  # every default, written once (segmint.model.defaults, settings)
router = APIRouter(prefix="/api", tags=["runs"])

_UPLOAD_SCHEMA = {
    "type": "object",
    "required": ["transactions"],
    "properties": {
        "transactions": {
            "type": "array",
            "items": {"type": "string", "format": "binary"},
            "description": "One or more transaction logs (CSV, TSV, .gz, "
            "Parquet, .xlsx), read as one.",
        },  # fmt: skip
        "customers": {
            "type": "string",
            "format": "binary",
            "description": "Customer attributes, joined on customer_id.",
        },  # fmt: skip
        "products": {
            "type": "string",
            "format": "binary",
            "description": "Products, joined on product_id; gives category.",
        },  # fmt: skip
        "column": {
            "type": "array",
            "items": {"type": "string"},
            "description": "role=NAME, as --column (repeat).",
        },  # fmt: skip
        "feature_set": {
            "type": "string",
            "enum": list(FEATURE_SETS),
            "default": DEFAULTS.feature_set,
        },
        "k": {"type": "integer", "description": "Fix the number of segments."},
        "k_min": {"type": "integer", "default": DEFAULTS.k_min},
        "k_max": {"type": "integer", "default": DEFAULTS.k_max},
        "seed": {"type": "integer", "default": DEFAULTS.seed, "minimum": 0, "maximum": MAX_SEED},
        "clv": {"type": "string", "enum": ["auto", "on", "off"], "default": "auto"},
        "clv_model": {"type": "string", "enum": list(CLV_MODELS), "default": DEFAULTS.clv_model},
        "select": {"type": "string", "enum": list(SELECTION_METRICS), "default": DEFAULTS.select},
        "min_stability": {
            "type": "number",
            "default": DEFAULTS.min_stability,
            "minimum": 0,
            "maximum": 1,
        },
        "as_of": {"type": "string", "format": "date"},
        "date_format": {"type": "string"},
        "keep_duplicates": {"type": "boolean"},
        "min_segment_share": {"type": "number", "default": DEFAULTS.min_segment_share},
        "min_segment_size": {"type": "integer", "default": DEFAULTS.min_segment_size},
    },
}


def _run(request: Request, run_id: str) -> Run:
    return service.run_or_404(request, run_id, "no run with this id")


def _done(run: Run) -> None:
    if run.state != "done":
        raise HTTPException(409, f"the run is {run.state}, it has no outputs")


@router.post(
    "/runs",
    status_code=201,
    summary="Upload files and start a run",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"multipart/form-data": {"schema": _UPLOAD_SCHEMA}},
        }
    },  # fmt: skip
    responses={
        413: {"description": "Upload too large"},
        415: {"description": "Not a table"},
        422: {"description": "Invalid settings"},
    },  # fmt: skip
)
async def create_run(request: Request) -> StrictJSONResponse:
    """Upload the files (multipart) with the run's settings; returns the run's id at once.

    The run is queued; poll `GET /api/runs/{id}` until its state is `done` or `failed`."""
    try:
        run, form = await service.receive_upload(request)
    except UploadError as exc:
        return StrictJSONResponse({"detail": exc.message}, status_code=exc.status)
    unknown = sorted(set(form.fields) - set(RUN_FIELDS))
    try:
        if unknown:
            raise SegmintError(f"unknown field {unknown[0]!r}; known: {', '.join(RUN_FIELDS)}")
        settings = service.run_settings(run, form.fields)
    except SegmintError as exc:
        service.discard(run)
        return StrictJSONResponse({"detail": error_line(str(exc))}, status_code=422)
    service.start(request, run, settings)
    return StrictJSONResponse(service.describe(run), status_code=201)


@router.get("/runs", summary="Every run, newest first")
def list_runs(request: Request) -> list[dict]:
    return [service.describe(r, detail=False) for r in service.store_of(request).all()]


@router.get("/runs/{run_id}", summary="A run's status, key figures and segments")
def get_run(request: Request, run_id: str) -> dict:
    """state: uploaded, queued, running (with `stage`), done (with `figures`, `segments` and
    `files`) or failed (with `error`, the line `segmint run` would print)."""
    return service.describe(_run(request, run_id))


@router.get("/runs/{run_id}/columns", summary="The detected role of each column, a preview")
def get_columns(request: Request, run_id: str) -> dict:
    """What the mapping page shows: columns, roles, the first rows, the cleaning that applies."""
    run = _run(request, run_id)
    return service.inspect(run, run.meta.get("settings", {}))


@router.get("/runs/{run_id}/segments", summary="Customers and their segments, a page at a time")
def get_segments(
    request: Request,
    run_id: str,
    offset: int = Query(0, ge=0),
    limit: int = Query(100, ge=1, description=f"at most {service.MAX_PAGE}"),
) -> dict:
    run = _run(request, run_id)
    _done(run)
    return service.customers_page(run, offset, limit)


@router.get("/runs/{run_id}/files/{name:path}", summary="Download one output file")
def get_file(request: Request, run_id: str, name: str) -> FileResponse:
    """name: one of the run's `files` (segments.csv, report.html, charts/…, audiences/…)."""
    run = _run(request, run_id)
    _done(run)
    path = run.output_path(name)
    if path is None:
        raise HTTPException(404, "no output file of this name")
    response = FileResponse(path, media_type=service.media_type(name), filename=path.name,
                            content_disposition_type="attachment")  # fmt: skip
    response.headers["content-security-policy"] = REPORT_CSP
    return response
