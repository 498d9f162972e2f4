"""A run in a worker process: the same `run_to_folder` and `error_line` as the CLI.

Imported by the pool's fork server before any run (so a run starts without paying for the
imports of DuckDB, scikit-learn and matplotlib), and executed in a fresh child per run, whose
memory goes back to the system when it exits.
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from pathlib import Path

import segmint.pipeline  # noqa: F401 - preloaded in the fork server
import segmint.report.writer  # noqa: F401
from segmint.errors import SegmintError
from segmint.pipeline import STAGES
from segmint.preload import MODULES
from segmint.runs import WRITING, error_line, run_to_folder
from segmint.web.store import Run, now, with_upload_names

for _module in (*MODULES, "segmint.report.png", "segmint.report.html"):
    importlib.import_module(_module)  # once, in the fork server: every run inherits them

STAGE_ORDER = [*STAGES.values(), WRITING]


def key_figures(summary: dict) -> dict:
    """Return the figures the runs list shows: customers, segments, revenue, rows."""
    return {
        "customers": summary["totals"]["customers"],
        "segments": summary["selection"]["chosen_k"],
        "revenue": summary["totals"]["revenue"],
        "orders": summary["totals"]["orders"],
        "rows_read": summary["input"]["rows_read"],
        "period": summary["input"]["period"],
    }


def execute(folder: str) -> None:
    """Run the run in folder (its meta.json's inputs and settings), recording its status."""
    run = Run(Path(folder))
    log = open(run.log_file, "a", encoding="utf-8")  # noqa: SIM115 - for the process' life
    sys.stdout = sys.stderr = log
    # Input names are relative to the input folder: a message names `transactions-1.csv`,
    # exactly as `segmint run transactions-1.csv` started in that folder would (run.log);
    # the status, summary.json and the report name them as the user's files were named.
    os.chdir(run.input_dir)
    meta = run.meta
    names = run.upload_names()
    started = now()

    def progress(stage: str) -> None:
        print(f"{now()} {stage}", flush=True)
        top = stage.split(":")[0]
        step = STAGE_ORDER.index(top) if top in STAGE_ORDER else None
        run.set_status("running", stage=stage, step=step, steps=len(STAGE_ORDER),
                       started=started)  # fmt: skip

    progress("Starting")
    try:
        result = run_to_folder(meta["inputs"], run.out_dir, progress=progress,
                               input_names=[names.get(i, i) for i in meta["inputs"]],
                               **meta["settings"])  # fmt: skip
    except SegmintError as exc:
        print(error_line(str(exc)), flush=True)
        shown = error_line(with_upload_names(str(exc), names))
        run.set_status("failed", error=shown, started=started, finished=now())
        return
    except BaseException as exc:  # a bug: the CLI would exit 1 with this traceback
        traceback.print_exc()
        log.flush()
        message = f"internal error (a bug in Segmint): {type(exc).__name__}: {exc}"
        run.set_status("failed", error=error_line(message), bug=True, started=started,
                       finished=now())  # fmt: skip
        return
    run.set_status("done", figures=key_figures(result.summary), started=started, finished=now())
