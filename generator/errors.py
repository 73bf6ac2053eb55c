"""User-facing errors.

Everything a user can cause (bad model file, bad name, missing tool) raises a subclass of
ScaffoldError. The CLI prints ``error: <message>`` on one line and exits with ``exit_code``;
the library never prints tracebacks for these. Messages name the problem and the fix.
"""

from __future__ import annotations


class ScaffoldError(Exception):
    """Base of every error a user can fix; the message is one line: problem, then fix."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        # One line only: the CLI prints it as-is and users grep logs for it.
        super().__init__(" ".join(str(message).split()))


class UsageError(ScaffoldError):
    """A flag or argument value is invalid (name, package, size, mean/std...)."""

    exit_code = 2


class ModelError(ScaffoldError):
    """The model file cannot be loaded, traced or run."""

    exit_code = 3


class ExportError(ScaffoldError):
    """Export ran but its result is not acceptable (version, mismatch with the source)."""

    exit_code = 4


class OutputExistsError(ScaffoldError):
    """The output directory exists and is not empty; nothing was written."""

    exit_code = 5


class OutputWriteError(ScaffoldError):
    """Writing the output failed (full disk, read-only file system...); nothing was left behind."""

    exit_code = 8


class ToolMissingError(ScaffoldError):
    """An external tool (gradle, javac, g++...) is needed and not found."""

    exit_code = 6


class CheckFailedError(ScaffoldError):
    """`scaffold check` found problems in a generated project."""

    exit_code = 7


class CommandFailedError(ScaffoldError):
    """A build, install or test command scaffold ran for the user failed (its output is above)."""

    exit_code = 10


class NoDeviceError(ScaffoldError):
    """`run` (or a device test) needs a running emulator, device or simulator and none is there."""

    exit_code = 11


def first_line(exc: BaseException, limit: int = 200) -> str:
    """The first line of an exception's message (or its type when it has none), for one-line errors."""
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:limit]


def squashed(exc: BaseException, limit: int = 200) -> str:
    """An exception's whole message on one line (its whitespace runs as single spaces), for a
    one-line error that must keep a cause printed over several lines."""
    return " ".join(str(exc).split())[:limit]
