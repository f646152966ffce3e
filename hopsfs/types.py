"""Plain values the engine returns and front ends translate: no wire types here."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class InodeKind(enum.IntEnum):
    FILE = 1
    DIRECTORY = 2
    SYMLINK = 3


@dataclass(frozen=True, slots=True)
class Caller:
    """Who asks: the user name and the groups the front end resolved for it."""

    user: str
    groups: tuple[str, ...] = ()
    # The application the call is for (HOPSFS_APP_ID, sent as Hadoop's caller context): provenance.
    app_id: str | None = None
    # The client's address as the front end saw it: block placement and read order prefer its host.
    host: str | None = None


@dataclass(slots=True)
class FileStatus:
    """What getFileInfo returns. Times are milliseconds since the epoch; permission holds the sticky bit.

    A value: nothing in hopsfs changes one after it is made. Not frozen because a frozen dataclass
    takes 7x longer to construct (1.6 us against 0.2 us), and a listing page builds a thousand.
    """

    path: str
    inode_id: int
    kind: InodeKind
    permission: int
    owner: str
    group: str
    size: int
    modification_time_ms: int
    access_time_ms: int
    replication: int
    block_size: int
    children_count: int
    symlink_target: str | None = None
    storage_policy: int = 0
    under_construction: bool = False

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def is_directory(self) -> bool:
        return self.kind is InodeKind.DIRECTORY

    @property
    def is_file(self) -> bool:
        return self.kind is InodeKind.FILE

    @property
    def is_symlink(self) -> bool:
        return self.kind is InodeKind.SYMLINK


@dataclass(frozen=True, slots=True)
class Listing:
    """One page of a directory listing, sorted by name; `remaining` counts entries after the page."""

    entries: tuple[FileStatus, ...]
    remaining: int

    @property
    def has_more(self) -> bool:
        return self.remaining > 0


@dataclass(frozen=True, slots=True)
class ContentSummary:
    length: int
    file_count: int
    directory_count: int
    symlink_count: int = 0
    space_consumed: int = 0
    quota: int = -1
    space_quota: int = -1


class XAttrSetFlag(enum.IntFlag):
    """HDFS XAttrSetFlag: CREATE fails if it exists, REPLACE fails if it does not; both allow either."""

    CREATE = 1
    REPLACE = 2


@dataclass(frozen=True, slots=True)
class ChangeEvent:
    """One change-log row as written in the operation's transaction (read back by CDC and tests)."""

    sequence: int
    operation: str
    inode_id: int
    logical_time: int
    parent_id: int
    name: str
    user: str
    time_ms: int
    previous_parent_id: int | None = None
    previous_name: str | None = None
    app_id: str | None = None


@dataclass(frozen=True, slots=True)
class RetryKey:
    """Which client call an at-most-once operation answers (Hadoop's client id, call id, retry count).

    A namenode records the answer under (client_id, call_id) in the operation's own transaction, and
    a re-sent call (retry_count > 0) gets that answer back instead of running twice.
    """

    client_id: bytes
    call_id: int
    retry_count: int = 0
