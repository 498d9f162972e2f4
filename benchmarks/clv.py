"""Time the CLV stage (order model + Gamma-Gamma, every customer fitted) on simulated customers.

    python benchmarks/clv.py [--customers 300000 3000000] [--models auto bg-nbd] [--seed 0]

Customers are drawn from BG/NBD (Hardie's CDNOW estimates) and Gamma-Gamma (p, q, gamma =
6, 4, 15), first orders spread over two years and times in whole days as Segmint computes
them (so distinct (x, t_x, T) rows are far fewer than customers, as in a real log). For each
size and model, prints one JSON line: the seconds of the fit alone and of the whole CLV stage
(`segmint.clv.per_customer.lifetime_value`: fits, every customer's columns, the interval of
the total), the distinct rows and the fitted parameters.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time

import numpy as np

from segmint.clv import orders
from segmint.clv.gamma_gamma import fit_gamma_gamma
from segmint.clv.per_customer import ModelInputs, lifetime_value

R, ALPHA, A, B = 0.243, 4.414, 0.793, 2.426
P, Q, GAMMA = 6.0, 4.0, 15.0


def simulate(n: int, seed: int) -> tuple[np.ndarray, ...]:
    """Return x, t_x, T (weeks, whole days) and m_x of n customers drawn from the models."""
    rng = np.random.default_rng(seed)
    T = rng.integers(1, 731, n) / 7.0
    rate = rng.gamma(R, 1 / ALPHA, n)
    dropout = rng.beta(A, B, n)
    x = np.zeros(n)
    t_x = np.zeros(n)
    t = np.zeros(n)
    alive = np.ones(n, dtype=bool)
    while alive.any():
        idx = np.flatnonzero(alive)
        t[idx] += rng.exponential(1 / rate[idx])
        ok = t[idx] < T[idx]
        bought = idx[ok]
        x[bought] += 1
        t_x[bought] = np.floor(t[bought] * 7) / 7
        alive[idx[~ok]] = False
        alive[bought[rng.random(len(bought)) < dropout[bought]]] = False
    nu = rng.gamma(Q, 1 / GAMMA, n)
    m_x = np.where(x > 0, rng.gamma(P * np.maximum(x, 1), 1 / (nu * np.maximum(x, 1))), np.nan)
    return x, t_x, T, m_x


def run(n: int, seed: int, model: str = "auto") -> dict:
    x, t_x, T, m_x = simulate(n, seed)
    seconds = {}
    start = time.perf_counter()
    order_fit = orders.fit("pareto-nbd" if model == "auto" else model, x, t_x, T)
    seconds["fit_orders"] = time.perf_counter() - start
    start = time.perf_counter()
    value_model = fit_gamma_gamma(x, m_x)
    seconds["fit_gamma_gamma"] = time.perf_counter() - start
    start = time.perf_counter()
    result = lifetime_value(ModelInputs(x, t_x, T, m_x), 365, None, dt.date(2025, 1, 1), model)
    seconds["clv_stage"] = time.perf_counter() - start
    fitted = result.summary["model"]
    return {
        "customers": n,
        "model": fitted["name"],
        "distinct_rows": fitted["distinct_rows"],
        "seconds": {k: round(v, 3) for k, v in seconds.items()},
        "orders": {k: round(v, 4) for k, v in order_fit.values.items()},
        "gamma_gamma": {k: round(getattr(value_model, k), 4) for k in ("p", "q", "gamma")},
        "p_alive_mean": round(float(result.summary["totals"]["p_alive_mean"]), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, nargs="+", default=[300_000, 3_000_000])
    parser.add_argument("--models", nargs="+", default=["auto", "bg-nbd"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for n in args.customers:
        for model in args.models:
            print(json.dumps(run(n, args.seed, model)), flush=True)


if __name__ == "__main__":
    main()
