"""Customer lifetime value: BG/NBD for orders and alive-ness, Gamma-Gamma for spend per order.

Both are fitted by maximum likelihood on per-customer numpy arrays, with time in weeks.
"""

from __future__ import annotations

from segmint.clv.bgnbd import (
    BgNbdParams,
    conditional_expected_orders,
    expected_orders_new,
    fit_bgnbd,
    p_alive,
)
from segmint.clv.gamma_gamma import (
    GammaGammaParams,
    conditional_expected_value,
    fit_gamma_gamma,
)
from segmint.clv.value import clv

__all__ = [
    "BgNbdParams",
    "GammaGammaParams",
    "clv",
    "conditional_expected_orders",
    "conditional_expected_value",
    "expected_orders_new",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "p_alive",
]
