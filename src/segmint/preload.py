"""Import the heavy libraries of later stages in the background while a run reads its data."""

from __future__ import annotations

import importlib
import threading


def preload() -> None:
    """Start importing scikit-learn's K-means, scipy (CLV) and matplotlib in a background thread.

    Together they cost 1.5-2 s of imports; started before a run, they overlap the DuckDB
    stages, which release the GIL while they compute. A stage that needs a module before it
    is loaded simply waits for the import under way.
    """
    global _thread
    _thread = threading.Thread(target=_import_all, name="segmint-preload", daemon=True)
    _thread.start()


def finish() -> None:
    """Wait until the imports started by preload() are done (before forking a helper)."""
    if _thread is not None:
        _thread.join()


_thread: threading.Thread | None = None


# In the order the run needs them: the model stage, the CLV models, the rules' decision
# trees, the report's PNG charts, then the writer of segments.csv.
MODULES = (
    "sklearn.cluster",
    "segmint.clv.orders",
    "segmint.clv.bgnbd",
    "segmint.clv.gamma_gamma",
    "sklearn.tree",
    "matplotlib.figure",
    "matplotlib.backends.backend_agg",
    "polars",
)


def _import_all() -> None:
    for name in MODULES:
        importlib.import_module(name)
