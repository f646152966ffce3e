"""Replay the change log and compare it with the live inodes: every committed change logged, nothing else.

Per inode, events are taken in logical-time order and the last one decides: DELETE means the inode is
gone, anything else leaves it at that event's (parent_id, name). The replayed map must equal the live
inodes' id -> (parent_id, name). Along the way each inode's history must be well formed: it starts
with a creation (MKDIR, CREATE, SYMLINK), its logical times strictly increase in sequence order,
nothing follows its DELETE, a RENAME's previous location is where the inode was, and every other
event leaves the inode where it was. The root, made by format, only changes in place.

Reads the tables with plain SQLAlchemy (not the engine under test), page by page.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import create_engine, text

from namenode import schema

CREATION_OPERATIONS = frozenset({"MKDIR", "CREATE", "SYMLINK"})
CHANGE_PAGE_ROWS = 5000


@dataclass(frozen=True, slots=True)
class LoggedChange:
    sequence: int
    operation: str
    inode_id: int
    logical_time: int
    parent_id: int
    name: str
    previous_parent_id: int | None
    previous_name: str | None


Location = tuple[int, str]


def read_changes(url: str) -> list[LoggedChange]:
    """Every change-log row, in sequence order."""
    changes: list[LoggedChange] = []
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            after = -1
            while True:
                rows = connection.execute(
                    text(
                        "SELECT sequence, operation, inode_id, logical_time, parent_id, name,"
                        " previous_parent_id, previous_name FROM change_log"
                        " WHERE sequence > :after ORDER BY sequence LIMIT :limit"
                    ),
                    {"after": after, "limit": CHANGE_PAGE_ROWS},
                ).all()
                changes.extend(
                    LoggedChange(
                        int(row.sequence),
                        str(row.operation),
                        int(row.inode_id),
                        int(row.logical_time),
                        int(row.parent_id),
                        str(row.name),
                        None if row.previous_parent_id is None else int(row.previous_parent_id),
                        None if row.previous_name is None else str(row.previous_name),
                    )
                    for row in rows
                )
                if len(rows) < CHANGE_PAGE_ROWS:
                    return changes
                after = int(rows[-1].sequence)
    finally:
        engine.dispose()


def live_inodes(url: str) -> dict[int, Location]:
    """id -> (parent_id, name) of every inode but the root."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT id, parent_id, name FROM inodes WHERE id <> :root"),
                {"root": schema.ROOT_INODE_ID},
            ).all()
    finally:
        engine.dispose()
    return {int(row.id): (int(row.parent_id), str(row.name)) for row in rows}


def replay(changes: list[LoggedChange]) -> tuple[dict[int, Location], list[str]]:
    """The inodes the log says are alive, with their locations, and the malformed histories found."""
    histories: dict[int, list[LoggedChange]] = defaultdict(list)
    for change in changes:
        histories[change.inode_id].append(change)
    alive: dict[int, Location] = {}
    problems: list[str] = []
    for inode_id, history in histories.items():
        if inode_id == schema.ROOT_INODE_ID:
            problems.extend(_root_history_problems(history))
            continue  # made by format, never logged as created, and never moved or deleted
        problems.extend(_history_problems(inode_id, history))
        last = max(history, key=lambda change: change.logical_time)
        if last.operation != "DELETE":
            alive[inode_id] = (last.parent_id, last.name)
    return alive, problems


def check_change_log(url: str) -> list[str]:
    """Problems found replaying the log against the live inodes (empty when they agree)."""
    alive, problems = replay(read_changes(url))
    live = live_inodes(url)
    for inode_id in sorted(set(alive) | set(live)):
        logged, actual = alive.get(inode_id), live.get(inode_id)
        if logged == actual:
            continue
        if actual is None:
            problems.append(f"inode {inode_id}: the log leaves it at {logged}, but it does not exist")
        elif logged is None:
            problems.append(
                f"inode {inode_id}: lives at {actual}, but the log has it deleted or never created"
            )
        else:
            problems.append(f"inode {inode_id}: the log leaves it at {logged}, it lives at {actual}")
    return problems


def assert_change_log_matches(url: str) -> None:
    problems = check_change_log(url)
    assert not problems, "change log disagrees with the inodes:\n" + "\n".join(problems[:50])


def _root_history_problems(history: list[LoggedChange]) -> list[str]:
    """The root only changes in place (permissions, owner, times, xattrs, quotas)."""
    return [
        f"root: {change.operation} (seq {change.sequence})"
        for change in history
        if change.operation in CREATION_OPERATIONS or change.operation in ("DELETE", "RENAME")
    ]


def _history_problems(inode_id: int, history: list[LoggedChange]) -> list[str]:
    """`history` is in sequence order (how read_changes returns it)."""
    problems: list[str] = []
    first = history[0]
    if first.operation not in CREATION_OPERATIONS:
        problems.append(f"inode {inode_id}: history starts with {first.operation} (seq {first.sequence})")
    location: Location = (first.parent_id, first.name)
    previous = first
    for change in history[1:]:
        if change.logical_time <= previous.logical_time:
            problems.append(
                f"inode {inode_id}: logical time {change.logical_time} (seq {change.sequence})"
                f" does not follow {previous.logical_time} (seq {previous.sequence})"
            )
        if previous.operation == "DELETE":
            problems.append(f"inode {inode_id}: {change.operation} (seq {change.sequence}) after its DELETE")
        if change.operation in CREATION_OPERATIONS:
            problems.append(f"inode {inode_id}: created again (seq {change.sequence})")
        if change.operation == "RENAME":
            moved_from = (change.previous_parent_id, change.previous_name)
            if moved_from != location:
                problems.append(
                    f"inode {inode_id}: RENAME (seq {change.sequence}) from {moved_from},"
                    f" but it was at {location}"
                )
        elif (change.parent_id, change.name) != location:
            problems.append(
                f"inode {inode_id}: {change.operation} (seq {change.sequence}) at"
                f" {(change.parent_id, change.name)}, but it was at {location}"
            )
        location = (change.parent_id, change.name)
        previous = change
    return problems
