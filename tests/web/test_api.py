"""The JSON API (TestClient): a run of the demo data equals the library's, paging, downloads,
unknown ids, a failing run's error line equals the CLI's, settings refused with its message."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from helpers import write_csv
from segmint.cli import main
from segmint.datasets import demo_path
from segmint.pipeline import segment
from web_helpers import wait_for


@pytest.fixture(scope="module")
def demo_run(client: TestClient, data_dir: Path) -> dict:
    with open(demo_path(), "rb") as handle:
        answer = client.post(
            "/api/runs",
            files={"transactions": ("online retail.csv.gz", handle)},
            data={"seed": "0", "k_min": "3", "k_max": "6"},
        )
    assert answer.status_code == 201, answer.text
    assert answer.json()["state"] == "queued"
    status = wait_for(client, answer.json()["id"])
    assert status["state"] == "done", status
    status["out"] = data_dir / "runs" / status["id"] / "out"
    return status


def test_demo_run_equals_the_library(demo_run: dict) -> None:
    library = segment([str(demo_path())], seed=0, k_min=3, k_max=6)
    totals = library.summary["totals"]
    assert demo_run["figures"]["customers"] == totals["customers"] == 228
    assert demo_run["figures"]["revenue"] == totals["revenue"]
    assert demo_run["figures"]["segments"] == library.summary["selection"]["chosen_k"]
    assert [s["name"] for s in demo_run["segments"]] == [
        s["name"] for s in library.summary["segments"]
    ]
    assert demo_run["inputs"] == [
        {"role": "transactions", "name": "online retail.csv.gz",
         "stored": "transactions-1.csv.gz", "bytes": demo_path().stat().st_size}
    ]  # fmt: skip
    assert {"segments.csv", "segments.parquet", "report.html", "summary.json"} <= set(
        demo_run["files"]
    )


def test_segments_are_paged(client: TestClient, demo_run: dict) -> None:
    table = pd.read_parquet(demo_run["out"] / "segments.parquet")
    url = f"/api/runs/{demo_run['id']}/segments"
    page = client.get(url, params={"offset": 5, "limit": 3}).json()
    assert page["total"] == len(table) == 228
    assert (page["offset"], page["limit"], len(page["rows"])) == (5, 3, 3)
    assert [r["customer_id"] for r in page["rows"]] == list(table["customer_id"][5:8])
    assert page["rows"][0]["segment_name"] == table["segment_name"][5]
    assert page["rows"][0]["monetary"] == table["monetary"][5]
    capped = client.get(url, params={"limit": 5000}).json()
    assert capped["limit"] == 1000 and len(capped["rows"]) == 228
    assert client.get(url, params={"offset": 300}).json()["rows"] == []
    assert client.get(url, params={"limit": 0}).status_code == 422
    assert client.get(url, params={"offset": -1}).status_code == 422


def test_files_are_the_outputs_bytes(client: TestClient, demo_run: dict) -> None:
    out = demo_run["out"]
    chart = next(name for name in demo_run["files"] if name.startswith("charts/"))
    for name in ("segments.csv", "summary.json", "segments.parquet", chart):
        answer = client.get(f"/api/runs/{demo_run['id']}/files/{name}")
        assert answer.status_code == 200, name
        assert answer.content == (out / name).read_bytes()
        assert answer.headers["content-disposition"].startswith("attachment")
    assert (
        client.get(f"/api/runs/{demo_run['id']}/files/segments.csv")
        .headers["content-type"]
        .startswith("text/csv")
    )


@pytest.mark.parametrize(
    "name", ["nope.csv", "../meta.json", "..%2Fmeta.json", "%2e%2e/status.json", "input", "."]
)
def test_only_listed_outputs_are_served(client: TestClient, demo_run: dict, name: str) -> None:
    answer = client.get(f"/api/runs/{demo_run['id']}/files/{name}")
    assert answer.status_code == 404
    assert "meta" not in answer.text and "state" not in answer.text


@pytest.mark.parametrize(
    "run_id", ["AAAAAAAAAAAAAAAAAAAAAA", "abc", "...", "..%2F..%2Fetc", "x" * 200, "%00"]
)
def test_unknown_and_ill_formed_ids_are_404(client: TestClient, run_id: str) -> None:
    for url in (f"/api/runs/{run_id}", f"/api/runs/{run_id}/segments",
                f"/api/runs/{run_id}/files/segments.csv", f"/runs/{run_id}"):  # fmt: skip
        answer = client.get(url)
        assert answer.status_code == 404, url


def test_a_failing_run_says_what_the_cli_says(
    client: TestClient,
    data_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    path = write_csv(tmp_path / "orders.csv", ["who", "date", "amount"],
                     [["a", "2024-01-01", "3"], ["b", "2024-01-02", "4"]])  # fmt: skip
    answer = client.post("/api/runs", files={"transactions": ("orders.csv", path.read_bytes())})
    status = wait_for(client, answer.json()["id"])
    assert status["state"] == "failed"
    run_folder = data_dir / "runs" / status["id"]
    assert not (run_folder / "out").exists()
    assert [p.name for p in run_folder.iterdir() if p.name.startswith(".")] == []
    monkeypatch.chdir(run_folder / "input")
    assert main(["run", "transactions-1.csv", "--out", str(tmp_path / "out")]) == 2
    cli = capsys.readouterr().err.strip().splitlines()[-1]
    assert cli.startswith("error: transactions-1.csv: no column for the customer_id")
    # the same line, naming the file as the user's was named, not as the server stored it
    assert status["error"] == cli.replace("transactions-1.csv", "orders.csv")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"k_min": "5", "k_max": "3"}, "error: --k-max 3 is below --k-min 5"),
        ({"k": "1"}, "error: --k 1: a segmentation needs at least 2 segments"),
        ({"k": "many"}, "error: --k 'many': write a whole number"),
        ({"feature_set": "all"}, "error: --feature-set 'all': choose one of rfm, value, full"),
        ({"column": "shopper"}, "error: --column 'shopper': write it as role=NAME"),
        ({"clv": "maybe"}, "error: clv 'maybe': choose auto, on or off"),
        ({"colour": "red"}, "error: unknown field 'colour'"),
    ],
)
def test_invalid_settings_are_422_with_the_message(
    client: TestClient, data_dir: Path, fields: dict, message: str
) -> None:
    before = set((data_dir / "runs").iterdir())
    answer = client.post(
        "/api/runs", files={"transactions": ("t.csv", b"customer,date,amount\na,2024-01-01,1\n")},
        data=fields,
    )  # fmt: skip
    assert answer.status_code == 422
    assert answer.json()["detail"].startswith(message)
    assert set((data_dir / "runs").iterdir()) == before  # nothing kept


def test_a_run_needs_a_transactions_file(client: TestClient) -> None:
    answer = client.post("/api/runs", files={"customers": ("c.csv", b"customer,region\na,x\n")})
    assert answer.status_code == 400
    assert "transactions" in answer.json()["detail"]


def test_runs_are_listed_and_documented(client: TestClient, demo_run: dict) -> None:
    listed = client.get("/api/runs").json()
    assert demo_run["id"] in [r["id"] for r in listed]
    schema = client.get("/openapi.json").json()
    assert {"/api/runs", "/api/runs/{run_id}", "/api/runs/{run_id}/segments",
            "/api/runs/{run_id}/files/{name}"} <= set(schema["paths"])  # fmt: skip
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/api/runs/{run_id}/segments" in docs.text
    assert "cdn" not in docs.text.lower()


def test_columns_endpoint_shows_the_detection(client: TestClient, demo_run: dict) -> None:
    found = client.get(f"/api/runs/{demo_run['id']}/columns").json()
    assert found["roles"]["customer_id"] == "CustomerID"
    assert len(found["preview"]) == 10
    assert json.dumps(found)  # plain JSON


def test_form_fields_choose_the_clv_order_model() -> None:
    # The web form and the API take --clv-model's choices, checked as the CLI checks them.
    from segmint.errors import UsageError
    from segmint.settings import Settings
    from segmint.web.forms import settings_from_fields

    fields = {"clv_model": ["mbg-nbd"], "clv": ["on"]}
    assert Settings.create(**settings_from_fields(fields)).clv_model == "mbg-nbd"
    assert Settings.create(**settings_from_fields({})).clv_model == "auto"
    with pytest.raises(UsageError, match="--clv-model 'gamma': choose one of auto, pareto-nbd"):
        Settings.create(**settings_from_fields({"clv_model": ["gamma"]}))


def test_form_fields_set_the_smallest_segment_and_the_seed_within_range() -> None:
    from segmint.errors import UsageError
    from segmint.settings import MAX_SEED, Settings
    from segmint.web.forms import settings_from_fields

    assert Settings.create(**settings_from_fields({})).min_segment_size == 5
    fields = {"min_segment_size": ["12"], "seed": [str(MAX_SEED)]}
    settings = Settings.create(**settings_from_fields(fields))
    assert (settings.min_segment_size, settings.seed) == (12, MAX_SEED)
    with pytest.raises(UsageError, match=f"--seed {MAX_SEED + 1}: choose a whole number from 0"):
        Settings.create(**settings_from_fields({"seed": [str(MAX_SEED + 1)]}))
    assert (
        Settings.create(**settings_from_fields({"min_stability": ["0.75"]})).min_stability == 0.75
    )
    with pytest.raises(UsageError, match=r"--min-stability 1.5: must be in \[0, 1\]"):
        Settings.create(**settings_from_fields({"min_stability": ["1.5"]}))
