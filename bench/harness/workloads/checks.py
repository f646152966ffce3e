"""Answer checks shared by the workloads: each returns a `Step.done` that raises WrongAnswer when a
call's result disagrees with the workload's model."""

from __future__ import annotations

from collections.abc import Callable

from bench.harness.errors import WrongAnswer
from bench.harness.targets import PathInfo


def bind(function: Callable[..., object], *arguments: object) -> Callable[[], object]:
    """`function(*arguments)` as a call of no arguments (a step's `run`)."""
    return lambda: function(*arguments)


def expect_kind(path: str, *, directory: bool, size: int | None = None) -> Callable[[object], None]:
    """A stat that finds a directory, or a file (of `size` bytes when given)."""

    def done(result: object) -> None:
        if not isinstance(result, PathInfo) or result.is_directory != directory:
            raise WrongAnswer(f"stat {path}: expected a {'directory' if directory else 'file'}, got {result}")
        if size is not None and result.size != size:
            raise WrongAnswer(f"stat {path}: expected {size} bytes, got {result.size}")

    return done


def expect_entries(path: str, entries: int) -> Callable[[object], None]:
    def done(result: object) -> None:
        if result != entries:
            raise WrongAnswer(f"list {path}: expected {entries} entries, got {result}")

    return done


def expect_bytes(path: str, expected: bytes) -> Callable[[object], None]:
    """A read that returns exactly `expected`."""

    def done(result: object) -> None:
        if not isinstance(result, bytes | bytearray):
            raise WrongAnswer(f"read {path}: expected bytes, got {type(result).__name__}")
        if len(result) != len(expected):
            raise WrongAnswer(f"read {path}: expected {len(expected)} bytes, got {len(result)}")
        if result != expected:
            raise WrongAnswer(f"read {path}: {len(result)} bytes, but not the bytes written")

    return done


def expect_length(path: str, size: int) -> Callable[[object], None]:
    def done(result: object) -> None:
        if not isinstance(result, bytes | bytearray) or len(result) != size:
            length = len(result) if isinstance(result, bytes | bytearray) else type(result).__name__
            raise WrongAnswer(f"read {path}: expected {size} bytes, got {length}")

    return done
