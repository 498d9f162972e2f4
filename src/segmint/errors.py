"""The errors a user can cause. Everything else is a bug.

SegmintError
 ├── InputError     a file, column or value of the input is unusable
 ├── UsageError     a setting or combination of settings is invalid
 └── OutputError    the output folder cannot be written

The CLI prints ``error: <message>`` and exits 2 for any of them.
"""

from __future__ import annotations


class SegmintError(Exception):
    """Base class of every error a user can cause and fix."""


class InputError(SegmintError):
    """The input cannot be read or used: names the file, column or value at fault."""


class UsageError(SegmintError):
    """A setting is invalid, or settings contradict each other or the data."""


class OutputError(SegmintError):
    """The output location cannot be written."""
