"""The web app's security: sessions, login attempts, CSRF, the content policies and the
request checks the app's middleware applies (pages and API import them from here)."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import ipaddress
import os
import secrets
import tempfile
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from segmint.web.responses import StrictJSONResponse
from segmint.web.store import read_json, write_json_atomically

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
    address may not try again until the oldest is `window` seconds old (in this process).

    Memory stays bounded under a flood from many addresses: an address is forgotten once its
    last wrong token is `window` seconds old, at most `limit` times are kept per address, and
    beyond `max_addresses` the address whose last wrong token is the oldest is forgotten.
    IPv6 addresses count per /64 (what one host or subscriber usually has)."""

    def __init__(
        self,
        limit: int = 10,
        window: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        max_addresses: int = 10_000,
    ) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self.max_addresses = max_addresses
        # by the time of the last wrong token, oldest first: the expired ones lead
        self._failed: OrderedDict[str, deque[float]] = OrderedDict()

    def __len__(self) -> int:
        """Return the number of addresses tracked."""
        return len(self._failed)

    def wait(self, address: str) -> float:
        """Return the seconds before address may try a token again (0: now)."""
        self._forget_expired()
        failed = self._failed.get(_address_key(address))
        if failed is None or len(failed) < self.limit:
            return 0.0
        return max(0.0, self.window - (self.clock() - failed[0]))

    def failed(self, address: str) -> None:
        """Record a wrong token from address."""
        self._forget_expired()
        key = _address_key(address)
        failed = self._failed.pop(key, None) or deque(maxlen=self.limit)
        failed.append(self.clock())
        self._failed[key] = failed  # last: the most recent
        while len(self._failed) > self.max_addresses:
            self._failed.popitem(last=False)

    def _forget_expired(self) -> None:
        now = self.clock()
        while self._failed:
            key, failed = next(iter(self._failed.items()))
            if now - failed[-1] < self.window:
                break
            del self._failed[key]


def _address_key(address: str) -> str:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


class Sessions:
    """The login form's sessions as signed cookies: they survive a restart of the server.

    A cookie is `<session id>.<issue time>.<signature>`, valid for `lifetime` seconds after
    the login (a stolen cookie does not last for ever). The signature is an HMAC-SHA256 keyed
    with the data dir's `.session-key` (32 random bytes, made once, mode 0600) mixed with a
    hash of the token: a cookie from another data dir or issued under another token is
    refused. Logging out puts the session id on a revocation list,
    `<data-dir>/.sessions-revoked.json`, until the cookie would have expired anyway."""

    KEY_FILE = ".session-key"
    REVOKED_FILE = ".sessions-revoked.json"
    CLOCK_SKEW = 60.0  # an issue time up to this far ahead of the clock is still accepted

    def __init__(
        self,
        data_dir: str | Path,
        token: str | None,
        lifetime: float = 12 * 3600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.lifetime, self.clock = lifetime, clock
        data_dir = Path(data_dir)
        token_hash = hashlib.sha256((token or "").encode()).digest()
        self._key = hmac.new(
            session_key(data_dir / self.KEY_FILE), b"segmint-session\0" + token_hash,
            hashlib.sha256,
        ).digest()  # fmt: skip
        self._revoked_file = data_dir / self.REVOKED_FILE
        self._revoked: dict[str, float] = {}
        self._revoked_stamp: tuple[int, int] | None = None

    def start(self) -> str:
        """Return the cookie of a new session."""
        payload = f"{secrets.token_urlsafe(16)}.{int(self.clock())}"
        return f"{payload}.{self._sign(payload)}"

    def valid(self, cookie: str) -> bool:
        session = self._session(cookie)
        return session is not None and session[0] not in self._revocations()

    def end(self, cookie: str) -> None:
        """Revoke the cookie's session (nothing when the cookie is not a valid one)."""
        session = self._session(cookie)
        if session is None:
            return
        now = self.clock()
        revoked = {s: t for s, t in self._revocations().items() if t > now}
        revoked[session[0]] = session[1] + self.lifetime
        write_json_atomically(self._revoked_file, revoked)
        self._revoked, self._revoked_stamp = revoked, self._stamp()

    def _sign(self, payload: str) -> str:
        digest = hmac.new(self._key, payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def _session(self, cookie: str) -> tuple[str, float] | None:
        """Return the session id and issue time of a well-signed, unexpired cookie."""
        if not isinstance(cookie, str) or len(cookie) > 200:
            return None
        payload, _, signature = cookie.rpartition(".")
        session, _, issued = payload.partition(".")
        if not (session and issued.isascii() and issued.isdigit()):
            return None
        if not hmac.compare_digest(signature.encode(), self._sign(payload).encode()):
            return None
        age = self.clock() - int(issued)
        if not -self.CLOCK_SKEW <= age < self.lifetime:
            return None
        return session, float(issued)

    def _stamp(self) -> tuple[int, int] | None:
        try:
            found = self._revoked_file.stat()
        except FileNotFoundError:
            return None
        return found.st_mtime_ns, found.st_size

    def _revocations(self) -> dict[str, float]:
        """Return the revoked session ids (read again when another process changed the file)."""
        stamp = self._stamp()
        if stamp != self._revoked_stamp:
            found = read_json(self._revoked_file) if stamp else {}
            found = found if isinstance(found, dict) else {}
            self._revoked = {s: t for s, t in found.items() if isinstance(t, (int, float))}
            self._revoked_stamp = stamp
        return self._revoked


def session_key(path: Path) -> bytes:
    """Return the 32-byte key in path, made first (mode 0600, atomically) when there is none."""
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        key = b""
    if len(key) == 32:
        return key
    handle, staging = tempfile.mkstemp(prefix=f"{path.name}-", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(secrets.token_bytes(32))
            out.flush()
            os.fsync(out.fileno())
        if key:  # not a key (not 32 bytes): replaced, and the sessions it signed end
            os.replace(staging, path)
        else:
            with contextlib.suppress(FileExistsError):  # another process made it meanwhile
                os.link(staging, path)
    finally:
        Path(staging).unlink(missing_ok=True)
    return path.read_bytes()


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""


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


def refusal_of(request: Request) -> Response | None:
    if request.method not in ("GET", "HEAD", "OPTIONS") and not _same_origin(request):
        return StrictJSONResponse({"detail": "cross-site request refused"}, status_code=403)
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
        return StrictJSONResponse(
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
    return StrictJSONResponse(
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


def secured(response: Response) -> Response:
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
