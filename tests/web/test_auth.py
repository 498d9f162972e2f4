"""--token: every page and API call needs the bearer token or the login form's session;
form posts need the CSRF token; cross-site posts are refused; security headers are set."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from segmint.web import create_app
from web_helpers import csrf_of

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
    from segmint.web.security import Attempts

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
    from segmint.web.security import Attempts

    now = [0.0]
    attempts = Attempts(limit=2, window=10.0, clock=lambda: now[0])
    attempts.failed("a")
    attempts.failed("a")
    assert attempts.wait("a") == 10.0 and attempts.wait("b") == 0.0
    now[0] = 9.5
    assert attempts.wait("a") == 0.5
    now[0] = 10.0
    assert attempts.wait("a") == 0.0


def login(client: TestClient, token: str = TOKEN) -> str:
    """Log in through the form; return the session cookie."""
    client.get("/login")
    csrf = client.cookies["segmint_csrf"]
    answer = client.post("/login", data={"token": token, "csrf": csrf}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return client.cookies["segmint_session"]


def test_a_login_session_lasts_twelve_hours_and_ends_at_logout(tmp_path: Path) -> None:
    from segmint.web.security import Sessions

    now = [1_700_000_000.0]
    app = create_app(tmp_path, token=TOKEN, workers=1)
    app.state.sessions = Sessions(tmp_path, TOKEN, lifetime=12 * 3600, clock=lambda: now[0])
    with TestClient(app) as client:
        client.get("/login")
        csrf = client.cookies["segmint_csrf"]
        login = client.post("/login", data={"token": TOKEN, "csrf": csrf}, follow_redirects=False)
        assert login.status_code == 303 and "Max-Age=43200" in login.headers["set-cookie"]
        assert client.get("/api/runs").status_code == 200
        now[0] += 12 * 3600 - 1
        assert client.get("/api/runs").status_code == 200
        now[0] += 1
        assert client.get("/api/runs").status_code == 401  # expired
        now[0] -= 12 * 3600
        assert client.get("/api/runs").status_code == 200
        session = client.cookies["segmint_session"]
        client.post("/logout", data={"csrf": csrf})
        client.cookies.set("segmint_session", session)  # the old cookie, sent again
        assert client.get("/api/runs").status_code == 401


def test_a_session_survives_a_restart_but_not_a_logout(tmp_path: Path) -> None:
    import stat

    cookie = login(TestClient(create_app(tmp_path, token=TOKEN, workers=1)))
    key_file = tmp_path / ".session-key"
    key = key_file.read_bytes()
    assert len(key) == 32 and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    restarted = TestClient(create_app(tmp_path, token=TOKEN, workers=1))
    assert key_file.read_bytes() == key  # reused, not made again
    restarted.cookies.set("segmint_session", cookie)
    assert restarted.get("/api/runs").status_code == 200
    logout = restarted.post("/logout", data={"csrf": csrf_of(restarted)}, follow_redirects=False)
    assert logout.status_code == 303
    assert restarted.get("/api/runs").status_code == 401  # the cookie is still sent
    again = create_app(tmp_path, token=TOKEN, workers=1)  # a restart after the logout
    old = TestClient(again)
    old.cookies.set("segmint_session", cookie)
    assert old.get("/api/runs").status_code == 401
    fresh = TestClient(again)
    assert login(fresh) != cookie  # a new login gets a new session, which works
    assert fresh.get("/api/runs").status_code == 200


def test_a_session_cookie_is_refused_elsewhere_tampered_or_under_another_token(
    tmp_path: Path,
) -> None:
    cookie = login(TestClient(create_app(tmp_path / "a", token=TOKEN, workers=1)))
    session, issued, signature = cookie.split(".")

    def accepted(data_dir: Path, value: str, token: str = TOKEN) -> bool:
        client = TestClient(create_app(data_dir, token=token, workers=1))
        client.cookies.set("segmint_session", value)
        answer = client.get("/api/runs")
        assert answer.status_code in (200, 401)
        return answer.status_code == 200

    assert accepted(tmp_path / "a", cookie)
    assert not accepted(tmp_path / "b", cookie)  # another data dir: another key
    assert not accepted(tmp_path / "a", cookie, token="another-token")
    later = str(int(issued) + 3600)  # a longer life, unsigned
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    for forged in (f"{session}.{later}.{signature}", f"{session}.{issued}.{flipped}",
                   f"x{session}.{issued}.{signature}", f"{session}.{issued}", "", "..",
                   f"{session}.{issued}.{signature}.{signature}", cookie + "=" * 300):  # fmt: skip
        assert not accepted(tmp_path / "a", forged), forged
    assert accepted(tmp_path / "a", cookie)  # still good: nothing above revoked it


def test_a_flood_of_wrong_tokens_blocks_that_address_only_and_for_the_window(
    tmp_path: Path,
) -> None:
    from segmint.web.security import Attempts

    now = [500.0]
    app = create_app(tmp_path, token=TOKEN, workers=1)
    app.state.attempts = Attempts(limit=10, window=60.0, clock=lambda: now[0])
    attacker = TestClient(app, client=("203.0.113.7", 40000))
    csrf = csrf_of(attacker)
    answers = [attacker.post("/login", data={"token": f"guess{i}", "csrf": csrf})
               for i in range(25)]  # fmt: skip
    assert [a.status_code for a in answers] == [401] * 10 + [429] * 15
    assert {a.headers["Retry-After"] for a in answers[10:]} == {"60"}
    assert "Too many wrong tokens: try again in 60 s." in answers[-1].text
    right = attacker.post("/login", data={"token": TOKEN, "csrf": csrf}, follow_redirects=False)
    assert right.status_code == 429  # even the right token, while blocked
    assert attacker.get("/api/runs", headers=BEARER).status_code == 429
    neighbour = TestClient(app, client=("203.0.113.8", 40000))
    assert login(neighbour)  # another address is not blocked
    now[0] += 59.6
    refused = attacker.post("/login", data={"token": TOKEN, "csrf": csrf})
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"  # never 0
    now[0] += 0.4
    assert login(attacker)
    assert attacker.get("/api/runs").status_code == 200


def test_the_attempts_kept_stay_bounded_under_a_flood_from_many_addresses() -> None:
    from segmint.web.security import Attempts

    now = [0.0]
    attempts = Attempts(limit=3, window=60.0, clock=lambda: now[0], max_addresses=100)
    for _ in range(3):
        attempts.failed("198.51.100.1")
    assert attempts.wait("198.51.100.1") == 60.0
    for i in range(10_000):
        now[0] += 0.001
        attempts.failed(f"10.{i // 65536}.{i // 256 % 256}.{i % 256}")
        for _ in range(3):
            attempts.failed("::ffff:198.51.100.1")  # the same address, IPv4-mapped, still failing
    assert len(attempts) == 100
    assert attempts.wait("198.51.100.1") == 60.0  # the most recent wrong tokens are kept
    assert attempts.wait("10.0.0.0") == 0.0  # the oldest addresses were forgotten
    assert attempts._failed["198.51.100.1"].maxlen == 3  # at most `limit` times an address
    now[0] += 60
    attempts.failed("2001:db8::1")
    assert len(attempts) == 1  # the expired ones are dropped
    attempts.failed("2001:db8::2")
    attempts.failed("2001:db8::ffff:3")
    assert attempts.wait("2001:db8::4") == 60.0  # one IPv6 /64 is one client
    assert attempts.wait("2001:db8:0:1::1") == 0.0
