"""What one running `hopsfs dfs` command shares: its output streams, its namenode clients, its failures.

A command works path by path. A failure on one path prints one line to stderr and the command goes
on with the next (Hadoop's shell does the same); the exit status is 1 if anything failed. Two errors
end the whole command at once instead: no namenode could be reached (every further path would wait
through the same retries), and an interrupt.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TextIO

from hopsfs.cli.dfs_errors import CommandFailure, MissingPath, describe_error
from hopsfs.cli.dfs_paths import Connections, DfsPath, expand, list_directory, locate, walk_below
from hopsfs.errors import HopsFSError, NamenodeUnavailable

PROGRAM = "hopsfs dfs"
EXIT_SUCCESS = 0
EXIT_FAILURE = 1

# Errors after which no further path can succeed: the command stops and reports them once.
COMMAND_ENDING_ERRORS: tuple[type[HopsFSError], ...] = (NamenodeUnavailable,)


@dataclass(slots=True)
class CommandContext:
    name: str
    connections: Connections
    stdout: TextIO
    stderr: TextIO
    failures: int = 0
    # New files' block size and replication from -D dfs.blocksize / -D dfs.replication (None: the
    # namenode's defaults).
    block_size: int | None = None
    replication: int | None = None

    @property
    def exit_code(self) -> int:
        return EXIT_FAILURE if self.failures else EXIT_SUCCESS

    def print(self, line: str) -> None:
        print(line, file=self.stdout)

    def fail(self, message: str) -> None:
        """Print one failure line in Hadoop's form (`hopsfs dfs: -ls: message`) and remember it."""
        print(f"{PROGRAM}: {self.name}: {message}", file=self.stderr)
        self.failures += 1

    def fail_quietly(self) -> None:
        """Exit 1 without a message (what `-test` does when the test is false)."""
        self.failures += 1

    def report(self, error: HopsFSError, display: str | DfsPath) -> None:
        """Report `error` met on one path; re-raise the errors that end the command."""
        if isinstance(error, COMMAND_ENDING_ERRORS):
            raise error
        shown = display.display if isinstance(display, DfsPath) else display
        self.fail(describe_error(error, shown))

    @contextmanager
    def attempt(self, display: str) -> Iterator[None]:
        """Run one path's work; a failure is reported and swallowed so the next path still runs."""
        try:
            yield
        except CommandFailure as failure:
            self.fail(str(failure))
        except HopsFSError as error:
            self.report(error, display)

    def expand(self, text: str, *, missing_ok: bool = False) -> list[DfsPath]:
        """The existing paths `text` names; [] once a failure is reported (silently for a missing
        path when `missing_ok`)."""
        try:
            return expand(self.connections, text)
        except MissingPath as missing:
            if not missing_ok:
                self.fail(str(missing))
        except CommandFailure as failure:
            self.fail(str(failure))
        except HopsFSError as error:
            self.report(error, text)
        return []

    def locate(self, text: str) -> DfsPath | None:
        """The literal path `text` names (for a path to create); None once a failure is reported."""
        try:
            return locate(self.connections, text)
        except CommandFailure as failure:
            self.fail(str(failure))
        except HopsFSError as error:
            self.report(error, text)
        return None

    def subtree(
        self,
        root: DfsPath,
        *,
        recursive: bool,
        list_children: Callable[[DfsPath], list[DfsPath]] = list_directory,
    ) -> Iterator[DfsPath]:
        """`root`, then (if `recursive` and it is a directory) everything below it, depth first."""
        yield root
        if recursive and root.status is not None and root.status.is_directory:
            yield from walk_below(root, list_children, self.report)
