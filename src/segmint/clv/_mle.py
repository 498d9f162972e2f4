"""Maximum likelihood on log-parameters, shared by the order models and Gamma-Gamma."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize


def dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Return a @ b (vector · vector, or matrix · vector) computed by numpy's own loop.

    BLAS's product splits a long vector between its threads, and the split changes the
    sum's last bits; its thread count is process-wide, so another run (or the caller) may
    have set it. numpy's einsum never calls BLAS: the same bits in any process.
    """
    return np.einsum("...i,i->...", a, b)


# Every parameter of every model is positive; fitting ln(θ) keeps it so without constraints.
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

# L-BFGS-B may end "abnormally" when its line search cannot improve a function already flat
# to rounding: at a gradient this small (per customer, in ln θ) that is the maximum.
_FLAT_GRADIENT = 1e-6

# A parameter whose ln has a standard error above this is not determined by the data at all
# (a ridge towards a limit that L-BFGS-B stopped on): no interior maximum. Real logs give
# below 10 (the weakest seen: 8.1, Pareto/NBD's beta on a 13-week calibration); 40 identical
# customers give 594 and 4.7e6.
_UNDETERMINED_SD = 20.0

# Step in ln(θ) of the forward differences of the gradient that give the observed information.
_HESSIAN_STEP = 1e-4

Objective = Callable[[np.ndarray], tuple[float, np.ndarray]]


@dataclass(frozen=True)
class MaximumLikelihood:
    """Return value of `maximize`: the parameters, the total log-likelihood, how it ended, and
    the covariance of ln(params) (None without an interior maximum)."""

    params: np.ndarray
    log_likelihood: float
    converged: bool
    iterations: int
    at_edge: tuple[int, ...] = ()
    log_covariance: np.ndarray | None = field(default=None, repr=False)


def log_covariance(
    objective: Objective, log_params: np.ndarray, total_weight: float
) -> np.ndarray | None:
    """Return the covariance of ln(params): the inverse of the observed information.

    The information is the Hessian of the total negative log-likelihood in ln(θ), from
    forward differences of the analytic gradient (one evaluation per parameter, plus one at
    the maximum: at a million rows each costs 0.1-0.3 s; the error, of the order of the
    step, is far below the spread the covariance measures). None when it is not finite, not positive
    definite, or leaves a parameter undetermined (_UNDETERMINED_SD): then the point is no
    interior maximum (the likelihood is flat or still rising along some direction, as when
    parameters run off towards a limit).
    """
    n = len(log_params)
    at_maximum = objective(log_params)[1]
    hessian = np.empty((n, n))
    for i in range(n):
        step = np.zeros(n)
        step[i] = _HESSIAN_STEP
        hessian[i] = (objective(log_params + step)[1] - at_maximum) / _HESSIAN_STEP
    information = (hessian + hessian.T) / 2 * total_weight
    if not np.all(np.isfinite(information)):
        return None
    try:
        np.linalg.cholesky(information)
    except np.linalg.LinAlgError:
        return None
    covariance = np.linalg.inv(information)
    if not np.all(np.isfinite(covariance)):
        return None
    if np.any(np.sqrt(np.maximum(np.diag(covariance), 0.0)) > _UNDETERMINED_SD):
        return None
    return covariance


# Above this many rows a fit starts from the maximum of an evenly spaced subset of them: the
# full maximisation then needs a handful of evaluations instead of dozens (at 730,000
# distinct rows each costs 0.05-0.3 s). The result is the maximum over every row all the same.
WARM_START_ROWS = 50_000


def warm_start(
    make_objective: Callable[[np.ndarray], Objective], rows: int, start: np.ndarray
) -> np.ndarray:
    """Return a starting point for a fit over `rows` rows: `start`, or for many rows the
    maximum over every k-th row (`make_objective(positions)` builds its objective)."""
    if rows <= WARM_START_ROWS:
        return start
    positions = np.arange(0, rows, -(-rows // WARM_START_ROWS))
    return maximize(make_objective(positions), start, 1.0, covariance=False).params


def maximize(
    objective: Objective, start: np.ndarray, total_weight: float, covariance: bool = True
) -> MaximumLikelihood:
    """Return the maximum of a log-likelihood given as a mean negative one over ln(params).

    `objective(log_params)` returns the mean negative log-likelihood and its gradient with
    respect to the log-parameters; `total_weight` (the number of customers) turns the mean
    back into the total. Converged means L-BFGS-B reported success (or stopped where the
    gradient is flat to rounding), no parameter ended on (within EDGE of) the box and the
    observed information is positive definite: the likelihood has an interior maximum and
    we found it.
    """
    start = np.clip(np.log(np.asarray(start, dtype=float)), LOG_LOWER + 1, LOG_UPPER - 1)
    bounds = [(LOG_LOWER, LOG_UPPER)] * len(start)
    result = minimize(
        objective, start, jac=True, method="L-BFGS-B", bounds=bounds, options=_OPTIONS
    )
    edge = (result.x < LOG_LOWER + EDGE) | (result.x > LOG_UPPER - EDGE)
    ended = bool(result.success) or float(np.max(np.abs(result.jac))) < _FLAT_GRADIENT
    covariance_wanted = covariance
    covariance = (
        None
        if edge.any() or not covariance_wanted
        else log_covariance(objective, result.x, total_weight)
    )
    return MaximumLikelihood(
        params=np.exp(result.x),
        log_likelihood=float(-result.fun * total_weight),
        converged=ended and not edge.any() and (covariance is not None or not covariance_wanted),
        iterations=int(result.nit),
        at_edge=tuple(int(i) for i in np.flatnonzero(edge)),
        log_covariance=covariance,
    )
