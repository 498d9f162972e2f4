"""Scaling, choice of k, and the SegmentModel estimator."""

from segmint.model.segment_model import SegmentModel, load_model

__all__ = ["SegmentModel", "load_model"]
