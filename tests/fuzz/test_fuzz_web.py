"""The web API on generated uploads, file names and form fields: an answer is 201 and the run
ends done (strict, complete outputs) or failed (one `error:` line), or the request is refused
with a 4xx and a JSON detail; never a 500, never a crash."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from properties import check_outputs, check_strict_json
from strategies import csv_bytes, csv_dialects, logs

pytest.importorskip("fastapi", reason="the web extra is not installed: pip install -e '.[web]'")

from fastapi.testclient import TestClient  # noqa: E402

from segmint.web import create_app  # noqa: E402
from web_helpers import wait_for  # noqa: E402

# Form fields: (valid values, invalid ones); "" leaves the field out.
FIELDS = {
    "k": (("", "3"), ("1", "x", "4294967296")),
    "k_min": (("", "2"), ("0",)),
    "seed": (("", "0", "4294967295"), ("4294967296", "-1", "1e3")),
    "min_segment_size": (("", "0", "5"), ("-2",)),
    "min_segment_share": (("", "0.02"), ("nan", "2")),
    "select": (("", "davies_bouldin", "stable"), ("best",)),
    "clv": (("", "auto", "on", "off"), ("maybe",)),
    "as_of": (("", "2011-12-09"), ("yesterday",)),
    "column": (("",), ("shopper", "amount=nowhere")),
}
FILE_NAMES = ("orders.csv", "../../etc/passwd", "<script>alert(1)</script>.csv", "",
              "commandes été.csv", "a" * 300 + ".csv", "x\r\ny.csv")  # fmt: skip


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    data_dir = tmp_path_factory.mktemp("fuzz-web")
    with TestClient(create_app(data_dir, workers=1)) as test_client:
        test_client.data_dir = data_dir
        yield test_client


@given(log=logs(max_lines=120), dialect=csv_dialects, data=st.data())
def test_the_api_never_fails_with_a_server_error(client: TestClient, log, dialect, data) -> None:
    wrong = data.draw(st.sampled_from((None,) * 4 + tuple(FIELDS)))  # a field given a bad value
    fields = {}
    for name, (good, bad) in FIELDS.items():
        value = data.draw(st.sampled_from(bad if name == wrong else good))
        if value:
            fields[name] = value
    if wrong is None and log.column("customer_id") and data.draw(st.booleans()):
        fields["column"] = f"customer_id={log.column('customer_id')}"
    name = data.draw(st.sampled_from(FILE_NAMES))
    answer = client.post("/api/runs", files={"transactions": (name, csv_bytes(log, dialect))},
                         data=fields)  # fmt: skip
    assert answer.status_code in (201, 400, 413, 415, 422), answer.text
    body = check_strict_json(answer.text, "answer")
    event(f"status {answer.status_code}")
    if answer.status_code != 201:
        event(f"{answer.status_code}: {body['detail'][:50]}")
        assert body["detail"], body
        return
    status = wait_for(client, body["id"])
    assert status["state"] in ("done", "failed"), status
    event(f"run {status['state']}")
    if status["state"] == "failed":
        event(f"failed: {status['error'][:70]}")
        assert status["error"].startswith("error: ") and "\n" not in status["error"], status
        assert "Traceback" not in status["error"]
        return
    out = Path(client.data_dir) / "runs" / body["id"] / "out"
    check_outputs(out)
    for url in (f"/api/runs/{body['id']}", f"/api/runs/{body['id']}/segments"):
        answer = client.get(url)
        assert answer.status_code == 200
        check_strict_json(answer.text, url)
