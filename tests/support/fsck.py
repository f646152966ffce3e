"""The test-side face of `namenode.dal.fsck`: fail a test with every broken invariant listed."""

from __future__ import annotations

from namenode.dal.fsck import check_namespace

__all__ = ["assert_consistent", "check_namespace"]


def assert_consistent(url: str, *, allow_subtree_flags: bool = False) -> None:
    problems = check_namespace(url, allow_subtree_flags=allow_subtree_flags)
    assert not problems, "namespace inconsistent:\n" + "\n".join(problems[:50])
