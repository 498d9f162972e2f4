"""Helpers of the web app's tests (on sys.path through pytest's `pythonpath`)."""

from __future__ import annotations

import time

RUN_TIMEOUT = 120


def wait_for(client, run_id: str, timeout: float = RUN_TIMEOUT, **kwargs) -> dict:
    """Poll GET /api/runs/{id} until the run is done or failed; return its last status."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get(f"/api/runs/{run_id}", **kwargs).json()
        if status["state"] in ("done", "failed"):
            return status
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} still {status['state']} after {timeout} s")


def csrf_of(client) -> str:
    """Return the CSRF token the app gave this client (a page view sets it)."""
    if "segmint_csrf" not in client.cookies:
        client.get("/")
    return client.cookies["segmint_csrf"]
