"""Segmint: customer segments from a raw transaction log.

Public API: ``segment()`` runs the whole pipeline; ``SegmentModel`` and ``load_model()``
reuse a fitted model. Imported lazily, so that ``segmint --help`` and a module that only
draws charts do not load DuckDB, pandas and scikit-learn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from segmint.errors import SegmintError

__version__ = "0.1.0"

__all__ = [
    "SegmentModel",
    "SegmentationResult",
    "SegmintError",
    "__version__",
    "load_model",
    "segment",
]

if TYPE_CHECKING:
    from segmint.model import SegmentModel, load_model
    from segmint.pipeline import SegmentationResult, segment

_LAZY = {
    "SegmentModel": "segmint.model",
    "load_model": "segmint.model",
    "SegmentationResult": "segmint.pipeline",
    "segment": "segmint.pipeline",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'segmint' has no attribute {name!r}")
