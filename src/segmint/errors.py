"""The errors a user can cause. Everything else is a bug.

SegmintError
 ├── InputError     a file, column or value of the input is unusable
 ├── UsageError     a setting or combination of settings is invalid
 └── OutputError    the output folder cannot be written

The CLI prints ``error: <message>`` and exits 2 for any of them.
"""

from __future__ import annotations


class SegmintError(Exception):
    """Base class of every error a user can cause and fix.

    Besides its message (the one line a user reads), an error may say what is at fault as
    fields, for a program to use: the file(s), the column and the value, where known.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        column: str | None = None,
        value: object = None,
    ) -> None:
        super().__init__(message)
        self.file, self.column, self.value = file, column, value


class InputError(SegmintError):
    """The input cannot be read or used: names the file, column or value at fault."""


class UsageError(SegmintError):
    """A setting is invalid, or settings contradict each other or the data."""


class OutputError(SegmintError):
    """The output location cannot be written."""
