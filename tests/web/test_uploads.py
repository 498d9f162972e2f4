"""Uploads: the size limit enforced while streaming, types checked by content, client names
never used as paths and always escaped when shown."""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from segmint.web import create_app

CSV = b"customer,date,amount\na,2024-01-01,10\nb,2024-01-05,20\nc,2024-02-01,5\n"


@pytest.fixture
def small_limit(tmp_path: Path) -> Iterator[tuple[TestClient, Path]]:
    """An app whose upload limit is 0.01 MB (10,485 bytes)."""
    with TestClient(create_app(tmp_path, max_upload_mb=0.01, workers=1)) as client:
        yield client, tmp_path


def _leftovers(data_dir: Path) -> list[Path]:
    return [p for p in (data_dir / "runs").rglob("*")]


def test_oversized_upload_is_413_and_leaves_nothing(small_limit) -> None:
    client, data_dir = small_limit
    big = CSV + b"d,2024-03-01,1\n" * 2000  # ~30 kB
    answer = client.post("/api/runs", files={"transactions": ("big.csv", big)})
    assert answer.status_code == 413
    assert "0.01 MB" in answer.json()["detail"]
    assert _leftovers(data_dir) == []


def test_size_is_enforced_while_streaming_without_a_length(small_limit) -> None:
    """A chunked body (no Content-Length) is cut off once past the limit."""
    client, data_dir = small_limit
    boundary = "segmintboundary"
    sent = []

    def body() -> Iterator[bytes]:
        yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"transactions\"; "
               f"filename=\"big.csv\"\r\nContent-Type: text/csv\r\n\r\n").encode()  # fmt: skip
        yield CSV
        for _ in range(10_000):  # up to 1.5 MB, far past the limit
            sent.append(1)
            yield b"d,2024-03-01,1\n" * 10
        yield f"\r\n--{boundary}--\r\n".encode()

    answer = client.post(
        "/api/runs",
        content=body(),
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert answer.status_code == 413
    assert _leftovers(data_dir) == []


def test_page_upload_too_large_says_so(small_limit) -> None:
    client, _ = small_limit
    client.get("/")
    answer = client.post(
        "/upload",
        files={"transactions": ("big.csv", CSV * 1000)},
        data={"csrf": client.cookies["segmint_csrf"]},
    )
    assert answer.status_code == 413
    assert "larger than the limit of 0.01 MB" in answer.text


def _xlsx_like_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "not a workbook")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (bytes(range(256)) * 40, "binary content"),
        (b"\x89PNG\r\n\x1a\n" + bytes(2000), "binary content"),
        (b"\x7fELF\x02\x01\x01" + bytes(500), "binary content"),
        (_xlsx_like_zip(), "not an Excel .xlsx workbook"),
        (b"PAR1" + b"x" * 100, "damaged Parquet"),
        (b"\x1f\x8b\x08\x00garbage", "damaged gzip"),
        (gzip.compress(bytes(range(256)) * 10), "binary content"),
        (b"", "empty"),
        (b"   \n\n", "empty"),
    ],
)
def test_files_are_checked_by_content(
    client: TestClient, data_dir: Path, content: bytes, message: str
) -> None:
    before = set((data_dir / "runs").iterdir())
    # the name and the content type claim a CSV: only the bytes count
    answer = client.post("/api/runs", files={"transactions": ("orders.csv", content, "text/csv")})
    assert answer.status_code == 415, answer.text
    assert message in answer.json()["detail"]
    assert set((data_dir / "runs").iterdir()) == before


