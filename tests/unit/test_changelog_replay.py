"""The test suite's change-log checker itself: it must pass a correct log (changes on the root
included) and name what is wrong in a broken one."""

from __future__ import annotations

from support.changelog_replay import LoggedChange, replay

from namenode import schema

ROOT = schema.ROOT_INODE_ID


def _change(sequence: int, operation: str, inode_id: int, parent_id: int, name: str) -> LoggedChange:
    return LoggedChange(sequence, operation, inode_id, sequence, parent_id, name, None, None)


def test_a_change_on_the_root_replays_and_the_root_stays_out_of_the_live_map() -> None:
    root = (schema.ROOT_PARENT_ID, schema.ROOT_NAME)
    alive, problems = replay(
        [
            _change(1, "MKDIR", 10, ROOT, "d"),
            _change(2, "SET_PERMISSION", ROOT, *root),
            _change(3, "SET_OWNER", 10, ROOT, "d"),
        ]
    )
    assert (alive, problems) == ({10: (ROOT, "d")}, [])


def test_broken_histories_are_named() -> None:
    root = (schema.ROOT_PARENT_ID, schema.ROOT_NAME)
    _, problems = replay(
        [
            _change(1, "SET_OWNER", 11, ROOT, "f"),  # never created
            _change(2, "DELETE", ROOT, *root),
            _change(3, "CREATE", 12, ROOT, "g"),
            _change(4, "DELETE", 12, ROOT, "g"),
            _change(5, "SET_OWNER", 12, ROOT, "g"),  # after its DELETE
        ]
    )
    assert problems == [
        "inode 11: history starts with SET_OWNER (seq 1)",
        "root: DELETE (seq 2)",
        "inode 12: SET_OWNER (seq 5) after its DELETE",
    ]
