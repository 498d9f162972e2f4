"""`segmint serve`: the web app (FastAPI + uvicorn, extra `segmint[web]`).

Upload an export, check the detected columns, run, read the report and download the outputs,
in a browser; the JSON API under /api does the same for scripts. Pages, API and CLI call the
same library function (`segmint.runs.run_to_folder`).
"""

from __future__ import annotations

from segmint.web.app import create_app

__all__ = ["create_app"]
