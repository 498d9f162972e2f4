"""Every order model's per-customer formulas against Monte-Carlo customers of its own story.

tests/clv_simulate.py draws customers from the BG/NBD, MBG/NBD and Pareto/NBD stories with
numpy alone; here segmint.clv's closed forms must match them bin by bin (by repeat purchases,
and by recency or T) within TOLERANCE_SE Monte-Carlo standard errors: P(alive at T), P(no
order in the next t weeks), the expected orders in the next t weeks, the expected repeat
orders of a new customer, and the likelihood itself as the probability of (x, t_x) ranges.
A wrong factor, a missed dropout at time 0 or an off-by-one in the Beta posterior moves a
bin's mean by many standard errors; the simulations are seeded, so results do not vary.
"""

from __future__ import annotations

import numpy as np
import pytest

from clv_simulate import (
    Comparison,
    Simulated,
    conditional_comparisons,
    likelihood_comparisons,
    new_customer_comparison,
    simulate,
)
from segmint.clv import orders

# Customers per case: enough for a standard error of about 0.002 on a share of the whole, and
# bins of thousands. Heavy buyers have distinct continuous (x, t_x) pairs that Pareto/NBD
# evaluates one by one (it collapses whole-day times in a run), so fewer there: 40 s for
# 200k, and their bins stay large since all of them buy.
CUSTOMERS = {"realistic": 200_000, "steep": 200_000, "heavy": 50_000}
HORIZON = 52.0  # weeks ahead (T, T + t], and the new customer's (0, t]

# Per model, parameter sets by name: realistic ones (a few orders a year, most customers buying
# once), one where a one-time buyer's P(alive) falls steeply with T (MBG/NBD, Pareto/NBD: early
# and frequent dropout; BG/NBD cannot, its one-time buyers are alive), and heavy buyers with
# dozens to hundreds of purchases, where the formulas' large-x evaluation matters.
PARAMS = {
    "bg-nbd": {
        "realistic": (0.5, 10.0, 0.8, 2.5),
        "steep": (1.5, 6.0, 2.0, 3.0),
        "heavy": (3.0, 3.0, 0.5, 20.0),
    },
    "mbg-nbd": {
        "realistic": (0.5, 10.0, 0.8, 2.5),
        "steep": (1.5, 6.0, 2.0, 3.0),
        "heavy": (3.0, 3.0, 0.5, 20.0),
    },
    "pareto-nbd": {
        "realistic": (0.5, 10.0, 0.6, 12.0),
        "steep": (1.5, 6.0, 2.0, 20.0),
        "heavy": (3.0, 3.0, 1.5, 150.0),
    },
}
CASES = [(model, name) for model, sets in PARAMS.items() for name in sets]
IDS = [f"{model}-{name}" for model, name in CASES]


def case_seed(model: str, name: str) -> list[int]:
    """Return a fixed seed per case, so that cases are independent and reproducible."""
    return [20240607, list(PARAMS).index(model), list(PARAMS[model]).index(name)]


_SIMULATED: dict[tuple[str, str], Simulated] = {}


def simulated(model: str, name: str) -> Simulated:
    """Return the simulated customers of a case (simulated once per test session)."""
    if (model, name) not in _SIMULATED:
        rng = np.random.default_rng(case_seed(model, name))
        # T in whole days from 20 to 80 weeks, as a run computes it from dates.
        T = rng.integers(140, 561, CUSTOMERS[name]) / 7.0
        _SIMULATED[model, name] = simulate(model, PARAMS[model][name], T, HORIZON, HORIZON, rng)
    return _SIMULATED[model, name]


_CONDITIONAL: dict[tuple[str, str], dict[str, list[Comparison]]] = {}


def conditional(model: str, name: str) -> dict[str, list[Comparison]]:
    """Return a case's comparisons of conditional figures (computed once: they cost seconds)."""
    if (model, name) not in _CONDITIONAL:
        module = orders.model(model)
        sim = simulated(model, name)
        _CONDITIONAL[model, name] = conditional_comparisons(module, PARAMS[model][name], sim)
    return _CONDITIONAL[model, name]


def assert_agree(comparisons: list[Comparison]) -> None:
    """Fail with every comparison listed if any is off by more than TOLERANCE_SE errors."""
    off = [c for c in comparisons if not c.agrees]
    listing = "\n".join(("!! " if c in off else "   ") + str(c) for c in comparisons)
    assert not off, f"{len(off)} of {len(comparisons)} bins disagree:\n{listing}"


@pytest.mark.parametrize("model, name", CASES, ids=IDS)
@pytest.mark.parametrize("figure", ["p_alive", "p_no_order", "expected_orders"])
def test_conditional_figures_match_simulation(model: str, name: str, figure: str) -> None:
    """Within every bin the mean formula equals the simulated share or mean."""
    comparisons = conditional(model, name)
    assert len(comparisons[figure]) >= 5  # the bins cover several kinds of customer
    assert_agree(comparisons[figure])


@pytest.mark.parametrize("model, name", CASES, ids=IDS)
def test_expected_orders_new_matches_simulation(model: str, name: str) -> None:
    """E[X(t)] equals the simulated mean repeat purchases of customers in their first t weeks."""
    module = orders.model(model)
    assert_agree([new_customer_comparison(module, PARAMS[model][name], simulated(model, name))])


@pytest.mark.parametrize("model, name", CASES, ids=IDS)
def test_likelihood_matches_simulation(model: str, name: str) -> None:
    """The likelihood gives the simulated chances of x = 0, and of x = 1, 2, 3 with t_x in thirds."""
    module = orders.model(model)
    assert_agree(likelihood_comparisons(module, PARAMS[model][name], simulated(model, name)))


@pytest.mark.parametrize("model", ["mbg-nbd", "pareto-nbd"])
def test_steep_case_has_one_time_buyers_dying_out(model: str) -> None:
    """The steep case does what it is for: one-time buyers' share alive falls a lot along T.

    A check of the test itself, from the simulation alone: a formula that kept one-time buyers
    alive (as BG/NBD does) would fail the p_alive bins by a wide margin.
    """
    sim = simulated(model, "steep")
    once = sim.x == 0
    early, late = once & (sim.T < 40.0), once & (sim.T >= 60.0)
    assert sim.alive[early].mean() > 2 * sim.alive[late].mean()
    assert min(early.sum(), late.sum()) >= 1000


def test_mbgnbd_new_customer_coefficient_is_b_over_a_minus_1() -> None:
    """The simulation tells b/(a−1) from the (b+1)/(a−1) that also circulates for E[X(t)].

    Their ratio is (b+1)/b; at b = 2.5 that is 40% more, hundreds of standard errors away.
    """
    a, b = PARAMS["mbg-nbd"]["realistic"][2:]
    module = orders.model("mbg-nbd")
    sim = simulated("mbg-nbd", "realistic")
    right = new_customer_comparison(module, PARAMS["mbg-nbd"]["realistic"], sim)
    wrong = Comparison(right.figure, right.bin, right.customers, right.simulated,
                       right.formula * (b + 1) / b, right.standard_error)  # fmt: skip
    assert right.agrees and abs(wrong.z) > 50
