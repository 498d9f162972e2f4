"""Uploads: streamed to disk under names the server chooses, size-limited, checked by content.

The request body is parsed as it arrives (python-multipart's streaming parser), each file part
written straight to the run's input folder; past the size limit the upload stops with 413 and
the partial files are deleted. A file's type is decided by its bytes, never by the name or the
content type the client sent: CSV/TSV text (UTF-8, UTF-16, cp1252; gzip'd or not), Parquet, or
an Excel .xlsx workbook. The client's file name is kept only as display text.
"""

from __future__ import annotations

import gzip
import unicodedata
import zipfile
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import anyio
from python_multipart.multipart import MultipartParser, parse_options_header

FILE_ROLES = ("transactions", "customers", "products")
EXTENSIONS = {"csv": "csv", "csv.gz": "csv.gz", "parquet": "parquet", "xlsx": "xlsx"}
MAX_FIELD_BYTES = 64 * 1024
MAX_PARTS = 64
_SNIFF_BYTES = 64 * 1024


class UploadError(Exception):
    """An upload refused: status is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class UploadedFile:
    role: str  # transactions, customers or products
    stored: str  # the name the server chose, in the run's input folder
    original: str  # the client's name: display text only
    size: int
    kind: str = ""


@dataclass
class ReceivedForm:
    fields: dict[str, list[str]] = field(default_factory=dict)
    files: list[UploadedFile] = field(default_factory=list)

    def first(self, name: str) -> str | None:
        values = self.fields.get(name)
        return values[0] if values else None


def display_name(raw: str) -> str:
    """Return a client's file name as display text: no control characters, at most 200 long."""
    text = "".join(c for c in raw if unicodedata.category(c)[0] != "C")
    return (text.strip() or "(no name)")[:200]


class _Receiver:
    """python-multipart callbacks writing file parts to `folder` and collecting fields."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.form = ReceivedForm()
        self.parts = 0
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._headers: dict[bytes, bytes] = {}
        self._name = ""
        self._file: UploadedFile | None = None
        self._handle = None
        self._value = bytearray()
        self.counts: dict[str, int] = {}

    def callbacks(self) -> dict:
        return {
            "on_part_begin": self.on_part_begin,
            "on_header_field": lambda d, s, e: self._header_field.extend(d[s:e]),
            "on_header_value": lambda d, s, e: self._header_value.extend(d[s:e]),
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
        }

    def on_part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise UploadError(400, f"too many form parts (at most {MAX_PARTS})")
        self._headers, self._file, self._value = {}, None, bytearray()

    def on_header_end(self) -> None:
        self._headers[bytes(self._header_field).lower()] = bytes(self._header_value)
        self._header_field.clear()
        self._header_value.clear()

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._name = options.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" not in options:
            return
        if self._name not in FILE_ROLES:
            raise UploadError(400, f"unexpected file field {display_name(self._name)!r}; "
                              f"files go in {', '.join(FILE_ROLES)}")  # fmt: skip
        original = options[b"filename"].decode("utf-8", "replace")
        n = self.counts[self._name] = self.counts.get(self._name, 0) + 1
        self._file = UploadedFile(
            self._name, f".upload-{self._name}-{n}", display_name(original), 0
        )
        self._handle = open(self.folder / self._file.stored, "wb")  # noqa: SIM115

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._file is not None:
            self._handle.write(data[start:end])
            self._file.size += end - start
            return
        self._value.extend(data[start:end])
        if len(self._value) > MAX_FIELD_BYTES:
            raise UploadError(400, f"form field {display_name(self._name)!r} is too long")

    def on_part_end(self) -> None:
        if self._file is not None:
            self._handle.close()
            self._handle = None
            if self._file.size or self._file.original != "(no name)":
                self.form.files.append(self._file)
            else:  # an empty optional file input: the browser sends a part with no name
                (self.folder / self._file.stored).unlink(missing_ok=True)
            self._file = None
            return
        self.form.fields.setdefault(self._name, []).append(self._value.decode("utf-8", "replace"))

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()


async def receive_form(
    headers: dict[str, str], body: AsyncIterator[bytes], folder: Path, max_bytes: int
) -> ReceivedForm:
    """Stream a multipart body into folder; return its fields and files with their kinds.

    Raises UploadError: 413 past max_bytes (the partial files deleted), 415 for a file that is
    not a table Segmint reads, 400 for a malformed form.
    """
    content_type, options = parse_options_header(headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or b"boundary" not in options:
        raise UploadError(415, "send the files as multipart/form-data")
    declared = headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise UploadError(413, too_large(max_bytes))
    receiver = _Receiver(folder)
    parser = MultipartParser(options[b"boundary"], receiver.callbacks())
    received = 0
    try:
        async for chunk in body:
            received += len(chunk)
            if received > max_bytes:
                raise UploadError(413, too_large(max_bytes))
            await anyio.to_thread.run_sync(parser.write, chunk)
        parser.finalize()
        form = receiver.form
        for upload in form.files:
            _keep(folder, upload, form)
        return form
    except UploadError:
        receiver.close()
        _remove_uploads(folder)
        raise
    except Exception as exc:  # python-multipart's parse errors
        receiver.close()
        _remove_uploads(folder)
        raise UploadError(400, f"malformed upload ({type(exc).__name__})") from None


def too_large(max_bytes: int) -> str:
    return f"the upload is larger than the limit of {round(max_bytes / 1024 / 1024, 2):g} MB"


def _remove_uploads(folder: Path) -> None:
    for path in folder.iterdir():
        if path.is_file():
            path.unlink()


def _keep(folder: Path, upload: UploadedFile, form: ReceivedForm) -> None:
    """Check upload's content and give it its final name: <role>-<n>.<extension>."""
    staged = folder / upload.stored
    upload.kind = file_kind(staged, upload.original)
    n = sum(1 for f in form.files if f.role == upload.role and f.kind)
    upload.stored = f"{upload.role}-{n}.{EXTENSIONS[upload.kind]}"
    staged.rename(folder / upload.stored)


