"""The hint cache's bound and repair bookkeeping; permission classes as HDFS applies them."""

from __future__ import annotations

import pytest

from hopsfs.errors import PermissionDenied
from hopsfs.types import Caller, InodeKind
from namenode.engine.hint_cache import HintCache
from namenode.engine.permissions import EXECUTE, READ, WRITE, PermissionChecker, mode_string
from namenode.entities import InodeRow, key_for, partition_for


def test_hint_cache_is_bounded_and_evicts_the_oldest_write() -> None:
    cache = HintCache(capacity=3)
    for index in range(5):
        cache.put(1, f"n{index}", 100 + index)
    assert len(cache) == 3
    assert cache.get(1, "n0") is None
    assert cache.get(1, "n4") == 104
    cache.repaired(1, "n4", None)
    assert cache.get(1, "n4") is None
    assert cache.repairs == 1


def _row(owner: str, group: str, permission: int, kind: InodeKind = InodeKind.FILE) -> InodeRow:
    partition_id, parent_id, name = key_for(5, "f")
    return InodeRow(
        partition_id,
        parent_id,
        name,
        9,
        kind,
        permission,
        owner,
        group,
        0,
        0,
        0,
        1,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        None,
        None,
        None,
        None,
    )


@pytest.mark.parametrize(
    ("caller", "access", "allowed"),
    [
        (Caller("alice"), READ | WRITE, True),  # owner class rw-
        (Caller("alice"), EXECUTE, False),
        (Caller("bob", ("users",)), READ, True),  # group class r--
        (Caller("bob", ("users",)), WRITE, False),
        (Caller("carol"), READ, False),  # other class ---
        (Caller("hdfs"), READ | WRITE | EXECUTE, True),  # superuser
        (Caller("dave", ("supergroup",)), WRITE, True),  # supergroup member
    ],
)
def test_permission_classes(caller: Caller, access: int, allowed: bool) -> None:
    checker = PermissionChecker(caller, superuser="hdfs", supergroup="supergroup")
    row = _row("alice", "users", 0o640)
    assert checker.allows(row, access) is allowed


def test_owner_class_applies_even_when_group_would_allow() -> None:
    checker = PermissionChecker(Caller("alice", ("users",)), "hdfs", "supergroup")
    assert not checker.allows(_row("alice", "users", 0o070), READ)


def test_denial_names_user_access_and_inode() -> None:
    checker = PermissionChecker(Caller("carol"), "hdfs", "supergroup")
    with pytest.raises(
        PermissionDenied, match=r'user=carol, access=WRITE, inode="/d/f":alice:users:-rw-r-----'
    ):
        checker.require(_row("alice", "users", 0o640), WRITE, "/d/f")


def test_sticky_bit_lets_only_owners_remove() -> None:
    parent = _row("hdfs", "supergroup", 0o1777, InodeKind.DIRECTORY)
    child = _row("alice", "users", 0o644)
    PermissionChecker(Caller("alice"), "hdfs", "supergroup").require_sticky_ok(parent, child, "/tmp/f")
    with pytest.raises(PermissionDenied, match="sticky"):
        PermissionChecker(Caller("bob"), "hdfs", "supergroup").require_sticky_ok(parent, child, "/tmp/f")
    assert mode_string(parent) == "drwxrwxrwt"


def test_partition_rule_spreads_root_children_and_groups_the_rest() -> None:
    assert partition_for(77, "x") == 77
    root_partitions = {partition_for(1, f"top{index}") for index in range(200)}
    assert all(-64 <= value <= -1 for value in root_partitions)
    assert len(root_partitions) > 32
