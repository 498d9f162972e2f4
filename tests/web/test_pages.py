"""The pages with TestClient: upload → mapping (detected roles, preview, cleaning; a changed
column) → run → run page, runs list, compare; the report served under a strict CSP."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from helpers import write_csv
from web_helpers import csrf_of, wait_for

ROWS = [[f"c{i % 9}", f"2024-{1 + i % 6:02d}-{1 + (7 * i) % 27:02d}", f"buyer{i % 9}",
         str(10 + (i * 37) % 90)] for i in range(80)]  # fmt: skip


def _upload(client: TestClient, path: Path) -> str:
    answer = client.post(
        "/upload",
        files={"transactions": ("shop export.csv", path.read_bytes())},
        data={"csrf": csrf_of(client)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    location = answer.headers["location"]
    assert re.fullmatch(r"/runs/[A-Za-z0-9_-]{22}/mapping", location)
    return location.split("/")[2]


def test_mapping_shows_detection_and_takes_a_changed_column(
    client: TestClient, tmp_path: Path
) -> None:
    # 'customer' is detected as the customer id; the user wants 'account' instead
    path = write_csv(tmp_path / "t.csv", ["customer", "date", "account", "amount"], ROWS)
    run_id = _upload(client, path)
    page = client.get(f"/runs/{run_id}/mapping").text
    assert "as detected: customer" in page and "as detected: date" in page
    assert "c0" in page and "buyer0" in page  # preview
    assert "Cleaning that will apply" in page and "80</b> rows read" in page
    form = {"csrf": csrf_of(client), "column_customer_id": "account", "k_mode": "fixed",
            "k": "3", "seed": "4", "clv": "off", "feature_set": "rfm"}  # fmt: skip
    checked = client.post(f"/runs/{run_id}/mapping", data={**form, "action": "check"})
    assert checked.status_code == 200
    assert '<option value="account" selected>' in checked.text
    started = client.post(
        f"/runs/{run_id}/mapping", data={**form, "action": "run"}, follow_redirects=False
    )
    assert started.headers["location"] == f"/runs/{run_id}"
    status = wait_for(client, run_id)
    assert status["state"] == "done", status
    assert status["settings"]["columns"] == {"customer_id": "account"}
    assert status["settings"]["k"] == 3 and status["settings"]["seed"] == 4
    page = client.get(f"/runs/{run_id}").text
    assert "Open the report" in page and "segments.csv" in page
    ids = client.get(f"/api/runs/{run_id}/segments").json()["rows"]
    assert {r["customer_id"] for r in ids} == {f"buyer{i}" for i in range(9)}


def test_missing_column_is_shown_with_the_runs_message(client: TestClient, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "t.csv", ["who", "date", "amount"], [r[:2] + r[3:] for r in ROWS])
    run_id = _upload(client, path)
    page = client.get(f"/runs/{run_id}/mapping").text
    assert "error: shop export.csv: no column for the customer_id" in page  # the user's name
    form = {"csrf": csrf_of(client), "column_customer_id": "who", "action": "check"}
    page = client.post(f"/runs/{run_id}/mapping", data=form).text
    assert "no column for the customer_id" not in page and "80</b> rows read" in page


def test_bad_settings_are_shown_on_the_mapping_page(client: TestClient, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "t.csv", ["customer", "date", "amount"],
                     [[r[0], r[1], r[3]] for r in ROWS])  # fmt: skip
    run_id = _upload(client, path)
    form = {"csrf": csrf_of(client), "k_mode": "range", "k_min": "6", "k_max": "4",
            "action": "run"}  # fmt: skip
    answer = client.post(f"/runs/{run_id}/mapping", data=form)
    assert answer.status_code == 422
    assert "error: --k-max 4 is below --k-min 6" in answer.text
    assert client.get(f"/api/runs/{run_id}").json()["state"] == "uploaded"


def test_report_list_and_compare(client: TestClient, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "t.csv", ["customer", "date", "amount"],
                     [[r[0], r[1], r[3]] for r in ROWS])  # fmt: skip
    ids = []
    for k in ("2", "3"):
        answer = client.post("/api/runs", files={"transactions": ("t.csv", path.read_bytes())},
                             data={"k": k, "clv": "off"})  # fmt: skip
        ids.append(answer.json()["id"])
    for run_id in ids:
        assert wait_for(client, run_id)["state"] == "done"
    report = client.get(f"/runs/{ids[0]}/report")
    assert report.status_code == 200 and "data-chart" in report.text
    csp = report.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "connect-src" not in csp
    listing = client.get("/runs").text
    assert all(run_id in listing for run_id in ids)
    compared = client.get("/compare", params={"old": ids[0], "new": ids[1]})
    assert compared.status_code == 200
    assert "Migration" in compared.text and "9</span>in both" in compared.text
    html = client.get(f"/compare/{ids[0]}/{ids[1]}/compare.html")
    assert (
        html.status_code == 200 and "default-src 'none'" in html.headers["content-security-policy"]
    )
    assert client.get(f"/compare/{ids[0]}/{ids[1]}/migration.csv").text.startswith("old segment")
    assert client.get(f"/compare/{ids[0]}/{ids[1]}/meta.json").status_code == 404
