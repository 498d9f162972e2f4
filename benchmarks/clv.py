"""Time the CLV models (BG/NBD + Gamma-Gamma) on simulated customers, fit and score.

    python benchmarks/clv.py [--customers 300000 3000000] [--seed 0]

Customers are drawn from the models themselves (Hardie's CDNOW estimates for BG/NBD;
p, q, gamma = 6, 4, 15 for Gamma-Gamma), with times in whole days as Segmint computes them,
so the fit should recover the parameters. For each size, prints one JSON line: the seconds of
each step, and the fitted parameters. The same process runs the sizes one after another, so
the ratio between them is the scaling (expected: linear, or better where customers repeat).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from segmint.clv import (
    clv,
    conditional_expected_orders,
    conditional_expected_value,
    fit_bgnbd,
    fit_gamma_gamma,
    p_alive,
)

R, ALPHA, A, B = 0.243, 4.414, 0.793, 2.426
P, Q, GAMMA = 6.0, 4.0, 15.0


def simulate(n: int, seed: int) -> tuple[np.ndarray, ...]:
    """Return x, t_x, T (weeks, whole days) and m_x of n customers drawn from the models."""
    rng = np.random.default_rng(seed)
    T = rng.integers(1, 365, n) / 7.0
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


def run(n: int, seed: int) -> dict:
    x, t_x, T, m_x = simulate(n, seed)
    seconds = {}
    start = time.perf_counter()
    orders_model = fit_bgnbd(x, t_x, T)
    seconds["fit_bgnbd"] = time.perf_counter() - start
    start = time.perf_counter()
    value_model = fit_gamma_gamma(x, m_x)
    seconds["fit_gamma_gamma"] = time.perf_counter() - start
    start = time.perf_counter()
    alive = p_alive(orders_model, x, t_x, T)
    orders = conditional_expected_orders(orders_model, 52.0, x, t_x, T)
    value = conditional_expected_value(value_model, x, m_x)
    clv(orders, value, 52.0)
    seconds["score"] = time.perf_counter() - start
    return {
        "customers": n,
        "seconds": {k: round(v, 3) for k, v in seconds.items()},
        "total_seconds": round(sum(seconds.values()), 3),
        "bgnbd": {k: round(getattr(orders_model, k), 4) for k in ("r", "alpha", "a", "b")},
        "gamma_gamma": {k: round(getattr(value_model, k), 4) for k in ("p", "q", "gamma")},
        "p_alive_mean": round(float(alive.mean()), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, nargs="+", default=[300_000, 3_000_000])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for n in args.customers:
        print(json.dumps(run(n, args.seed)), flush=True)


if __name__ == "__main__":
    main()