def file_kind(path: Path, shown_as: str) -> str:
    """Return csv, csv.gz, parquet or xlsx from the file's bytes; raise UploadError 415."""
    with open(path, "rb") as handle:
        head = handle.read(_SNIFF_BYTES)
        handle.seek(max(path.stat().st_size - 4, 0))
        tail = handle.read(4)
    if not head:
        raise UploadError(415, f"{shown_as}: the file is empty")
    if head.startswith(b"PAR1"):
        if tail != b"PAR1":
            raise UploadError(415, f"{shown_as}: a damaged Parquet file (no footer)")
        return "parquet"
    if head.startswith(b"PK\x03\x04"):
        return _xlsx(path, shown_as)
    if head.startswith(b"\x1f\x8b"):
        try:
            with gzip.open(path, "rb") as handle:
                text = handle.read(_SNIFF_BYTES)
        except (OSError, EOFError, zlib.error):
            raise UploadError(415, f"{shown_as}: a damaged gzip file") from None
        _require_text(text, shown_as)
        return "csv.gz"
    _require_text(head, shown_as)
    return "csv"


def _xlsx(path: Path, shown_as: str) -> str:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError):
        raise UploadError(415, f"{shown_as}: a damaged zip file") from None
    if "xl/workbook.xml" not in names:
        raise UploadError(
            415, f"{shown_as}: a zip archive, not an Excel .xlsx workbook; {ACCEPTED}"
        )
    return "xlsx"


ACCEPTED = "give a CSV or TSV file (optionally .gz), a Parquet file or an Excel .xlsx workbook"


def _require_text(head: bytes, shown_as: str) -> None:
    if not head.strip():
        raise UploadError(415, f"{shown_as}: the file is empty")
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16 with its byte order mark
        return
    control = sum(1 for b in head if b < 32 and b not in (9, 10, 13))
    if b"\x00" in head or control > len(head) * 0.01:
        raise UploadError(415, f"{shown_as}: not a text table (binary content); {ACCEPTED}")
