"""Customer lifetime value (docs/clv.md): an order model (Pareto/NBD, MBG/NBD or BG/NBD, in
segmint.clv.orders) for orders and alive-ness, Gamma-Gamma for spend per order.

All are fitted by maximum likelihood on every customer's numpy arrays, time in weeks. The
names below are imported on first use: the models need scipy, which a run loads in the
background (segmint.preload) while DuckDB reads the data.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "MODEL_NAMES": "orders",
    "OrderFit": "orders",
    "fit": "orders",
    "GammaGammaParams": "gamma_gamma",
    "conditional_expected_value": "gamma_gamma",
    "fit_gamma_gamma": "gamma_gamma",
    "clv": "value",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
