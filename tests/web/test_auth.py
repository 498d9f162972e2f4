"""--token: every page and API call needs the bearer token or the login form's session;
form posts need the CSRF token; cross-site posts are refused; security headers are set."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from segmint.web import create_app

TOKEN = "correct-horse-battery"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(tmp_path, token=TOKEN, workers=1)) as client:
        yield client


@pytest.mark.parametrize("url", ["/api/runs", "/openapi.json", "/api/runs/AAAAAAAAAAAAAAAAAAAAAA"])
def test_api_needs_the_token(guarded: TestClient, url: str) -> None:
    assert guarded.get(url).status_code == 401
    assert guarded.get(url, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert guarded.get(url, headers={"Authorization": TOKEN}).status_code == 401
    assert guarded.get(url, headers=BEARER).status_code in (200, 404)


def test_upload_needs_the_token(guarded: TestClient, tmp_path: Path) -> None:
    files = {"transactions": ("t.csv", b"customer,date,amount\na,2024-01-01,1\n")}
    assert guarded.post("/api/runs", files=files).status_code == 401
    assert list((tmp_path / "runs").iterdir()) == []
    assert guarded.post("/api/runs", files=files, headers=BEARER).status_code == 201


@pytest.mark.parametrize("url", ["/", "/runs", "/docs", "/compare"])
def test_pages_send_to_the_login_form(guarded: TestClient, url: str) -> None:
    answer = guarded.get(url, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login?next=")
    assert guarded.get(url, headers=BEARER).status_code == 200


def test_login_form_sets_a_session(guarded: TestClient) -> None:
    page = guarded.get("/login")
    assert page.status_code == 200 and 'type="password"' in page.text
    csrf = guarded.cookies["segmint_csrf"]
    wrong = guarded.post("/login", data={"token": "nope", "csrf": csrf, "next": "/runs"})
    assert wrong.status_code == 401 and "Wrong token" in wrong.text
    assert "segmint_session" not in guarded.cookies
    no_csrf = guarded.post("/login", data={"token": TOKEN, "next": "/runs"})
    assert no_csrf.status_code == 403
    answer = guarded.post(
        "/login", data={"token": TOKEN, "csrf": csrf, "next": "/runs"}, follow_redirects=False
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/runs"
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert guarded.get("/runs").status_code == 200
    assert guarded.get("/api/runs").status_code == 200
    guarded.post("/logout", data={"csrf": csrf})
    assert guarded.get("/api/runs").status_code == 401


def test_login_never_redirects_off_site(guarded: TestClient) -> None:
    csrf = (guarded.get("/login"), guarded.cookies["segmint_csrf"])[1]
    answer = guarded.post("/login", data={"token": TOKEN, "csrf": csrf,
                          "next": "//evil.example/"}, follow_redirects=False)  # fmt: skip
    assert answer.headers["location"] == "/"


def test_forms_need_the_csrf_token(client: TestClient, data_dir: Path) -> None:
    before = set((data_dir / "runs").iterdir())
    files = {"transactions": ("t.csv", b"customer,date,amount\na,2024-01-01,1\n")}
    assert client.post("/upload", files=files).status_code == 403
    assert client.post("/upload", files=files, data={"csrf": "x" * 43}).status_code == 403
    assert set((data_dir / "runs").iterdir()) == before


def test_cross_site_posts_are_refused(client: TestClient) -> None:
    files = {"transactions": ("t.csv", b"customer,date,amount\na,2024-01-01,1\n")}
    for origin in ("http://evil.example", "null", "http://testserver:9999"):
        answer = client.post("/api/runs", files=files, headers={"Origin": origin})
        assert answer.status_code == 403, origin
    answer = client.post("/api/runs", files=files, headers={"Sec-Fetch-Site": "cross-site"})
    assert answer.status_code == 403


def test_security_headers(client: TestClient) -> None:
    page = client.get("/")
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "https://" not in page.text  # no CDN


def test_loopback_server_refuses_other_host_names(tmp_path: Path) -> None:
    """DNS rebinding: a page of evil.example resolving to 127.0.0.1 sends Host: evil.example."""
    app = create_app(tmp_path, workers=1, allowed_hosts=["127.0.0.1", "localhost"])
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        assert client.get("/").status_code == 200
        assert client.get("/", headers={"host": "evil.example"}).status_code == 400


def test_wrong_tokens_from_one_address_are_refused_for_a_while(tmp_path: Path) -> None:
    """After 10 wrong tokens within a minute (form or bearer), the address gets 429 with
    Retry-After, even for the right token, until the oldest wrong one is a minute old."""
    from segmint.web.app import Attempts

    now = [1000.0]
    app = create_app(tmp_path, token=TOKEN, workers=1)
    app.state.attempts = Attempts(limit=10, window=60.0, clock=lambda: now[0])
    with TestClient(app) as client:
        csrf = client.get("/login").cookies.get("segmint_csrf") or client.cookies["segmint_csrf"]
        for i in range(5):
            assert (
                client.post("/login", data={"token": f"guess{i}", "csrf": csrf}).status_code == 401
            )
        wrong = {"Authorization": "Bearer guess"}
        now[0] += 10
        for _ in range(5):
            assert client.get("/api/runs", headers=wrong).status_code == 401
        now[0] += 20  # 10 wrong tokens, the oldest 30 s ago
        refused = client.get("/api/runs", headers=BEARER)
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "30"
        form = client.post("/login", data={"token": TOKEN, "csrf": csrf})
        assert form.status_code == 429 and "Too many wrong tokens" in form.text
        assert client.get("/api/runs").status_code == 401  # no token tried: not counted
        now[0] += 30  # the five form guesses are a minute old: five wrong tokens left
        assert client.get("/api/runs", headers=BEARER).status_code == 200
        for _ in range(5):
            assert client.get("/api/runs", headers=wrong).status_code == 401
        refused = client.get("/api/runs", headers=BEARER)
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "10"


def test_attempts_are_counted_per_address() -> None:
    from segmint.web.app import Attempts

    now = [0.0]
    attempts = Attempts(limit=2, window=10.0, clock=lambda: now[0])
    attempts.failed("a")
    attempts.failed("a")
    assert attempts.wait("a") == 10.0 and attempts.wait("b") == 0.0
    now[0] = 9.5
    assert attempts.wait("a") == 0.5
    now[0] = 10.0
    assert attempts.wait("a") == 0.0


def test_a_login_session_lasts_twelve_hours_and_ends_at_logout(tmp_path: Path) -> None:
    from segmint.web.app import Sessions

    now = [0.0]
    app = create_app(tmp_path, token=TOKEN, workers=1)
    app.state.sessions = Sessions(lifetime=12 * 3600, clock=lambda: now[0])
    with TestClient(app) as client:
        client.get("/login")
        csrf = client.cookies["segmint_csrf"]
        login = client.post("/login", data={"token": TOKEN, "csrf": csrf}, follow_redirects=False)
        assert login.status_code == 303 and "Max-Age=43200" in login.headers["set-cookie"]
        assert client.get("/api/runs").status_code == 200
        now[0] = 12 * 3600 - 1
        assert client.get("/api/runs").status_code == 200
        now[0] = 12 * 3600
        assert client.get("/api/runs").status_code == 401  # expired
        now[0] = 0.0
        assert client.get("/api/runs").status_code == 200
        session = client.cookies["segmint_session"]
        client.post("/logout", data={"csrf": csrf})
        client.cookies.set("segmint_session", session)  # the old cookie, sent again
        assert client.get("/api/runs").status_code == 401
