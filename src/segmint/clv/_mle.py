"""Maximum likelihood on log-parameters, shared by the BG/NBD and Gamma-Gamma fits."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

# Every parameter of both models is positive; fitting ln(θ) keeps it so without constraints.
# The box only stops a likelihood without an interior maximum from running off to overflow:
# a parameter that ends on it means the maximum does not exist, so the fit is not converged.
LOG_LOWER = float(np.log(1e-8))
LOG_UPPER = float(np.log(1e8))
# Within 1% of the box counts as on it: where the likelihood flattens out towards the edge,
# L-BFGS-B may report success a little short of it (scipy 1.17 stopped 0.06% short).
EDGE = 0.01

# The objective is the mean negative log-likelihood per customer, so these tolerances mean the
# same thing for 100 customers and for 3 million.
_OPTIONS = {"maxiter": 2000, "ftol": 1e-13, "gtol": 1e-9}

Objective = Callable[[np.ndarray], tuple[float, np.ndarray]]


@dataclass(frozen=True)
class MaximumLikelihood:
    """Return value of `maximize`: the parameters, the total log-likelihood, and how it ended."""

    params: np.ndarray
    log_likelihood: float
    converged: bool
    iterations: int


def maximize(objective: Objective, start: np.ndarray, total_weight: float) -> MaximumLikelihood:
    """Return the maximum of a log-likelihood given as a mean negative one over ln(params).

    `objective(log_params)` returns the mean negative log-likelihood and its gradient with
    respect to the log-parameters; `total_weight` (the number of customers) turns the mean
    back into the total. Converged means L-BFGS-B reported success and no parameter ended on
    (within EDGE of) the box, i.e. the likelihood has an interior maximum and we found it.
    """
    start = np.clip(np.log(np.asarray(start, dtype=float)), LOG_LOWER + 1, LOG_UPPER - 1)
    bounds = [(LOG_LOWER, LOG_UPPER)] * len(start)
    result = minimize(
        objective, start, jac=True, method="L-BFGS-B", bounds=bounds, options=_OPTIONS
    )
    on_bound = np.any(result.x < LOG_LOWER + EDGE) or np.any(result.x > LOG_UPPER - EDGE)
    return MaximumLikelihood(
        params=np.exp(result.x),
        log_likelihood=float(-result.fun * total_weight),
        converged=bool(result.success) and not on_bound,
        iterations=int(result.nit),
    )
