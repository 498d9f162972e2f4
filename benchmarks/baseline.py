"""What a user writes in a notebook today: pandas RFM, then scikit-learn K-means for k = 2..10.

    python benchmarks/baseline.py FILE [--k-min 2] [--k-max 10] [--n-init 10]

Reads the log with pandas' defaults (CSV: read_csv with parse_dates; Parquet: read_parquet),
drops lines without a CustomerID, exact duplicates, returns (InvoiceNo starting with 'C') and
non-positive prices, computes recency (days before the latest date), frequency (distinct
invoices) and monetary (sum of Quantity x UnitPrice) per customer, log1p + StandardScaler,
then K-means (n_init=10, random_state=0) for each k with the Davies-Bouldin index, and the
silhouette on all customers only when it can finish (n <= SILHOUETTE_MAX). Prints one JSON
line: seconds per stage (read, clean, features, model, total), customers and the chosen k.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

SILHOUETTE_MAX = 30_000  # O(n^2) distances: beyond this the notebook never finishes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("--k-min", type=int, default=2)
    parser.add_argument("--k-max", type=int, default=10)
    parser.add_argument("--n-init", type=int, default=10)
    parser.add_argument("--out", help="write the per-customer RFM table here (Parquet)")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.file, args.k_min, args.k_max, args.n_init, args.out)))
    return 0


def run(
    path: str, k_min: int = 2, k_max: int = 10, n_init: int = 10, out: str | None = None
) -> dict:
    """Run the notebook on the file; return the seconds per stage and what it found."""
    seconds: dict[str, float] = {}
    start = time.perf_counter()

    def lap(stage: str) -> None:
        seconds[stage] = round(time.perf_counter() - start - sum(seconds.values()), 3)

    import numpy as np
    import pandas as pd
    from sklearn.cluster import KMeans
    from sklearn.metrics import davies_bouldin_score, silhouette_score
    from sklearn.preprocessing import StandardScaler

    lap("import")
    if path.endswith(".parquet"):
        df = pd.read_parquet(path)
    else:
        df = pd.read_csv(path, parse_dates=["InvoiceDate"])
    rows_read = len(df)
    lap("read")

    df = df.dropna(subset=["CustomerID"])
    df = df.drop_duplicates()
    df = df[~df["InvoiceNo"].astype(str).str.startswith("C")]
    df = df[df["UnitPrice"] > 0]
    rows_used = len(df)
    lap("clean")

    df["Amount"] = df["Quantity"] * df["UnitPrice"]
    snapshot = df["InvoiceDate"].max()
    rfm = df.groupby("CustomerID").agg(
        last=("InvoiceDate", "max"),
        frequency=("InvoiceNo", "nunique"),
        monetary=("Amount", "sum"),
    )
    # The vectorised form; the common `lambda d: (snapshot - d.max()).days` is far slower.
    rfm["recency"] = (snapshot - rfm["last"]).dt.days
    lap("features")

    X = StandardScaler().fit_transform(np.log1p(rfm[["recency", "frequency", "monetary"]]))
    scores = []
    for k in range(k_min, k_max + 1):
        labels = KMeans(n_clusters=k, n_init=n_init, random_state=0).fit_predict(X)
        silhouette = float(silhouette_score(X, labels)) if len(X) <= SILHOUETTE_MAX else "skipped"
        scores.append(
            {
                "k": k,
                "davies_bouldin": float(davies_bouldin_score(X, labels)),
                "silhouette": silhouette,
            }
        )
    chosen = min(scores, key=lambda s: s["davies_bouldin"])["k"]
    lap("model")
    if out:
        rfm.reset_index().to_parquet(out)
    seconds["total"] = round(time.perf_counter() - start, 3)
    return {
        "tool": "baseline",
        "file": path,
        "seconds": seconds,
        "rows_read": rows_read,
        "rows_used": rows_used,
        "customers": len(rfm),
        "chosen_k": chosen,
        "scores": scores,
    }


if __name__ == "__main__":
    sys.exit(main())
