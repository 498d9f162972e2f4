"""The pages: upload → mapping and settings → run (live progress) → report and downloads;
the list of runs and the comparison of two. Server-rendered, Jinja2 autoescaped."""

from __future__ import annotations

import secrets
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from segmint import __version__
from segmint.errors import SegmintError
from segmint.runs import error_line
from segmint.settings import CLV_MODELS, FEATURE_SETS, ROLES, Settings
from segmint.templating import environment
from segmint.web import service
from segmint.web.job import STAGE_ORDER
from segmint.web.security import (
    REPORT_CSP,
    SESSION_COOKIE,
    authenticated,
    check_csrf,
    client_address,
    is_safe_next,
    retry_after,
)
from segmint.web.store import Run, read_json
from segmint.web.uploads import UploadError

router = APIRouter(include_in_schema=False)

ROLE_LABELS = {
    "customer_id": "Customer id",
    "date": "Date",
    "order_id": "Order id",
    "quantity": "Quantity",
    "unit_price": "Unit price",
    "amount": "Line amount",
    "category": "Category",
    "product_id": "Product id",
}
REQUIRED = ("customer_id", "date")
STATE_WORDS = {"uploaded": "not started", "queued": "waiting", "running": "running",
               "done": "done", "failed": "failed"}  # fmt: skip


@cache
def _environment() -> jinja2.Environment:
    env = environment("segmint.web")
    env.filters["number"] = _number
    env.filters["money"] = lambda v: "–" if v is None else f"{v:,.0f}"
    env.filters["percent"] = lambda v: "–" if v is None else f"{v * 100:.1f}%"
    env.filters["size"] = _size
    return env


def _number(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}"
    return f"{int(value):,}"


def _size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return str(n)  # pragma: no cover


def render(
    request: Request,
    template: str,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    html = (
        _environment()
        .get_template(template)
        .render(
            csrf=request.state.csrf,
            token_enabled=request.app.state.token is not None,
            version=__version__,
            state_words=STATE_WORDS,
            **context,
        )
    )
    return HTMLResponse(html, status_code=status_code, headers=headers)


def _run(request: Request, run_id: str) -> Run:
    return service.run_or_404(request, run_id, "No run with this id.")


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _upload_names(run: Run) -> list[dict]:
    return run.meta.get("uploads", [])


@router.get("/", response_class=HTMLResponse)
def upload_page(request: Request) -> HTMLResponse:
    return render(request, "upload.html.j2", error=None,
                  max_mb=round(request.app.state.max_bytes / 1024 / 1024, 2))  # fmt: skip


@router.post("/upload")
async def upload(request: Request) -> Response:
    try:
        run, form = await service.receive_upload(request)
    except UploadError as exc:
        return render(request, "upload.html.j2", status_code=exc.status, error=exc.message,
                      max_mb=round(request.app.state.max_bytes / 1024 / 1024, 2))  # fmt: skip
    if not check_csrf(request, form.first("csrf")):
        service.discard(run)
        return render(request, "upload.html.j2", status_code=403,
                      error="The form expired: reload the page and upload again.",
                      max_mb=round(request.app.state.max_bytes / 1024 / 1024, 2))  # fmt: skip
    return _redirect(f"/runs/{run.id}/mapping")


@router.get("/runs/{run_id}/mapping", response_class=HTMLResponse)
async def mapping_page(request: Request, run_id: str) -> Response:
    run = _run(request, run_id)
    if run.state not in ("uploaded", "failed"):
        return _redirect(f"/runs/{run.id}")
    return await _mapping(request, run, run.meta.get("settings", {}), None)


async def _mapping(
    request: Request, run: Run, settings: dict, error: str | None, status_code: int = 200
) -> HTMLResponse:
    found = await run_in_threadpool(service.inspect, run, settings)
    return render(
        request,
        "mapping.html.j2",
        status_code=status_code,
        run=run,
        status=run.status,
        uploads=_upload_names(run),
        found=found,
        settings=settings,
        defaults=Settings(),  # every default, written once (segmint.model.defaults, settings)
        overrides=settings.get("columns", {}),
        roles=ROLES,
        role_labels=ROLE_LABELS,
        required=REQUIRED,
        feature_sets=FEATURE_SETS,
        clv_models=CLV_MODELS,
        error=error,
    )


@router.post("/runs/{run_id}/mapping")
async def mapping_submit(request: Request, run_id: str) -> Response:
    run = _run(request, run_id)
    form = await request.form(max_files=0, max_fields=100)
    if not check_csrf(request, form.get("csrf")):
        raise HTTPException(403, "The form expired: reload the page.")
    if run.state not in ("uploaded", "failed"):
        return _redirect(f"/runs/{run.id}")
    fields = {key: form.getlist(key) for key in form}
    try:
        settings = service.run_settings(run, fields)
    except SegmintError as exc:
        draft = run.meta.get("settings", {})
        return await _mapping(request, run, draft, error_line(str(exc)), status_code=422)
    if form.get("action") != "run":
        meta = run.meta
        meta["settings"] = settings
        run.write_meta(meta)
        return _redirect(f"/runs/{run.id}/mapping#columns")
    service.start(request, run, settings)
    return _redirect(f"/runs/{run.id}")


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, run_id: str) -> Response:
    run = _run(request, run_id)
    status = run.status
    if status["state"] == "uploaded":
        return _redirect(f"/runs/{run.id}/mapping")
    summary = service.summary_of(run) if status["state"] == "done" else {}
    return render(
        request,
        "run.html.j2",
        run=run,
        status=status,
        uploads=_upload_names(run),
        settings=run.meta.get("settings", {}),
        stages=STAGE_ORDER,
        summary=summary,
        files=run.output_files(),
    )


