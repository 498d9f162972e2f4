"""The documentation's Spark examples (`$ segmint … --engine spark`), run as written: each
command is a `segmint` program of its own, which starts its local Spark session as a user's
would (tests/docs_examples.py says how; tests/test_docs.py runs the other examples)."""

from __future__ import annotations

import pytest

from docs_examples import blocks, commands, pages, prepare_workspace, run_page, working_in

pytestmark = pytest.mark.spark

SPARK_PAGES = [
    page
    for page in pages()
    if any(c.on_spark for b in blocks(page) if b.language == "console" for c in commands(b))
]


def test_the_docs_have_spark_examples():
    assert SPARK_PAGES


@pytest.mark.parametrize("page", SPARK_PAGES, ids=lambda p: p.name)
def test_every_spark_example_of_the_page_runs(page, tmp_path, capsys):
    with working_in(prepare_workspace(tmp_path / "work")):
        assert run_page(page, capsys, spark=True) >= 1
