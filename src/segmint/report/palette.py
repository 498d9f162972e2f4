"""One colour per segment id, the same in every chart of both reports."""

from __future__ import annotations

# Tableau 10, then its lighter companions: distinct on screen and in print.
SEGMENT_COLOURS = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
    "#a0cbe8", "#ffbe7d", "#ff9d9a", "#86bcb6", "#8cd17d",
    "#f1ce63", "#d4a6c8", "#fabfd2", "#d7b5a6", "#79706e",
)  # fmt: skip
NEUTRAL = "#555555"
# Colour ramps as (position, colour) stops, shared by plotly and matplotlib.
# Diverging: blue below the base, white at it, red above (ColorBrewer RdBu).
DIVERGING = (
    (0.0, "#2166ac"),
    (0.25, "#92c5de"),
    (0.5, "#f7f7f7"),
    (0.75, "#f4a582"),
    (1.0, "#b2182b"),
)
# Sequential: white for nothing, deep blue for the most (ColorBrewer Blues).
SEQUENTIAL = ((0.0, "#f7fbff"), (0.35, "#c6dbef"), (0.7, "#6baed6"), (1.0, "#08519c"))


def segment_colour(segment_id: int) -> str:
    """Return the colour of a segment id (cycling after twenty segments)."""
    return SEGMENT_COLOURS[segment_id % len(SEGMENT_COLOURS)]
