"""`segmint serve`'s door: without the web extra it says how to get it; bad options exit 2."""

from __future__ import annotations

import sys

import pytest

from segmint.cli import main


def test_serve_without_the_web_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # import uvicorn raises ImportError
    assert main(["serve"]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: segmint serve needs the web extra: pip install 'segmint[web]'"
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--max-upload-mb", "0"], "error: --max-upload-mb 0: must be above 0"),
        (["--workers", "0"], "error: --workers 0: must be at least 1"),
        (["--port", "70000"], "error: --port 70000: choose a port from 1 to 65535"),
        (["--token", "short"], "error: --token: use at least 8 characters"),
    ],
)
def test_serve_refuses_bad_options(
    options: list[str], message: str, capsys: pytest.CaptureFixture, tmp_path
) -> None:
    pytest.importorskip("uvicorn")
    assert main(["serve", "--data-dir", str(tmp_path), *options]) == 2
    assert capsys.readouterr().err.strip() == message
