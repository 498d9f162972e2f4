"""The runs of `segmint serve`, one folder each under `<data-dir>/runs/<id>/`.

    meta.json     who uploaded what (original names as display text only) and the settings
    status.json   uploaded → queued → running (with the current stage) → done | failed
    input/        the uploads under names the server chose (transactions-1.csv, …)
    out/          the outputs, moved into place by the atomic writer only when complete
    run.log       what the worker process printed

Everything the pages and the API know about a run is read from its folder, so earlier runs
survive a restart. Run ids are unguessable (`secrets.token_urlsafe(16)`) and every id is
checked against a strict pattern before it touches the file system.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from segmint import strict_json

RUN_ID = re.compile(r"[A-Za-z0-9_-]{22}")
FINISHED = ("done", "failed")


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def write_json_atomically(path: Path, data: Any) -> None:
    """Write data as JSON to path so that a reader sees the old file or the new, never half."""
    handle, staging = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(strict_json.dumps(data, indent=1))
        os.replace(staging, path)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise


def read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


class Run:
    """One run's folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.id = folder.name

    @property
    def input_dir(self) -> Path:
        return self.folder / "input"

    @property
    def out_dir(self) -> Path:
        return self.folder / "out"

    @property
    def log_file(self) -> Path:
        return self.folder / "run.log"

    @property
    def meta(self) -> dict:
        return read_json(self.folder / "meta.json")

    def write_meta(self, meta: dict) -> None:
        write_json_atomically(self.folder / "meta.json", meta)

    @property
    def status(self) -> dict:
        return read_json(self.folder / "status.json") or {
            "state": "failed",
            "error": "error: status lost",
        }

    @property
    def state(self) -> str:
        return self.status.get("state", "failed")

    def set_status(self, state: str, **fields: Any) -> dict:
        """Replace status.json with state and fields (plus when it changed); return it."""
        status = {"state": state, "updated": now(), **fields}
        write_json_atomically(self.folder / "status.json", status)
        return status

    def update_status(self, **fields: Any) -> None:
        self.set_status(**{**self.status, **fields})

    def upload_names(self) -> dict[str, str]:
        """Return each upload's stored name (transactions-1.csv) → the client's name for it,
        as display text; two uploads of one name are told apart by their stored names."""
        uploads = [u for u in self.meta.get("uploads", []) if u.get("stored") and u.get("name")]
        count = Counter(u["name"] for u in uploads)
        return {u["stored"]: u["name"] if count[u["name"]] == 1 else f"{u['name']} ({u['stored']})"
                for u in uploads}  # fmt: skip

    def output_files(self) -> list[str]:
        """Return every output file's path relative to out/ (posix), sorted; [] before done."""
        if not self.out_dir.is_dir():
            return []
        return sorted(
            p.relative_to(self.out_dir).as_posix()
            for p in self.out_dir.rglob("*")
            if p.is_file() and not p.is_symlink()
        )

    def output_path(self, name: str) -> Path | None:
        """Return the path of output `name` when it is one of output_files(), else None."""
        if name not in self.output_files():
            return None
        path = (self.out_dir / name).resolve()
        return path if path.is_relative_to(self.out_dir.resolve()) else None


def with_upload_names(message: str, names: dict[str, str]) -> str:
    """Return message with each stored name of names (a whole word) as the client's name."""
    if not names:
        return message
    stored = "|".join(re.escape(s) for s in sorted(names, key=len, reverse=True))
    pattern = re.compile(rf"(?<![\w./\\-])(?:{stored})(?![\w-]|\.\w)")
    return pattern.sub(lambda found: names[found.group(0)], message)


class RunStore:
    """The runs under `<data-dir>/runs`."""

    def __init__(self, data_dir: str | Path) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.root = self.data_dir / "runs"
        self.root.mkdir(parents=True, exist_ok=True)

    def create(self, meta: dict) -> Run:
        """Return a new run folder with its meta.json and status `uploaded`."""
        while True:
            run_id = secrets.token_urlsafe(16)
            folder = self.root / run_id
            try:
                folder.mkdir()
                break
            except FileExistsError:  # pragma: no cover - 128 random bits
                continue
        run = Run(folder)
        run.input_dir.mkdir()
        run.write_meta({"id": run_id, "created": now(), **meta})
        run.set_status("uploaded")
        return run

    def get(self, run_id: str) -> Run | None:
        """Return the run with this id, or None for an ill-formed or unknown id."""
        if not isinstance(run_id, str) or not RUN_ID.fullmatch(run_id):
            return None
        folder = self.root / run_id
        if not (folder / "meta.json").is_file():
            return None
        return Run(folder)

    def all(self) -> list[Run]:
        """Return every run, newest first."""
        runs = [self.get(p.name) for p in self.root.iterdir() if p.is_dir()]
        found = [r for r in runs if r is not None]
        return sorted(found, key=lambda r: r.meta.get("created", ""), reverse=True)
