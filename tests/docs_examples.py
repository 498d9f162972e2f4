"""The examples of the documentation (docs/), read from the pages and run as written.

A page's fenced blocks are taken in order:

- a block with a title (```csv title="products.csv"```) is a file the reader is shown:
  it is written under that name, for the commands after it;
- a ```console block holds commands (`$ segmint …`, a trailing `\\` continues a line), each
  followed by the output it shows. A command runs through `segmint.cli.main`, as the
  `segmint` program would; it must exit 2 when its output shows an `error:` line, else 0,
  and every line of the output shown must be in the real output (except `...` and the
  progress lines, which start with their time: `[   0.1s] …`);
- a ```python block runs in a fresh namespace.

Everything runs in one folder per page, which starts with `transactions.csv` (the sample
shipped with Segmint, uncompressed) and `report/` (a default run on it).
"""

from __future__ import annotations

import gzip
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SAMPLE = ROOT / "src" / "segmint" / "datasets" / "online_retail_sample.csv.gz"
SPARK = "--engine spark"
_FENCE = re.compile(r"^(`{3,}|~{3,})\s*([\w+-]*)\s*(.*)$")
_TITLE = re.compile(r"""title=["']([^"']+)["']""")


@dataclass(frozen=True)
class Block:
    """One fenced block of a page."""

    page: Path
    line: int
    language: str
    title: str | None
    text: str

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


@dataclass
class Command:
    """A `$ segmint …` line of a console block and the output shown under it."""

    where: str
    text: str
    shown: list[str] = field(default_factory=list)

    @property
    def argv(self) -> list[str]:
        words = shlex.split(self.text)
        assert words[0] == "segmint", f"{self.where}: not a segmint command: {self.text}"
        return words[1:]

    @property
    def expected_code(self) -> int:
        return 2 if any(line.startswith("error:") for line in self.shown) else 0

    @property
    def on_spark(self) -> bool:
        return SPARK in self.text

    def checked_lines(self) -> list[str]:
        """The lines shown that the real output must hold: not `...`, not progress times."""
        return [
            line.strip()
            for line in self.shown
            if line.strip() not in ("", "...", "…") and not line.lstrip().startswith("[")
        ]


def pages() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


def blocks(page: Path) -> list[Block]:
    """Return the fenced blocks of a page, in order."""
    found, lines = [], page.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        fence, language, info = opening.groups()
        title = _TITLE.search(info)
        end = next(j for j in range(i + 1, len(lines)) if lines[j].strip() == fence)
        text = "\n".join(lines[i + 1 : end]) + "\n"
        found.append(Block(page, i + 1, language, title.group(1) if title else None, text))
        i = end + 1
    return found


def commands(block: Block) -> list[Command]:
    """Return the commands of a console block with the output shown under each."""
    found: list[Command] = []
    pending = ""
    for offset, line in enumerate(block.text.splitlines(), start=1):
        if pending or line.startswith("$ "):
            text = (pending + " " + line.strip()) if pending else line[2:].strip()
            if text.endswith("\\"):
                pending = text[:-1].strip()
                continue
            pending = ""
            found.append(Command(f"{block.where}+{offset}", text))
        elif found:
            found[-1].shown.append(line)
    return found


def is_example(block: Block) -> bool:
    """Whether the tests run (or write) this block."""
    return block.title is not None or block.language in ("console", "python")


def prepare_workspace(folder: Path) -> Path:
    """Make folder hold transactions.csv (the uncompressed sample) and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    with gzip.open(SAMPLE, "rb") as packed, open(folder / "transactions.csv", "wb") as plain:
        shutil.copyfileobj(packed, plain)
    return folder


@contextmanager
def working_in(folder: Path) -> Iterator[Path]:
    """Run the block inside folder (the examples name files relative to it)."""
    before = Path.cwd()
    os.chdir(folder)
    try:
        yield folder
    finally:
        os.chdir(before)


def run_command(command: Command, capsys) -> str:  # noqa: ANN001
    """Run one documented command; check its exit code and the output shown; return the output.

    Through `segmint.cli.main` in this process; with capsys None, as a program of its own (a
    Spark command: its session must start in the example's folder, which relative paths in
    Spark's reads are resolved against)."""
    if capsys is None:
        done = subprocess.run(
            [sys.executable, "-m", "segmint.cli", *command.argv],
            capture_output=True,
            text=True,
            check=False,
        )
        code, output = done.returncode, done.stdout + done.stderr
    else:
        from segmint.cli import main

        capsys.readouterr()
        code = main(command.argv)
        captured = capsys.readouterr()
        output = captured.out + captured.err
    assert code == command.expected_code, (
        f"{command.where}: `{command.text}` exited {code}, "
        f"the page implies {command.expected_code}:\n{output}"
    )
    real = {line.strip() for line in output.splitlines()}
    for line in command.checked_lines():
        assert line in real, f"{command.where}: the page shows {line!r}; the output is:\n{output}"
    return output


def run_python(block: Block) -> None:
    exec(compile(block.text, block.where, "exec"), {"__name__": "__docs__"})  # noqa: S102


def run_page(page: Path, capsys, spark: bool = False) -> int:  # noqa: ANN001
    """Run the examples of a page in the current folder, in order; return how many ran.

    spark: run only the commands that use the Spark engine (and the files they read), each as
    a program of its own; otherwise every example but those."""
    ran = 0
    for block in blocks(page):
        if block.title is not None:
            Path(block.title).write_text(block.text, encoding="utf-8")
        elif block.language == "console":
            for command in commands(block):
                if command.on_spark == spark:
                    run_command(command, None if spark else capsys)
                    ran += 1
        elif block.language == "python" and not spark:
            run_python(block)
            ran += 1
    return ran
