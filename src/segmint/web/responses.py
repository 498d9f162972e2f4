"""The web app's JSON answers, written by the one strict JSON writer (segmint.strict_json)."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from segmint import strict_json


class StrictJSONResponse(JSONResponse):
    """A JSON response that never carries NaN or Infinity (see segmint.strict_json)."""

    def render(self, content: Any) -> bytes:
        return strict_json.dumps(content, compact=True).encode("utf-8")
