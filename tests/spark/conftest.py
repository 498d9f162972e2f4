"""One local Spark session for the whole test run (marker `spark`).

Needs the pyspark package (extra `spark`) and a Java runtime. A missing one FAILS the tests:
the Makefile decides whether Spark tests run at all.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    if shutil.which("java") is None:
        pytest.fail("Spark tests need a Java runtime (apt-get install openjdk-17-jre-headless)",
                    pytrace=False)  # fmt: skip
    try:
        from segmint.engines.spark import local_session
    except ImportError as exc:  # pragma: no cover - the spark extra installs it
        pytest.fail(f"Spark tests need the spark extra: {exc}", pytrace=False)
    session = local_session("local[2]", {"spark.sql.shuffle.partitions": "4"})
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
