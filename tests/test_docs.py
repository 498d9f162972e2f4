"""The documentation (docs/) against the program: every example runs as written, and the
reference pages list exactly the commands, options, defaults, output files and columns that
the code has. The Spark page's example runs in tests/spark/test_docs_spark.py."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import click
import pyarrow.parquet as pq
import pytest

from docs_examples import (
    DOCS,
    ROOT,
    blocks,
    commands,
    is_example,
    pages,
    prepare_workspace,
    run_command,
    run_page,
    working_in,
)
from segmint.cli import app, main

EXAMPLE_PAGES = [p for p in pages() if any(is_example(b) for b in blocks(p))]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """transactions.csv and the outputs every example may read: report/ (a default run),
    scored/ (its model applied to the same log) and moves/ (report/ compared with itself)."""
    folder = prepare_workspace(tmp_path_factory.mktemp("docs") / "workspace")
    with working_in(folder):
        assert main(["run", "transactions.csv", "--out", "report", "--quiet"]) == 0
        assert main(["score", "transactions.csv", "--model", "report/model.json",
                     "--out", "scored", "--quiet"]) == 0  # fmt: skip
        assert main(["compare", "report", "report", "--out", "moves", "--quiet"]) == 0
    return folder


def _fresh_copy(workspace: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    shutil.copy(workspace / "transactions.csv", folder)
    shutil.copytree(workspace / "report", folder / "report")
    return folder


# Examples ---------------------------------------------------------------------------------


@pytest.mark.parametrize("page", EXAMPLE_PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_every_example_of_the_page_runs(page, workspace, tmp_path, capsys, monkeypatch):
    """Each page's files, commands and Python blocks, in order, in a copy of the workspace.
    `segmint serve` runs up to the point where it would start listening."""
    import uvicorn

    served = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: served.append(options))
    with working_in(_fresh_copy(workspace, tmp_path)):
        run_page(page, capsys)
    for options in served:
        assert options["host"] and options["port"]


def test_every_page_with_commands_is_run():
    """A console block only holds segmint commands, and every page that has one is run."""
    for page in pages():
        for block in blocks(page):
            if block.language != "console":
                continue
            found = commands(block)
            assert found, f"{block.where}: a console block without a `$ segmint` command"
            for command in found:
                assert command.argv is not None
            assert page in EXAMPLE_PAGES


def test_a_wrong_example_fails(workspace, tmp_path, capsys):
    """The checks can fail: an option that does not exist, a wrong exit code, output that is
    not printed."""
    from docs_examples import Command

    with working_in(_fresh_copy(workspace, tmp_path)):
        for wrong in (
            Command("test", "segmint run transactions.csv --out x/ --no-such-option"),
            Command("test", "segmint run missing.csv --out x/"),
            Command("test", "segmint compare report/ report/ --out y/",
                    ["229 customers (229 in both runs); outputs in y/"]),
        ):  # fmt: skip
            with pytest.raises(AssertionError):
                run_command(wrong, capsys)


# The command line reference ---------------------------------------------------------------

CLI_PAGE = DOCS / "reference" / "cli.md"
_OPTION = re.compile(r"(?<![\w-])(--?[a-z][a-z-]*)")
_CODE = re.compile(r"`([^`]+)`")


def _sections(text: str) -> dict[str, str]:
    """Return each `## ` section of a page by its heading."""
    parts = re.split(r"^## (.+)$", text, flags=re.M)
    return {heading.strip(): body for heading, body in zip(parts[1::2], parts[2::2], strict=True)}


def _cells(line: str) -> list[str]:
    """Return the cells of a table row (a pipe escaped as \\| stays in its cell)."""
    return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]


def _option_rows(section: str) -> list[tuple[set[str], str]]:
    """Return the rows of the section's option tables: the options named, the default cell."""
    rows, in_table = [], False
    for line in section.splitlines():
        cells = _cells(line) if line.startswith("|") else []
        if cells[:2] == ["option", "default"]:
            in_table = True
        elif not line.startswith("|"):
            in_table = False
        elif in_table and not set(cells[0]) <= set("-: "):
            code = " ".join(_CODE.findall(cells[0]))
            rows.append((set(_OPTION.findall(code)), cells[1]))
    return rows


def _documented_default(cell: str) -> str | None:
    """A default cell: `value`, `required`, or anything else for none (—, or words)."""
    if cell == "required":
        return "required"
    code = re.match(r"`([^`]+)`", cell)
    return code.group(1) if code else None


def _code_default(param: click.Parameter) -> str | None:
    if param.required:
        return "required"
    default = param.default
    unset = default is None or "UNSET" in repr(default)  # click 8.3 marks no default so
    if unset or default is False or (param.multiple and not default):
        return None
    return str(default)


def _same(documented: str | None, code: str | None) -> bool:
    if documented is None or code is None:
        return documented == code
    try:
        return float(documented.replace(",", "")) == float(code)
    except ValueError:
        return documented == code


def _check_options(command: click.Command, section: str, where: str, extra: set[str]) -> None:
    rows = _option_rows(section)
    documented = set().union(*(names for names, _ in rows)) if rows else set()
    known = set(extra)
    for param in command.params:
        if isinstance(param, click.Argument):
            assert param.name.upper() in section, f"{where}: argument {param.name.upper()}"
            continue
        names = set(param.opts + param.secondary_opts)
        known |= names
        row = next((r for r in rows if names <= r[0]), None)
        assert row is not None, f"{where}: {'/'.join(sorted(names))} is not documented"
        assert _same(_documented_default(row[1]), _code_default(param)), (
            f"{where}: {'/'.join(sorted(names))}: the page says the default is {row[1]!r}, "
            f"the code {_code_default(param)!r}"
        )
    assert extra <= documented, f"{where}: {extra - documented} is not documented"
    assert documented <= known, f"{where}: documents options the code lacks: {documented - known}"


