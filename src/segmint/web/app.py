"""The web app's factory: state, the security middleware, the routes of the pages and the API."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.trustedhost import TrustedHostMiddleware

from segmint import __version__
from segmint.web import api, pages
from segmint.web.pool import RunPool
from segmint.web.responses import StrictJSONResponse
from segmint.web.security import (
    CSRF_COOKIE,
    Attempts,
    Sessions,
    refusal_of,
    secured,
)
from segmint.web.store import RunStore


def create_app(
    data_dir: str | Path,
    max_upload_mb: float = 500,
    token: str | None = None,
    workers: int | None = None,
    allowed_hosts: list[str] | None = None,
) -> FastAPI:
    """Return the Segmint web app over data_dir (runs in `<data_dir>/runs/<id>/`).

    token: when set, every page and API call needs `Authorization: Bearer <token>` or the
    session cookie of the login form. allowed_hosts: the Host headers accepted (None: any).
    """
    store = RunStore(data_dir)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = RunPool(workers)
        app.state.pool.recover(store)
        yield
        app.state.pool.shutdown()

    app = FastAPI(
        title="Segmint",
        version=__version__,
        description="Customer segments from a transaction log: upload, run, read, download.",
        docs_url=None,  # our own /docs: FastAPI's loads Swagger UI from a CDN
        redoc_url=None,
        lifespan=lifespan,
        default_response_class=StrictJSONResponse,
    )
    app.state.store = store
    app.state.max_bytes = int(max_upload_mb * 1024 * 1024)
    app.state.token = token or None
    # the login form's sessions: only with a token (no key file in a data dir without one)
    app.state.sessions = Sessions(store.data_dir, token) if token else None
    app.state.attempts = Attempts()

    app.include_router(api.router)
    app.include_router(pages.router)
    static = resources.files("segmint.web") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    @app.middleware("http")
    async def guard(request: Request, call_next) -> Response:  # noqa: ANN001
        refusal = refusal_of(request)
        if refusal is not None:
            return secured(refusal)
        csrf = request.cookies.get(CSRF_COOKIE)
        request.state.csrf = csrf if csrf and len(csrf) == 43 else secrets.token_urlsafe(32)
        response = await call_next(request)
        if csrf != request.state.csrf:
            response.set_cookie(CSRF_COOKIE, request.state.csrf, httponly=True,
                                samesite="strict", secure=request.url.scheme == "https")  # fmt: skip
        return secured(response)

    if allowed_hosts:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts)
    return app
