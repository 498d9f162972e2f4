"""The order models (docs/clv.md): one interface over Pareto/NBD, MBG/NBD and BG/NBD.

Each model is a module with the same functions, all vectorised over customers, times in
weeks, parameters a sequence of floats in the order of the module's PARAMS:

    PARAMS                                  the parameter names, e.g. ("r", "alpha", "s", "beta")
    log_likelihood(params, x, t_x, T)       each customer's log-likelihood
    objective(x, t_x, T, weights)           f(ln params) → (weighted mean −LL, its gradient)
    start(x, t_x, T, weights)               starting parameters for the fit
    p_alive(params, x, t_x, T)              P(alive at T | x, t_x, T)
    expected_orders(params, t, x, t_x, T, alive=None)
                                            E[orders in (T, T + t] | x, t_x, T]
    p_no_order(params, t, x, t_x, T, alive=None)
                                            P(no order in (T, T + t] | x, t_x, T)
                                            (alive: P(alive) of the same customers, when
                                            already computed: it is the costly part)
    expected_orders_new(params, t)          E[repeat orders in (0, t]] of a customer first
                                            buying at 0
    alive_of_rows(x, t_x, T)                (optional) params → P(alive) of these customers,
                                            for many parameter values at less cost

`fit` collapses identical customers into weighted rows (every customer counts, none is
sampled), maximises the likelihood and keeps the covariance of ln(params) for intervals.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import ModuleType

import numpy as np
from numpy.typing import ArrayLike

from segmint.clv._inputs import DistinctRows, distinct_rows
from segmint.clv._mle import Objective, maximize, warm_start

# Name on the command line → module of segmint.clv.
MODULES = {"pareto-nbd": "paretonbd", "mbg-nbd": "mbgnbd", "bg-nbd": "bgnbd"}
MODEL_NAMES = tuple(MODULES)


def model(name: str) -> ModuleType:
    """Return the module of an order model by its command-line name."""
    if name not in MODULES:
        raise ValueError(f"unknown order model {name!r}: choose one of {', '.join(MODULES)}")
    return importlib.import_module(f"segmint.clv.{MODULES[name]}")


@dataclass(frozen=True)
class OrderFit:
    """A fitted order model: its parameters, how the fit ended and on what, and the
    covariance of ln(params) (None when the observed information is not invertible)."""

    name: str
    param_names: tuple[str, ...]
    params: tuple[float, ...]
    log_likelihood: float
    converged: bool
    iterations: int
    at_edge: tuple[str, ...]
    customers: int
    distinct_rows: int
    log_covariance: np.ndarray | None = field(default=None, compare=False, repr=False)

    @property
    def module(self) -> ModuleType:
        return model(self.name)

    @property
    def values(self) -> dict[str, float]:
        """Return the parameters by name."""
        return dict(zip(self.param_names, self.params, strict=True))

    def with_params(self, params: ArrayLike) -> OrderFit:
        """Return this fit with other parameter values (for intervals by the delta method)."""
        values = tuple(float(v) for v in np.asarray(params, dtype=float))
        return OrderFit(self.name, self.param_names, values, self.log_likelihood,
                        self.converged, self.iterations, self.at_edge, self.customers,
                        self.distinct_rows, self.log_covariance)  # fmt: skip

    def p_alive(self, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> np.ndarray:
        return self.module.p_alive(self.params, x, t_x, T)

    def expected_orders(
        self,
        t: ArrayLike,
        x: ArrayLike,
        t_x: ArrayLike,
        T: ArrayLike,
        alive: np.ndarray | None = None,
    ) -> np.ndarray:
        return self.module.expected_orders(self.params, t, x, t_x, T, alive)

    def p_no_order(
        self,
        t: ArrayLike,
        x: ArrayLike,
        t_x: ArrayLike,
        T: ArrayLike,
        alive: np.ndarray | None = None,
    ) -> np.ndarray:
        return self.module.p_no_order(self.params, t, x, t_x, T, alive)

    def expected_orders_new(self, t: ArrayLike) -> np.ndarray:
        return self.module.expected_orders_new(self.params, t)

    def alive_function(
        self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
    ) -> Callable[[Sequence[float]], np.ndarray]:
        """Return params → P(alive) of these customers: the module's `alive_of_rows` where it
        has one (customers prepared once for many parameter values), else its p_alive."""
        prepared = getattr(self.module, "alive_of_rows", None)
        if prepared is not None:
            return prepared(x, t_x, T)
        module = self.module
        return lambda params: module.p_alive(params, x, t_x, T)


def fit(
    name: str,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    weights: ArrayLike | None = None,
) -> OrderFit:
    """Return the maximum-likelihood fit of an order model to customers (x, t_x, T) in weeks.

    `weights` counts how many customers each row stands for (default 1 each); identical rows
    are merged first, which is exact. Raises ValueError on invalid input and when no
    customer has a repeat purchase: nothing can then be learnt about buying again.
    """
    rows = distinct_rows(np.asarray(x, float), np.asarray(t_x, float), np.asarray(T, float),
                         weights)  # fmt: skip
    return fit_rows(name, rows)


def fit_rows(name: str, rows: DistinctRows) -> OrderFit:
    """Return the maximum-likelihood fit of an order model to weighted distinct rows."""
    module = model(name)
    if not np.any((rows.x > 0) & (rows.weight > 0)):
        raise ValueError(f"{name} needs at least one customer with a repeat purchase (x > 0)")
    keep = rows.weight > 0
    x_, t_x_, T_, w = rows.x[keep], rows.t_x[keep], rows.T[keep], rows.weight[keep]
    total = float(w.sum())
    objective = module.objective(x_, t_x_, T_, w)

    def subset(at: np.ndarray) -> Objective:
        return module.objective(x_[at], t_x_[at], T_[at], w[at])

    start = warm_start(subset, len(x_), module.start(x_, t_x_, T_, w))
    result = maximize(objective, start, total)
    return OrderFit(
        name=name,
        param_names=tuple(module.PARAMS),
        params=tuple(float(v) for v in result.params),
        log_likelihood=result.log_likelihood,
        converged=result.converged,
        iterations=result.iterations,
        at_edge=tuple(module.PARAMS[i] for i in result.at_edge),
        customers=int(round(total)),
        distinct_rows=len(x_),
        log_covariance=result.log_covariance,
    )
