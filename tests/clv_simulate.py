"""Simulated customers of the order models, drawn from each model's story with numpy alone.

`simulate` calls nothing of segmint: it is the models' assumptions written out as purchases
one after another, so that tests/test_clv_simulation.py can hold the closed-form per-customer
figures of segmint.clv.bgnbd, mbgnbd and paretonbd against it; the comparison helpers below
only evaluate a model module's formulas at the simulated customers. Times are in
weeks and rates are per week; every customer makes a first purchase at 0, is observed until
their own T and then for a further `t` weeks.

- BG/NBD: purchases at Poisson rate λ ~ Gamma(r, rate alpha); right after each repeat purchase
  the customer drops out with probability p ~ Beta(a, b).
- MBG/NBD: the same, but the coin for dropping out is also tossed right after the first
  purchase at time 0.
- Pareto/NBD: purchases at Poisson rate λ ~ Gamma(r, rate alpha) until death at an
  exponential time with rate μ ~ Gamma(s, rate beta).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import erfc
from types import ModuleType

import numpy as np
from scipy.stats import poisson

# Name of each model (as in segmint.clv.orders.MODULES) → how its customers drop out.
DROPOUT = {
    "bg-nbd": "after repeat purchases",
    "mbg-nbd": "after every purchase",
    "pareto-nbd": "exponential lifetime",
}


@dataclass(frozen=True)
class Simulated:
    """Simulated customers: what a model sees (x, t_x, T) and what happened that it cannot see.

    `alive` is whether the customer had not dropped out at T, `future` the number of purchases
    in (T, T + t], `new` the number of repeat purchases in (0, t_new] (every customer is also
    a new one at time 0, whatever their T).
    """

    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    alive: np.ndarray
    future: np.ndarray
    new: np.ndarray
    t: float
    t_new: float


def simulate(
    model: str,
    params: Sequence[float],
    T: np.ndarray,
    t: float,
    t_new: float,
    rng: np.random.Generator,
) -> Simulated:
    """Return customers simulated from a model's story, one per entry of T.

    `params` is (r, alpha, a, b) for BG/NBD and MBG/NBD, (r, alpha, s, beta) for Pareto/NBD.
    Purchases are drawn one at a time for all customers still buying (gaps ~ Exp(λ)), until a
    customer drops out or passes the last time any figure needs; one coin per purchase for
    dropping out, exactly as the story tells it.
    """
    if model not in DROPOUT:
        raise ValueError(f"unknown model {model!r}")
    T = np.asarray(T, dtype=float)
    n = len(T)
    r, alpha = params[0], params[1]
    rate = rng.gamma(r, 1.0 / alpha, n)  # numpy's gamma takes a scale, the model a rate
    end = np.maximum(T + t, t_new)  # nothing after this is recorded

    alive_at_T = np.ones(n, dtype=bool)
    buying = np.ones(n, dtype=bool)  # still alive and not past `end`
    if model == "pareto-nbd":
        s, beta = params[2], params[3]
        death = rng.exponential(1.0 / rng.gamma(s, 1.0 / beta, n))
        alive_at_T = death > T
        end = np.minimum(end, death)  # no purchase after death
    else:
        a, b = params[2], params[3]
        dropout = rng.beta(a, b, n)
        if model == "mbg-nbd":  # the coin after the first purchase, at time 0
            dropped = rng.random(n) < dropout
            alive_at_T &= ~dropped
            buying &= ~dropped

    x = np.zeros(n)
    t_x = np.zeros(n)
    future = np.zeros(n)
    new = np.zeros(n)
    now = np.zeros(n)
    index = np.flatnonzero(buying)
    while index.size:
        now[index] += rng.exponential(1.0, index.size) / rate[index]
        index = index[now[index] <= end[index]]  # the next purchase comes too late
        when = now[index]
        before_T = when <= T[index]
        x[index] += before_T
        t_x[index] = np.where(before_T, when, t_x[index])
        future[index] += ~before_T & (when <= T[index] + t)
        new[index] += when <= t_new
        if model != "pareto-nbd":
            dropped = rng.random(index.size) < dropout[index]
            alive_at_T[index[dropped & before_T]] = False
            index = index[~dropped]
    return Simulated(x, t_x, T, alive_at_T, future, new, float(t), float(t_new))


# --- Holding a model's per-customer figures against simulated customers --------------------

# Groups of repeat purchases, and thirds of t_x/T (x > 0) or of T's range (x = 0): within each
# bin, the mean of a model's conditional figure must equal the simulated mean (law of total
# probability), so a formula wrong for some kind of customer shows in that kind's bin.
X_GROUPS = ((0, 0), (1, 1), (2, 2), (3, 5), (6, 10), (11, 30), (31, np.inf))
THIRDS = ((0.0, 1 / 3), (1 / 3, 2 / 3), (2 / 3, 1.0 + 1e-12))
# Fewer customers than this in a bin make its mean too rough to be worth a comparison.
MIN_BIN = 1000
# Allowed distance between formula and simulation, in Monte-Carlo standard errors; for a
# share whose rarer outcome is expected fewer than RARE times in a bin, the same two-sided
# chance (6.3e-5) in the Poisson tails of that outcome's count instead.
TOLERANCE_SE = 4.0
TAIL = float(erfc(TOLERANCE_SE / np.sqrt(2.0)) / 2.0)
RARE = 30.0


@dataclass(frozen=True)
class Comparison:
    """Return value of the checks: one figure's simulated and formula means over one bin.

    `standard_error` is that of the mean residual (simulated − formula) under the model;
    for a share, `rare_expected` and `rare_observed` count its rarer outcome (expected by the
    formula, and seen) in the bin, which decide when the normal approximation is too rough.
    """

    figure: str
    bin: str
    customers: int
    simulated: float
    formula: float
    standard_error: float
    rare_expected: float = np.inf
    rare_observed: int = 0

    @property
    def z(self) -> float:
        """Return the distance between formula and simulation in standard errors."""
        gap = self.formula - self.simulated
        if gap == 0:
            return 0.0
        if self.standard_error == 0:  # the formula is off where the simulation cannot vary
            return float(np.sign(gap) * np.inf)
        return gap / self.standard_error

    @property
    def agrees(self) -> bool:
        """Return whether formula and simulation agree within the tolerance."""
        if self.rare_expected < RARE:  # a handful of events: Poisson counts, not a normal mean
            k, expected = self.rare_observed, self.rare_expected
            return bool(poisson.sf(k - 1, expected) > TAIL and poisson.cdf(k, expected) > TAIL)
        # The tiny floor only matters where every residual is 0 (e.g. BG/NBD's one-time
        # buyers are all alive, and the formula says exactly 1).
        return abs(self.formula - self.simulated) <= TOLERANCE_SE * self.standard_error + 1e-12

    def __str__(self) -> str:
        text = (
            f"{self.figure:<19} {self.bin:<25} n={self.customers:>6}  simulated "
            f"{self.simulated:.5f}  formula {self.formula:.5f}  z={self.z:+.2f}"
        )
        if self.rare_expected < RARE:
            text += f"  (rare: {self.rare_observed} seen, {self.rare_expected:.2f} expected)"
        return text


def compare_share(
    figure: str, bin_name: str, happened: np.ndarray, probability: np.ndarray
) -> Comparison:
    """Return the comparison of events that happened with their predicted probabilities.

    Under the model the customers' indicators are independent Bernoulli(p_i), so the mean
    residual's standard error is √Σ p_i (1 − p_i) / n, exact rather than estimated; and the
    count of the rarer outcome is nearly Poisson, which `agrees` uses when it is small.
    """
    happened = np.asarray(happened, dtype=bool)
    probability = np.broadcast_to(np.asarray(probability, dtype=float), happened.shape)
    n = len(happened)
    events, expected = int(happened.sum()), float(probability.sum())
    rare_observed, rare_expected = (
        (events, expected) if expected <= n / 2 else (n - events, float((1.0 - probability).sum()))
    )
    return Comparison(figure, bin_name, n, events / n, expected / n,
                      float(np.sqrt(np.sum(probability * (1.0 - probability))) / n),
                      rare_expected, rare_observed)  # fmt: skip


def compare_mean(
    figure: str, bin_name: str, counts: np.ndarray, expected: np.ndarray
) -> Comparison:
    """Return the comparison of counts with their predicted conditional means.

    Each customer's residual (count − expected) has mean 0 under the model and customers are
    independent, so the mean residual's standard error is the residuals' standard deviation
    over √n. A count with mean m has variance at least {m}(1 − {m}) ({m} its fractional part,
    the Bernoulli case), which keeps the error honest where the bin saw no purchase at all.
    """
    counts = np.asarray(counts, dtype=float)
    expected = np.broadcast_to(np.asarray(expected, dtype=float), counts.shape)
    n = len(counts)
    fraction = expected - np.floor(expected)
    variance = max(
        float(np.var(counts - expected, ddof=1)), float(np.mean(fraction * (1 - fraction)))
    )
    return Comparison(figure, bin_name, n, float(counts.mean()), float(expected.mean()),
                      float(np.sqrt(variance / n)))  # fmt: skip


def bins(sim: Simulated) -> list[tuple[str, np.ndarray]]:
    """Return every bin of customers (name, mask) with at least MIN_BIN customers, and "all"."""
    result = [("all", np.ones(len(sim.x), dtype=bool))]
    low_T, high_T = float(sim.T.min()), float(sim.T.max())
    for lo, hi in X_GROUPS:
        in_group = (sim.x >= lo) & (sim.x <= hi)
        name = f"x={lo}" if lo == hi else f"x={lo}-{hi:g}"
        if hi == 0:  # no t_x to speak of: split by T, along which P(alive) may fall
            share = (sim.T - low_T) / (high_T - low_T)
            label = "T"
        else:
            share = sim.t_x / sim.T
            label = "t_x/T"
        for third, (start, stop) in enumerate(THIRDS):
            mask = in_group & (share >= start) & (share < stop)
            if mask.sum() >= MIN_BIN:
                result.append((f"{name}, {label} third {third + 1}", mask))
    return result


def conditional_comparisons(
    module: ModuleType, params: Sequence[float], sim: Simulated
) -> dict[str, list[Comparison]]:
    """Return, per conditional figure, its comparisons over every bin of `bins`.

    p_alive against the share alive at T, p_no_order against the share with no purchase in
    (T, T + t], expected_orders against the mean purchases in (T, T + t]. Bins expecting fewer
    than RARE purchases in all are left out of expected_orders: a count that rare is one or
    two customers' luck, not a mean, and p_no_order already holds those bins to the formula.
    """
    alive = module.p_alive(params, sim.x, sim.t_x, sim.T)
    silent = module.p_no_order(params, sim.t, sim.x, sim.t_x, sim.T)
    expected = module.expected_orders(params, sim.t, sim.x, sim.t_x, sim.T)
    groups = bins(sim)
    return {
        "p_alive": [compare_share("p_alive", name, sim.alive[m], alive[m]) for name, m in groups],
        "p_no_order": [
            compare_share("p_no_order", name, sim.future[m] == 0, silent[m]) for name, m in groups
        ],
        "expected_orders": [
            compare_mean("expected_orders", name, sim.future[m], expected[m])
            for name, m in groups
            if expected[m].sum() >= RARE
        ],
    }


def new_customer_comparison(
    module: ModuleType, params: Sequence[float], sim: Simulated
) -> Comparison:
    """Return expected_orders_new(t_new) against the simulated repeat purchases in (0, t_new]."""
    formula = float(module.expected_orders_new(params, sim.t_new)[0])
    return compare_mean("expected_orders_new", f"t={sim.t_new:g}", sim.new, formula)


# Gauss-Legendre nodes on (0, 1) for integrating the likelihood over the last purchase time.
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(24)
_NODES, _WEIGHTS = (_NODES + 1.0) / 2.0, _WEIGHTS / 2.0


def likelihood_comparisons(
    module: ModuleType, params: Sequence[float], sim: Simulated
) -> list[Comparison]:
    """Return the model's likelihood, as probabilities of (x, t_x) ranges, against the simulation.

    For x = 0 the likelihood is P(no repeat purchase in (0, T]): compared by thirds of T's
    range. For x ≥ 1 it is the density of the purchase times t_1 < … < t_x, which depends on
    them only through t_x; integrating out t_1 … t_(x−1) gives the density of t_x,
    L(x, t_x, T) t_x^(x−1)/(x−1)!, and its integral over a third of (0, T] is
    P(x repeat purchases, the last in that third), compared for x = 1, 2, 3.
    """
    result = []
    low_T, high_T = float(sim.T.min()), float(sim.T.max())
    share = (sim.T - low_T) / (high_T - low_T)
    zeros = np.zeros_like(sim.T)
    p_none = np.exp(module.log_likelihood(params, zeros, zeros, sim.T))
    for third, (start, stop) in enumerate(THIRDS):
        mask = (share >= start) & (share < stop)
        happened = sim.x[mask] == 0
        result.append(
            compare_share("likelihood", f"x=0, T third {third + 1}", happened, p_none[mask])
        )
    # The probabilities depend on a customer only through T, which is whole days: integrate
    # once per distinct T rather than once per customer.
    days, inverse = np.unique(sim.T, return_inverse=True)
    for x in (1, 2, 3):
        log_factorial = float(np.sum(np.log(np.arange(1, x))))
        for third, (start, stop) in enumerate(THIRDS):
            stop = min(stop, 1.0)
            width = (stop - start) * days
            times = start * days[:, None] + width[:, None] * _NODES[None, :]
            T = np.broadcast_to(days[:, None], times.shape)
            log_l = module.log_likelihood(
                params, np.full(times.size, float(x)), times.ravel(), T.ravel()
            ).reshape(times.shape)
            density = np.exp(log_l + (x - 1) * np.log(times) - log_factorial)
            probability = (width * (density @ _WEIGHTS))[inverse]
            happened = (sim.x == x) & (sim.t_x >= start * sim.T) & (sim.t_x < stop * sim.T)
            result.append(
                compare_share(
                    "likelihood", f"x={x}, t_x/T third {third + 1}", happened, probability
                )
            )
    return result
