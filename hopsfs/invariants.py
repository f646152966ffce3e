"""Invariant checks that `python -O` cannot strip (bare `assert` is for tests only)."""

from __future__ import annotations

from hopsfs.errors import InvariantViolation


def check(condition: bool, message: str) -> None:
    """Raise InvariantViolation when `condition` is false: a bug, never an operating error."""
    if not condition:
        raise InvariantViolation(message)