@router.get("/runs/{run_id}/report")
def report(request: Request, run_id: str) -> Response:
    run = _run(request, run_id)
    path = run.output_path("report.html")
    if run.state != "done" or path is None:
        raise HTTPException(404, "This run has no report.")
    return _self_contained(path)


def _self_contained(path: Path) -> FileResponse:
    response = FileResponse(path, media_type="text/html; charset=utf-8")
    response.headers["content-security-policy"] = REPORT_CSP
    return response


@router.get("/runs", response_class=HTMLResponse)
def runs_page(request: Request) -> HTMLResponse:
    runs = [(r, r.status, r.meta) for r in service.store_of(request).all()]
    done = [(r, meta) for r, status, meta in runs if status.get("state") == "done"]
    return render(request, "runs.html.j2", runs=runs, done=done)


@router.get("/compare", response_class=HTMLResponse)
async def compare_page(request: Request, old: str = "", new: str = "") -> Response:
    store = service.store_of(request)
    done = [(r, r.meta) for r in store.all() if r.state == "done"]
    if not old or not new:
        return render(request, "compare.html.j2", done=done, old=old, new=new, result=None,
                      error=None)  # fmt: skip
    old_run, new_run = store.get(old), store.get(new)
    if old_run is None or new_run is None:
        raise HTTPException(404, "No run with this id.")
    if old_run.state != "done" or new_run.state != "done":
        return render(request, "compare.html.j2", status_code=409, done=done, old=old, new=new,
                      result=None, error="Both runs must be done.")  # fmt: skip
    try:
        folder = await run_in_threadpool(_comparison, store.data_dir, old_run, new_run)
    except SegmintError as exc:
        return render(request, "compare.html.j2", status_code=422, done=done, old=old, new=new,
                      result=None, error=error_line(str(exc)))  # fmt: skip
    result = read_json(folder / "compare.json")
    return render(request, "compare.html.j2", done=done, old=old, new=new, result=result,
                  error=None, old_run=old_run, new_run=new_run)  # fmt: skip


def _comparison(data_dir: Path, old: Run, new: Run) -> Path:
    """Return the folder of old → new's comparison, computed once (segmint compare)."""
    # the report's libraries: only when a comparison is first asked for
    from segmint.lifecycle.compare import compare
    from segmint.writing.compare import write_comparison

    folder = data_dir / "compares" / f"{old.id}.{new.id}"
    if not (folder / "compare.json").is_file():
        write_comparison(compare(old.out_dir, new.out_dir), folder)
    return folder


@router.get("/compare/{old}/{new}/{name}")
def compare_file(request: Request, old: str, new: str, name: str) -> Response:
    store = service.store_of(request)
    old_run, new_run = store.get(old), store.get(new)
    folder = store.data_dir / "compares" / f"{old}.{new}"
    if old_run is None or new_run is None or name not in ("compare.html", "migration.csv"):
        raise HTTPException(404, "Not found.")
    if not (folder / name).is_file():
        raise HTTPException(404, "Compare the runs first.")
    if name == "compare.html":
        return _self_contained(folder / name)
    return FileResponse(folder / name, media_type="text/csv; charset=utf-8", filename=name)


@router.get("/docs", response_class=HTMLResponse)
def docs(request: Request) -> HTMLResponse:
    schema = request.app.openapi()
    return render(request, "docs.html.j2", schema=schema)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/") -> Response:
    if request.app.state.token is None or authenticated(request):
        return _redirect(next if is_safe_next(next) else "/")
    return render(request, "login.html.j2", next=next, error=None)


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form(max_files=0, max_fields=10)
    target = str(form.get("next") or "/")
    target = target if is_safe_next(target) else "/"
    if not check_csrf(request, form.get("csrf")):
        return render(request, "login.html.j2", status_code=403, next=target,
                      error="The form expired: try again.")  # fmt: skip
    token = request.app.state.token
    attempts, address = request.app.state.attempts, client_address(request)
    wait = attempts.wait(address)
    if wait:
        return render(request, "login.html.j2", status_code=429, next=target,
                      error=f"Too many wrong tokens: try again in {retry_after(wait)} s.",
                      headers={"Retry-After": str(retry_after(wait))})  # fmt: skip
    given = str(form.get("token") or "")
    if token is None or not secrets.compare_digest(given.encode(), token.encode()):
        attempts.failed(address)
        return render(request, "login.html.j2", status_code=401, next=target,
                      error="Wrong token.")  # fmt: skip
    sessions = request.app.state.sessions
    session = sessions.start()
    response = _redirect(target)
    response.set_cookie(SESSION_COOKIE, session, httponly=True, samesite="strict",
                        max_age=int(sessions.lifetime),
                        secure=request.url.scheme == "https")  # fmt: skip
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    form = await request.form(max_files=0, max_fields=10)
    if not check_csrf(request, form.get("csrf")):
        raise HTTPException(403, "The form expired.")
    if request.app.state.sessions is not None:
        request.app.state.sessions.end(request.cookies.get(SESSION_COOKIE, ""))
    response = _redirect("/login")
    response.delete_cookie(SESSION_COOKIE)
    return response
