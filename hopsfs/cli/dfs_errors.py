"""How `hopsfs dfs` words a failure: one line per failed path, in Hadoop FsShell's phrasing.

Hadoop names the path in backquotes followed by a fixed reason ("`/a': No such file or directory")
for the errors its shell detects itself, and prints the namenode's own message for the rest
("Permission denied: user=bob, access=WRITE, ..."). `describe_error` is the one table that maps a
hopsfs error to that line; a Java class prefix the client kept from an unknown remote exception is
dropped, and a multi-line message is cut to its first line.
"""

from __future__ import annotations

from hopsfs.errors import (
    DirectoryNotEmpty,
    FileAlreadyExists,
    FileNotFound,
    HopsFSError,
    IsADirectory,
    NotADirectory,
    RemoteError,
)

NO_SUCH_PATH = "No such file or directory"

# Errors Hadoop's shell words itself, naming the path the user gave instead of the namenode's text.
_PATH_REASONS: dict[type[HopsFSError], str] = {
    FileNotFound: NO_SUCH_PATH,
    FileAlreadyExists: "File exists",
    DirectoryNotEmpty: "Directory is not empty",
    IsADirectory: "Is a directory",
    NotADirectory: "Is not a directory",
}


class UsageError(Exception):
    """The command line is malformed: unknown option, missing value, wrong number of operands."""


class CommandFailure(Exception):
    """One path (or the whole command) failed for a reason the CLI found itself; str() is the line."""

    @classmethod
    def for_path(cls, display: str, reason: str) -> CommandFailure:
        return cls(path_message(display, reason))


class MissingPath(CommandFailure):
    """An argument names nothing that exists (`-rm -f` and `-test` treat this one apart)."""


def path_message(display: str, reason: str) -> str:
    """Hadoop's form of a failure about one path: "`/a/b': reason"."""
    return f"`{display}': {reason}"


def describe_error(error: HopsFSError, display: str) -> str:
    """The line to print for `error`, raised while working on the path shown as `display`."""
    for cls in type(error).__mro__:
        reason = _PATH_REASONS.get(cls)  # type: ignore[call-overload]
        if reason is not None:
            return path_message(display, reason)
    return server_message(error)


def server_message(error: HopsFSError) -> str:
    """The error's own text on one line, without the Java class an unknown remote error carries."""
    text = str(error)
    if isinstance(error, RemoteError) and text.startswith(f"{error.java_class}: "):
        text = text[len(error.java_class) + 2 :]
    first_line = text.strip().splitlines()[0] if text.strip() else type(error).__name__
    return first_line.strip()
