"""The web app's factory: state, the security middleware, the routes of the pages and the API."""

from __future__ import annotations

import secrets
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.trustedhost import TrustedHostMiddleware

from segmint import __version__
from segmint.web.pool import RunPool
from segmint.web.store import RunStore

SESSION_COOKIE = "segmint_session"
CSRF_COOKIE = "segmint_csrf"
PUBLIC_PATHS = ("/login", "/static/")
PAGE_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
# report.html and compare.html are self-contained: inline plotly.js, inline styles, PNGs as
# data: URIs. Nothing else may load, and they cannot submit forms or be framed elsewhere.
REPORT_CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data: blob:; font-src data:; form-action 'none'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "[::1]", "::1"]


class Attempts:
    """Wrong tokens per client address: after `limit` of them within `window` seconds, the
    address may not try again until the oldest is `window` seconds old (in this process)."""

    def __init__(
        self, limit: int = 10, window: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._failed: dict[str, deque[float]] = {}

    def wait(self, address: str) -> float:
        """Return the seconds before address may try a token again (0: now)."""
        failed = self._failed.get(address)
        if not failed:
            return 0.0
        now = self.clock()
        while failed and now - failed[0] >= self.window:
            failed.popleft()
        if not failed:
            del self._failed[address]
        return self.window - (now - failed[0]) if len(failed) >= self.limit else 0.0

    def failed(self, address: str) -> None:
        """Record a wrong token from address."""
        self._failed.setdefault(address, deque()).append(self.clock())


class Sessions:
    """The login form's sessions, in this process: each valid for `lifetime` seconds after
    the login (a stolen cookie does not last until the server restarts)."""

    def __init__(
        self, lifetime: float = 12 * 3600, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.lifetime, self.clock = lifetime, clock
        self._started: dict[str, float] = {}

    def start(self) -> str:
        """Return a new session id."""
        now = self.clock()
        self._started = {s: t for s, t in self._started.items() if now - t < self.lifetime}
        session = secrets.token_urlsafe(32)
        self._started[session] = now
        return session

    def valid(self, session: str) -> bool:
        now = self.clock()
        return any(
            secrets.compare_digest(session, s) and now - t < self.lifetime
            for s, t in self._started.items()
        )

    def end(self, session: str) -> None:
        self._started.pop(session, None)


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""


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
    )
    app.state.store = store
    app.state.max_bytes = int(max_upload_mb * 1024 * 1024)
    app.state.token = token or None
    app.state.sessions = Sessions()
    app.state.attempts = Attempts()

    from segmint.web import api, pages

    app.include_router(api.router)
    app.include_router(pages.router)
    static = resources.files("segmint.web") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    @app.middleware("http")
    async def guard(request: Request, call_next) -> Response:  # noqa: ANN001
        refusal = _refusal(request)
        if refusal is not None:
            return _secured(refusal)
        csrf = request.cookies.get(CSRF_COOKIE)
        request.state.csrf = csrf if csrf and len(csrf) == 43 else secrets.token_urlsafe(32)
        response = await call_next(request)
        if csrf != request.state.csrf:
            response.set_cookie(CSRF_COOKIE, request.state.csrf, httponly=True,
                                samesite="strict", secure=request.url.scheme == "https")  # fmt: skip
        return _secured(response)

    if allowed_hosts:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts)
    return app


def authenticated(request: Request) -> bool:
    """Return True when no token is set, or the request carries it (bearer or session)."""
    token = request.app.state.token
    if token is None:
        return True
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and secrets.compare_digest(
        given.strip().encode(), token.encode()
    ):
        return True
    session = request.cookies.get(SESSION_COOKIE, "")
    return request.app.state.sessions.valid(session)


def _refusal(request: Request) -> Response | None:
    if request.method not in ("GET", "HEAD", "OPTIONS") and not _same_origin(request):
        return JSONResponse({"detail": "cross-site request refused"}, status_code=403)
    path = request.url.path
    if request.app.state.token is not None and "authorization" in request.headers:
        # A bearer token is tried: refused outright after too many wrong ones (guessing).
        attempts, address = request.app.state.attempts, client_address(request)
        wait = attempts.wait(address)
        if wait:
            return too_many_attempts(wait)
        if not authenticated(request):
            attempts.failed(address)
    if path.startswith(PUBLIC_PATHS) or authenticated(request):
        return None
    if path.startswith(("/api/", "/openapi.json")) or request.method != "GET":
        return JSONResponse(
            {"detail": "authentication required: send Authorization: Bearer <token>"},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    target = path + (f"?{request.url.query}" if request.url.query else "")
    from urllib.parse import quote

    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def retry_after(wait: float) -> int:
    """Return Attempts.wait as the whole seconds a Retry-After header says (at least 1)."""
    return max(1, round(wait))


def too_many_attempts(wait: float) -> Response:
    seconds = retry_after(wait)
    return JSONResponse(
        {"detail": f"too many wrong tokens from this address: try again in {seconds} s"},
        status_code=429,
        headers={"Retry-After": str(seconds)},
    )


def _same_origin(request: Request) -> bool:
    """Return False when a browser says the request comes from another site (CSRF)."""
    origin = request.headers.get("origin")
    if origin is None:
        return request.headers.get("sec-fetch-site", "same-origin") in (
            "same-origin", "none",
        )  # fmt: skip
    if origin == "null":
        return False
    return urlsplit(origin).netloc == request.headers.get("host", "")


def _secured(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("content-security-policy", PAGE_CSP)
    headers["x-content-type-options"] = "nosniff"
    # same-origin, not no-referrer: with no-referrer chromium sends `Origin: null` on our own
    # form posts, which the cross-site check must refuse
    headers["referrer-policy"] = "same-origin"
    headers.setdefault("x-frame-options", "DENY")
    headers.setdefault("cache-control", "no-store")
    return response


def check_csrf(request: Request, submitted: str | None) -> bool:
    """Return True when a form's csrf field matches the browser's CSRF cookie."""
    cookie = request.cookies.get(CSRF_COOKIE)
    return bool(cookie and submitted) and secrets.compare_digest(cookie, submitted)


def is_safe_next(target: str) -> bool:
    return target.startswith("/") and not target.startswith(("//", "/\\"))
