"""Segmint: customer segments from a raw transaction log.

Public API: ``segment()`` runs the whole pipeline; ``SegmentModel`` and ``load_model()``
reuse a fitted model.
"""

from __future__ import annotations

__version__ = "0.1.0"

from segmint.errors import SegmintError  # noqa: E402
from segmint.model import SegmentModel, load_model  # noqa: E402
from segmint.pipeline import SegmentationResult, segment  # noqa: E402

__all__ = [
    "SegmentModel",
    "SegmentationResult",
    "SegmintError",
    "__version__",
    "load_model",
    "segment",
]
