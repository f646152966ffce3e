"""Which events a subscription delivers: pure functions over event messages.

A path prefix matches an event whose path or previous path is at or below it, and a rename of a
directory that was or is an ancestor of the prefix: that rename moves the watched subtree, and a
subscriber keeping a view of it must learn that its paths changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from hopsfs.cdc_events import RENAME_OPERATION, path_is_within
from hopsfs.errors import InvalidArgument
from hopsfs.paths import split_path
from hopsfs.protocol.proto import cdc_pb2


@dataclass(frozen=True, slots=True)
class EventFilter:
    prefix: str  # normalized: "" for everything, else "/a/b" without a trailing slash
    operations: frozenset[str]  # empty: all

    def matches(self, event: cdc_pb2.ChangeEventProto) -> bool:
        if self.operations and event.operation not in self.operations:
            return False
        if not self.prefix:
            return True
        if path_is_within(event.path, self.prefix):
            return True
        if event.previous_path and path_is_within(event.previous_path, self.prefix):
            return True
        return event.operation == RENAME_OPERATION and (
            path_is_within(self.prefix, event.path)
            or (bool(event.previous_path) and path_is_within(self.prefix, event.previous_path))
        )


def event_filter(prefix: str, operations: Iterable[str]) -> EventFilter:
    """A filter from a request; InvalidArgument for a prefix that is not an absolute path."""
    normalized = prefix.rstrip("/")
    if normalized:
        split_path(normalized)  # raises InvalidPath (an InvalidArgument's sibling) for a bad prefix
    if prefix and not prefix.startswith("/"):
        raise InvalidArgument(f"a path prefix is absolute: {prefix!r}")
    return EventFilter(normalized, frozenset(operation.upper() for operation in operations if operation))
