"""Compare the CLV order models on held-out periods of real and generated logs.

    python benchmarks/clv_models.py LOG:HOLDOUT_DAYS [LOG:HOLDOUT_DAYS ...]

For each log, `segmint validate` fits every order model (Pareto/NBD, MBG/NBD, BG/NBD) on
the calibration period and predicts the holdout. Prints one Markdown table row per model:
predicted vs actual holdout orders, per-customer MAE and correlation, how well P(alive) and
P(order) rank next-period buyers (AUC), whether the fit converged, the relative standard
error of each fitted parameter (its stability: from the inverse observed information) and
the seconds of the fit. This is the evidence behind `--clv-model auto` (docs/clv-evidence.md).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from segmint.clv import orders
from segmint.clv.validation import validate

MODELS = orders.MODEL_NAMES


def compare(path: str, holdout_days: int) -> list[str]:
    """Return the Markdown rows of one log's comparison."""
    result = validate(path, holdout_days)
    inputs = result.customers
    x = inputs["repeat_orders"].to_numpy(float)
    t_x, T = inputs["t_x_weeks"].to_numpy(), inputs["T_weeks"].to_numpy()
    rows = []
    for entry in result.summary["models"]:
        start = time.perf_counter()
        fit = orders.fit(entry["name"], x, t_x, T)
        seconds = time.perf_counter() - start
        spread = (
            "—"
            if fit.log_covariance is None
            else ", ".join(f"{np.sqrt(v):.2f}" for v in np.diag(fit.log_covariance))
        )
        e = entry["errors"]
        rows.append(
            f"| {Path(path).name} | {holdout_days} | {entry['name']} | "
            f"{e['total_predicted']:,.0f} / {e['total_actual']:,.0f} | "
            f"{e['total_error_share']:+.1%} | {e['mae']:.4f} | {e['correlation']:.3f} | "
            f"{entry['auc_p_alive']:.3f} | {entry['auc_p_order']:.3f} | "
            f"{'yes' if entry['converged'] else 'no'} | {spread} | {seconds:.2f} |"
        )
    return rows


def main() -> None:
    print("| log | holdout days | model | predicted / actual | total error | MAE | corr | "
          "AUC P(alive) | AUC P(order) | converged | sd of ln(params) | fit s |")  # fmt: skip
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---|---|---:|")
    for spec in sys.argv[1:]:
        path, days = spec.rsplit(":", 1)
        for row in compare(path, int(days)):
            print(row, flush=True)


if __name__ == "__main__":
    main()
