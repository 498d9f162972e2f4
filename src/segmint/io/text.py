"""Make a delimited text file readable by DuckDB: UTF-8, one-character delimiter.

DuckDB reads UTF-8 CSV with any of the common delimiters by itself. Three real-world
shapes it cannot read are rewritten into a temporary UTF-8 file first: legacy
encodings (cp1252 / latin-1, UTF-16), whitespace-aligned columns (runs of spaces), and
lines ended partly by CRLF and partly by LF (a header written apart from its rows).
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import re
import zlib
from pathlib import Path

from segmint.errors import InputError

_CHUNK = 1 << 22
# What reading a damaged or truncated (gzip) file can raise.
READ_ERRORS = (OSError, EOFError, zlib.error)
_DELIMITERS = (",", ";", "\t", "|")
_WHITESPACE_RUN = re.compile(r"[ \t]+")


def _latin1_fallback(error: UnicodeDecodeError) -> tuple[str, int]:
    # cp1252 leaves five bytes undefined; read them as latin-1 rather than fail.
    bad = error.object[error.start : error.end]
    return bad.decode("latin-1"), error.end


codecs.register_error("segmint-latin1", _latin1_fallback)


def open_binary(path: Path, compressed: bool):
    """Return a binary file object over the (decompressed) content."""
    return gzip.open(path, "rb") if compressed else open(path, "rb")


# What a run checks before DuckDB reads a file: DuckDB itself stops at the first byte that is
# not UTF-8 ("not utf-8 encoded"), and the run then checks the whole file (NOT_UTF8 below).
HEAD_BYTES = 1 << 23
NOT_UTF8 = "not utf-8 encoded"


def detect_encoding(path: Path, compressed: bool, head_bytes: int | None = None) -> str:
    """Return 'utf-8', 'utf-8-sig', 'utf-16' or 'cp1252' for the whole file.

    With head_bytes, only that many bytes are checked: a file whose head is UTF-8 is taken
    as UTF-8 (a reader that fails later on the rest must check again, whole).
    """
    with open_binary(path, compressed) as handle:
        head = handle.read(4)
        if head.startswith(codecs.BOM_UTF16_LE) or head.startswith(codecs.BOM_UTF16_BE):
            return "utf-16"
        encoding = "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"
        decoder = codecs.getincrementaldecoder("utf-8")()
        data = head
        seen = len(data)
        try:
            while data:
                # ASCII needs no decoding, unless a multi-byte character is pending.
                if not (data.isascii() and not decoder.getstate()[0]):
                    decoder.decode(data)
                if head_bytes is not None and seen >= head_bytes:
                    return encoding  # a character cut at the end of the head is not an error
                data = handle.read(_CHUNK if head_bytes is None else min(_CHUNK, head_bytes))
                seen += len(data)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252"
        except READ_ERRORS as exc:
            raise InputError(f"{path}: cannot be read ({exc})", file=str(path)) from None
    return encoding


def first_lines(path: Path, compressed: bool, encoding: str, n: int = 50) -> list[str]:
    """Return up to n non-empty lines from the start of the file."""
    lines: list[str] = []
    try:
        with open_binary(path, compressed) as raw:
            # The lines are decoded a block at a time: a byte that is not UTF-8 in the block
            # after them must not fail them (the whole file is checked where it matters).
            for line in _text_lines(raw, encoding, errors="replace"):
                line = line.rstrip("\r\n")
                if line.strip():
                    lines.append(line)
                if len(lines) >= n:
                    break
    except READ_ERRORS as exc:
        raise InputError(f"{path}: cannot be read ({exc})", file=str(path)) from None
    return lines


def _text_lines(raw, encoding: str, errors: str = "strict") -> io.TextIOWrapper:  # noqa: ANN001
    """Return the decoded lines of a binary file, split at LF only (CRLF kept whole).

    codecs' readers split lines at every Unicode line boundary: a form feed, a U+2028 or
    a \x1c inside a cell would cut its line in two.
    """
    errors = "segmint-latin1" if encoding == "cp1252" else errors
    return io.TextIOWrapper(raw, encoding=encoding, errors=errors, newline="\n")


def mixed_line_endings(path: Path, compressed: bool, head_bytes: int = 1 << 16) -> bool:
    """True when, in the file's head, some records end with CRLF and others with a bare LF
    (a header written apart from its rows), which DuckDB's CSV reader cannot read. Line
    breaks inside quoted cells do not count."""
    with open_binary(path, compressed) as handle:
        head = handle.read(head_bytes).replace(b"\x00", b"")  # UTF-16's zero bytes
    if b"\r\n" not in head:
        return False
    ends, quoted = set(), False
    for match in re.finditer(rb'"|\r?\n', head):
        token = match.group()
        if token == b'"':
            quoted = not quoted  # an escaped quote ("") toggles twice
        elif not quoted:
            ends.add(token)
            if len(ends) == 2:
                return True
    return False


def is_whitespace_aligned(lines: list[str]) -> bool:
    """True when no usual delimiter appears and every line splits into the same ≥2 fields."""
    if not lines or any(d in line for line in lines for d in _DELIMITERS if d != "\t"):
        return False
    widths = {len(_WHITESPACE_RUN.split(line.strip())) for line in lines}
    return (
        len(widths) == 1
        and widths.pop() >= 2
        and any("  " in line or "\t" in line for line in lines)
    )


def header_delimiter(lines: list[str]) -> str | None:
    """Return the delimiter that splits the header and most of the first lines alike, or None.

    For a file whose dialect DuckDB's sniffer did not find: a line cut short (the last line
    of a truncated export) makes it fail, or read every line as one column.
    """
    best = None
    for delimiter in _DELIMITERS:
        try:
            widths = [len(row) for row in csv.reader(lines, delimiter=delimiter)]
        except csv.Error:  # e.g. a carriage return inside an unquoted cell
            continue
        if len(widths) < 2 or widths[0] < 2:
            continue
        if len(widths) == 2:  # a lone line, perhaps cut short: the delimiter splits it too
            alike = float(widths[1] >= 2)
        else:  # the last line may be the one cut short: in a short file, a large share
            alike = sum(w == widths[0] for w in widths[1:-1]) / (len(widths) - 2)
        if alike >= 0.8 and (best is None or widths[0] > best[1]):
            best = (delimiter, widths[0])
    return best[0] if best else None


def rewrite_as_utf8(
    path: Path, compressed: bool, encoding: str, target: Path, whitespace: bool
) -> Path:
    """Write the file as UTF-8 with LF line ends (tab-separated when it was whitespace-aligned)
    and return target.

    A file taken as UTF-8 from its head (HEAD_BYTES) with a byte further on that is not
    UTF-8 is read as cp1252, as the whole-file check (detect_encoding) would have said.
    """
    try:
        with (
            open_binary(path, compressed) as raw,
            open(target, "w", encoding="utf-8", newline="\n") as out,
        ):
            for line in _text_lines(raw, encoding):
                line = line.rstrip("\r\n")
                if whitespace:
                    line = "\t".join(_WHITESPACE_RUN.split(line.strip())) if line.strip() else ""
                out.write(line.lstrip("\ufeff") + "\n")
    except UnicodeDecodeError:
        if not encoding.startswith("utf-8"):
            raise
        return rewrite_as_utf8(path, compressed, "cp1252", target, whitespace)
    except READ_ERRORS as exc:
        raise InputError(f"{path}: cannot be read ({exc})", file=str(path)) from None
    return target