def test_the_cli_reference_lists_every_command_option_and_default():
    sections = _sections(CLI_PAGE.read_text(encoding="utf-8"))
    ctx = click.Context(app, info_name="segmint", **app.context_settings)
    help_names = set(app.get_help_option(ctx).opts)
    _check_options(app, sections["Global options {#global}"], "global", help_names)
    for name, command in app.commands.items():
        heading = next((h for h in sections if h.startswith(f"`segmint {name}`")), None)
        assert heading is not None, f"{CLI_PAGE.name} has no section for `segmint {name}`"
        _check_options(command, sections[heading], f"segmint {name}", set())


def test_the_cli_check_fails_on_a_renamed_option_or_a_changed_default():
    run = _sections(CLI_PAGE.read_text(encoding="utf-8"))
    section = next(body for heading, body in run.items() if heading.startswith("`segmint run`"))
    renamed = section.replace("`--k-max B`", "`--k-maximum B`")
    with pytest.raises(AssertionError, match="--k-max"):
        _check_options(app.commands["run"], renamed, "run", set())
    changed = section.replace("| `--k-max B` | `10` |", "| `--k-max B` | `12` |")
    with pytest.raises(AssertionError, match="default"):
        _check_options(app.commands["run"], changed, "run", set())


# The outputs and features reference -------------------------------------------------------

OUTPUTS_PAGE = DOCS / "reference" / "outputs.md"
FEATURES_PAGE = DOCS / "reference" / "features.md"


def _listed_files(section: str) -> set[str]:
    """The files and folders named in the first column of a section's tables (top level)."""
    names = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            first = _cells(line)[0]
            names |= {code.split("/")[0] for code in _CODE.findall(first)}
    return names


def _outputs_section(prefix: str) -> str:
    sections = _sections(OUTPUTS_PAGE.read_text(encoding="utf-8"))
    return next(body for heading, body in sections.items() if heading.startswith(prefix))


@pytest.mark.parametrize(
    ("prefix", "folder"),
    [("Files of `segmint run`", "report"), ("Files of `segmint score`", "scored"),
     ("Files of `segmint compare`", "moves")],
)  # fmt: skip
def test_the_outputs_page_lists_exactly_the_files_written(prefix, folder, workspace):
    listed = _listed_files(_outputs_section(prefix))
    written = {p.name for p in (workspace / folder).iterdir()}
    assert listed == written


def test_the_outputs_page_lists_every_chart(workspace):
    listed = {
        code.removeprefix("charts/")
        for code in _CODE.findall(_outputs_section("The report"))
        if code.startswith("charts/") and code.endswith(".png")
    }
    assert listed == {p.name for p in (workspace / "report" / "charts").iterdir()}


def _documented_columns() -> list[str]:
    """The columns of the features page's tables, in page order (`<H>`-style parts vary)."""
    columns = []
    for line in FEATURES_PAGE.read_text(encoding="utf-8").splitlines():
        if line.startswith("| `"):
            columns += _CODE.findall(_cells(line)[0])
    return columns


def _column_position(column: str, documented: list[str]) -> int | None:
    if column in documented:
        return documented.index(column)
    for i, name in enumerate(documented):
        pattern = re.escape(name).replace(r"\<", "<").replace(r"\>", ">")
        if "<" in name and re.fullmatch(re.sub(r"<[^>]+>", ".+", pattern), column):
            return i
    return None


def test_every_column_of_segments_parquet_is_documented_in_its_order(workspace):
    documented = _documented_columns()
    columns = pq.read_schema(workspace / "report" / "segments.parquet").names
    positions = [_column_position(c, documented) for c in columns]
    missing = [c for c, p in zip(columns, positions, strict=True) if p is None]
    assert not missing, f"not in {FEATURES_PAGE.name}: {missing}"
    assert positions == sorted(positions), "the page lists the columns in another order"
    assert _column_position("share_home_garden", documented) is not None
    assert _column_position("loyalty_points", documented) is None


# Citations of the docs in the code ----------------------------------------------------------

_CITATION = re.compile(r"docs/([\w/.-]+?\.md)(?:#([\w-]+))?")


def anchors(page: Path) -> set[str]:
    """The anchors of a page's headings, as the site gives them."""
    from markdown.extensions.toc import slugify

    found = set()
    for line in page.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"^#{1,6} (.+?)(?: \{#([\w-]+)\})?$", line)
        if heading:
            text, explicit = heading.groups()
            found.add(explicit or slugify(text.replace("`", ""), "-"))
    return found


def test_the_docs_sections_the_code_cites_exist():
    cited = 0
    for path in [*(ROOT / "src").rglob("*.*"), *(ROOT / "tests").rglob("*.*")]:
        if path.suffix not in (".py", ".sql") or path.name == "test_docs.py":
            continue
        for page_name, anchor in _CITATION.findall(path.read_text(encoding="utf-8")):
            page = DOCS / page_name
            assert page.is_file(), f"{path.relative_to(ROOT)} cites docs/{page_name}"
            if anchor:
                assert anchor in anchors(page), (
                    f"{path.relative_to(ROOT)}: no #{anchor} in {page_name}"
                )
            cited += 1
    assert cited