@pytest.mark.parametrize(
    "content",
    [CSV, gzip.compress(CSV), CSV.replace(b",", b"\t"), "\ufeff".encode() + CSV,
     CSV.decode().encode("utf-16")],
    ids=["csv", "gzip", "tsv", "bom", "utf16"],
)  # fmt: skip
def test_text_tables_are_accepted_whatever_their_name(
    client: TestClient, data_dir: Path, content: bytes
) -> None:
    answer = client.post("/api/runs", files={"transactions": ("data.bin", content)},
                         data={"k": "2", "clv": "off"})  # fmt: skip
    assert answer.status_code == 201, answer.text
    stored = answer.json()["inputs"][0]["stored"]
    expected = "transactions-1.csv.gz" if content[:2] == b"\x1f\x8b" else "transactions-1.csv"
    assert stored == expected


HOSTILE_NAMES = ["../../etc/passwd", "a/b.csv", "<script>alert(1)</script>.csv",
                 "..\\..\\win.ini", "x\x00y.csv", "/absolute/orders.csv", ".."]  # fmt: skip


def _post_raw(client: TestClient, parts: list[tuple[str, bytes, bytes]]) -> dict:
    """POST a multipart body built by hand: the file names reach the server byte for byte
    (httpx would percent-encode a NUL)."""
    boundary = b"segmintboundary"
    body = b""
    for field, filename, content in parts:
        body += b"--" + boundary + b'\r\nContent-Disposition: form-data; name="' + field.encode()
        body += b'"; filename="' + filename + b'"\r\nContent-Type: text/csv\r\n\r\n'
        body += content + b"\r\n"
    body += b"--" + boundary + b'\r\nContent-Disposition: form-data; name="k"\r\n\r\n2\r\n'
    body += b"--" + boundary + b"--\r\n"
    answer = client.post("/api/runs", content=body,
                         headers={"content-type": "multipart/form-data; boundary=segmintboundary"})  # fmt: skip
    assert answer.status_code == 201, answer.text
    return answer.json()


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_names_are_never_paths(client: TestClient, data_dir: Path, name: str) -> None:
    raw = name.encode()
    run = _post_raw(client, [("transactions", raw, CSV),
                             ("customers", raw, b"customer,region\na,North\n")])  # fmt: skip
    folder = data_dir / "runs" / run["id"] / "input"
    assert sorted(p.name for p in folder.iterdir()) == ["customers-1.csv", "transactions-1.csv"]
    assert [i["stored"] for i in run["inputs"]] == ["transactions-1.csv", "customers-1.csv"]
    # kept only as display text, without control characters
    assert run["inputs"][0]["name"] == name.replace("\x00", "")
    assert not (data_dir / "etc").exists() and not (data_dir / "runs" / "etc").exists()
    assert sorted(p.name for p in data_dir.iterdir()) == ["runs"]


def test_hostile_names_are_escaped_in_pages(client: TestClient) -> None:
    name = "<script>alert(1)</script>.csv"
    run = client.post("/api/runs", files={"transactions": (name, CSV)},
                      data={"k": "2", "clv": "off"}).json()  # fmt: skip
    for url in (f"/runs/{run['id']}", "/runs"):
        page = client.get(url).text
        assert "<script>alert(1)" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;.csv" in page


def test_hostile_column_names_and_values_are_escaped(client: TestClient) -> None:
    hostile = b'customer,date,amount,"<img src=x onerror=alert(1)>"\n' + (
        b"<b>a</b>,2024-01-01,10,<script>x()</script>\nb,2024-01-02,3,y\n"
    )
    run = client.post("/api/runs", files={"transactions": ("t.csv", hostile)},
                      data={"k": "2", "clv": "off"}).json()  # fmt: skip
    from web_helpers import wait_for

    wait_for(client, run["id"])
    # a run that failed or finished can be re-checked on the mapping page
    page = client.get(f"/runs/{run['id']}/mapping").text
    if "<img" in page or "<script>x()" in page or "<b>a</b>" in page:
        pytest.fail("user text reached the page unescaped")


