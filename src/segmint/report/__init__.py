"""The report: report.html (interactive) and report.md with charts/*.png, from one document.

Imports are lazy: importing one renderer (segmint.report.png) loads only what it draws with.
"""

from __future__ import annotations

from typing import Any

__all__ = ["build_report", "write_report"]


def __getattr__(name: str) -> Any:
    if name == "build_report":
        from segmint.report.build import build_report

        return build_report
    if name == "write_report":
        from segmint.report.writer import write_report

        return write_report
    raise AttributeError(f"module 'segmint.report' has no attribute {name!r}")
