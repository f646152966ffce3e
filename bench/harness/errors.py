"""Errors of the benchmark harness: each is a clear, typed reason, never a silent skip."""

from __future__ import annotations


class HarnessError(Exception):
    """The harness cannot run as asked (bad option, a target it cannot reach, a client that died)."""


class BadTarget(HarnessError):
    """A target URL or directory the harness cannot use."""


class UnsupportedOperation(HarnessError):
    """The target cannot do this operation at all (not a failure of one call): it is counted and
    reported per operation, never dropped from the mix."""

    def __init__(self, operation: str, reason: str) -> None:
        super().__init__(f"{operation}: {reason}")
        self.operation = operation
        self.reason = reason


class WrongAnswer(HarnessError):
    """An operation returned, but not what the workload's model of the namespace says it must."""