# a client's file name → what the outputs call that file
SHOWN_NAMES = {
    "my shop export (2024).csv": "my shop export (2024).csv",
    "../../etc/passwd": "../../etc/passwd",
    "<script>alert(1)</script>.csv": "<script>alert(1)</script>.csv",
    "tab\there\x1b[31m\x7fred\x00\nline.csv": "tabhere[31mredline.csv",
    "Ünïcødé 販売 📈.csv": "Ünïcødé 販売 📈.csv",
    "x" * 4000 + ".csv": "x" * 200,
}


def test_the_report_names_the_users_files_escaped_and_truncated(
    client: TestClient, data_dir: Path
) -> None:
    from web_helpers import wait_for

    parts = [("transactions", name.encode(), f"customer,date,amount\nc{i}a,2024-01-0{i + 1},"
              f"{10 + i}\nc{i}b,2024-02-0{i + 1},{20 + 3 * i}\n".encode())
             for i, name in enumerate(SHOWN_NAMES)]  # fmt: skip
    run = _post_raw(client, parts)
    status = wait_for(client, run["id"])
    assert status["state"] == "done", status
    folder = data_dir / "runs" / run["id"]
    stored = [f"transactions-{i}.csv" for i in range(1, 7)]
    assert [i["stored"] for i in status["inputs"]] == stored
    assert sorted(p.name for p in (folder / "input").iterdir()) == sorted(stored)
    summary = json.loads((folder / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["input"]["files"] == list(SHOWN_NAMES.values())
    assert summary["input"]["rows_read"] == 12  # every file read, under its stored name
    html = (folder / "out" / "report.html").read_text(encoding="utf-8")
    shown = ", ".join(SHOWN_NAMES.values()).replace("<", "&lt;").replace(">", "&gt;")
    assert f"Files: {shown}." in html
    assert "<script>alert(1)" not in html and "</script>.csv" not in html
    assert "x" * 201 not in html and "transactions-1.csv" not in html
    markdown = (folder / "out" / "report.md").read_text(encoding="utf-8")
    assert "my shop export (2024).csv" in markdown and "transactions-1.csv" not in markdown


def test_messages_name_the_users_files() -> None:
    from segmint.web.store import with_upload_names

    names = {"transactions-1.csv": "orders.csv", "transactions-10.csv": "transactions-1.csv",
             "customers-1.csv.gz": "<b>people</b>.csv.gz"}  # fmt: skip
    message = ("transactions-1.csv: bad date; transactions-10.csv, 'customers-1.csv.gz' and "
               "customers-1.csv, transactions-1.csv.bak, xtransactions-1.csv, input/transactions-1.csv")  # fmt: skip
    assert with_upload_names(message, names) == (
        "orders.csv: bad date; transactions-1.csv, '<b>people</b>.csv.gz' and "
        "customers-1.csv, transactions-1.csv.bak, xtransactions-1.csv, input/transactions-1.csv"
    )
    assert with_upload_names(message, {}) == message


def test_uploads_of_one_name_are_told_apart(client: TestClient, data_dir: Path) -> None:
    from segmint.web.store import Run

    run = _post_raw(client, [("transactions", b"orders.csv", CSV), ("transactions", b"orders.csv", CSV),
                             ("customers", b"people.csv", b"customer,region\na,North\n")])  # fmt: skip
    assert Run(data_dir / "runs" / run["id"]).upload_names() == {
        "transactions-1.csv": "orders.csv (transactions-1.csv)",
        "transactions-2.csv": "orders.csv (transactions-2.csv)",
        "customers-1.csv": "people.csv",
    }


def test_a_file_name_too_long_for_a_header_is_refused(client: TestClient, data_dir: Path) -> None:
    before = set((data_dir / "runs").iterdir())
    answer = client.post("/api/runs", files={"transactions": ("x" * 10_000 + ".csv", CSV)})
    if answer.status_code == 201:  # python-multipart before its 4 kB cap on a header line
        assert answer.json()["inputs"][0]["name"] == "x" * 200
        return
    assert answer.status_code == 400
    assert answer.json()["detail"] == "malformed upload (MultipartParseError)"
    assert set((data_dir / "runs").iterdir()) == before
