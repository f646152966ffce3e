"""The engine's retry cache: a re-sent at-most-once call gets its first answer, on both backends."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from support.namespace_harness import SUPERUSER, assert_store_healthy, format_store, open_namespace

from hopsfs import limits
from hopsfs.errors import DirectoryNotEmpty, FileAlreadyExists, FileNotFound, LeaseConflict
from hopsfs.types import RetryKey, XAttrSetFlag
from namenode.engine.namespace import Namespace
from namenode.engine.retry_cache import decode_result, encode_result
from namenode.small_file_values import SmallFile

CLIENT = bytes(range(16))


def first(call_id: int) -> RetryKey:
    return RetryKey(CLIENT, call_id, 0)


def resent(call_id: int) -> RetryKey:
    return RetryKey(CLIENT, call_id, 1)


@pytest.fixture(name="namespace")
def namespace_fixture(db_url: str) -> Iterator[Namespace]:
    format_store(db_url)
    namespace = open_namespace(db_url)
    try:
        yield namespace
    finally:
        namespace.close()
    assert_store_healthy(db_url)


def test_each_at_most_once_operation_answers_a_resent_call_from_the_cache(namespace: Namespace) -> None:
    me = SUPERUSER
    created = namespace.create(me, "/f", retry=first(1))
    assert namespace.create(me, "/f", retry=resent(1)) == created  # not FileAlreadyExists
    with pytest.raises(FileAlreadyExists):
        namespace.create(me, "/f", retry=resent(2))  # a call id never seen: it runs

    namespace.mkdirs(me, "/dir")
    assert namespace.rename_legacy(me, "/f", "/dir", retry=first(3)) is True
    assert namespace.rename_legacy(me, "/f", "/dir", retry=resent(3)) is True  # ran: would be False

    namespace.rename(me, "/dir/f", "/g", retry=first(4))
    namespace.rename(me, "/dir/f", "/g", retry=resent(4))  # running it again: FileNotFound

    namespace.set_xattr(me, "/g", "user.k", b"v", XAttrSetFlag.CREATE, retry=first(5))
    namespace.set_xattr(me, "/g", "user.k", b"v", XAttrSetFlag.CREATE, retry=resent(5))
    namespace.remove_xattr(me, "/g", "user.k", retry=first(6))
    namespace.remove_xattr(me, "/g", "user.k", retry=resent(6))

    link = namespace.create_symlink(me, "/g", "/link", retry=first(7))
    assert namespace.create_symlink(me, "/g", "/link", retry=resent(7)) == link

    assert namespace.delete(me, "/g", retry=first(8)) is True
    assert namespace.delete(me, "/g", retry=resent(8)) is True  # ran: would be False
    with pytest.raises(FileNotFound):
        namespace.stat(me, "/g")


def test_a_first_attempt_always_runs_and_errors_are_not_cached(namespace: Namespace) -> None:
    me = SUPERUSER
    namespace.create(me, "/a", retry=first(1))
    with pytest.raises(FileAlreadyExists):
        namespace.create(me, "/a", retry=first(1))  # same id, retry count 0: a new call
    namespace.mkdirs(me, "/full/child")
    with pytest.raises(DirectoryNotEmpty):
        namespace.delete(me, "/full", retry=first(2))
    namespace.delete(me, "/full/child")
    assert namespace.delete(me, "/full", retry=resent(2)) is True  # the failure was not recorded


def test_another_client_never_sees_this_clients_answers(namespace: Namespace) -> None:
    me = SUPERUSER
    namespace.create(me, "/x", retry=first(1))
    with pytest.raises(FileAlreadyExists):
        namespace.create(me, "/x", retry=RetryKey(bytes(16), 1, 1))


def test_answers_expire(namespace: Namespace) -> None:
    me = SUPERUSER
    namespace.create(me, "/e", retry=first(1))
    later = int(time.time() * 1000) + limits.RETRY_CACHE_EXPIRY_MS + 1_000
    namespace.context.clock_ms = lambda: later
    with pytest.raises(FileAlreadyExists):
        namespace.create(me, "/e", retry=resent(1))  # expired: runs again
    namespace.expire_retry_cache()
    with namespace.store.session() as session:
        assert session.read_retry_result(CLIENT, 1, 0) is None


def test_a_large_subtree_delete_records_its_answer_with_its_last_step(
    namespace: Namespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "SUBTREE_TXN_INODES_MAX", 8)
    me = SUPERUSER
    for index in range(30):
        namespace.mkdirs(me, f"/big/d{index}")
    assert namespace.delete(me, "/big", recursive=True, retry=first(1)) is True
    assert namespace.delete(me, "/big", recursive=True, retry=resent(1)) is True
    assert namespace.delete(me, "/big", recursive=True, retry=resent(2)) is False


@pytest.mark.parametrize("value", [None, True, False])
def test_plain_answers_round_trip(value: bool | None) -> None:
    assert decode_result(encode_result(value)) is value


def test_small_file_calls_answer_a_resent_call_as_the_first(namespace: Namespace) -> None:
    # Catches: a re-sent createWithData that finds its own file (FileAlreadyExists) or creates it
    # again, and a re-sent appendInline refused by the lease its own first call took.
    me = SUPERUSER
    created = namespace.create_with_data(me, "/small", b"abc", retry=first(20))
    assert created.status is not None
    assert namespace.create_with_data(me, "/small", b"abc", retry=resent(20)) == created
    with pytest.raises(FileAlreadyExists):
        namespace.create_with_data(me, "/small", b"abc", retry=resent(21))  # a call id never seen
    assert namespace.read_with_metadata(me, "/small").data == b"abc"
    refused = namespace.create_with_data(me, "/big", b"x" * 70_000, retry=first(22))
    assert refused.status is None and not namespace.exists(me, "/big")

    opened = namespace.append_inline(me, "/small", "DFSClient_one")
    assert opened.data == b"abc"
    again = namespace.append_inline(me, "/small", "DFSClient_one")
    assert again.data == b"abc" and again.status.inode_id == opened.status.inode_id
    with pytest.raises(LeaseConflict):
        namespace.append_inline(me, "/small", "DFSClient_other")
    # completeWithData: a re-sent call after the file closed with these bytes answers stored again.
    created_open = namespace.create(me, "/streamed", holder="DFSClient_one")
    completed = namespace.complete_with_data(me, "/streamed", "DFSClient_one", created_open.inode_id, b"xyz")
    assert completed.stored
    again_completed = namespace.complete_with_data(
        me, "/streamed", "DFSClient_one", created_open.inode_id, b"xyz"
    )
    assert again_completed.stored
    assert namespace.read_with_metadata(me, "/streamed").data == b"xyz"
    namespace.mkdirs(me, "/tiny")
    namespace.set_inline_threshold(me, "/tiny", 2)
    big_open = namespace.create(me, "/tiny/over", holder="DFSClient_one")
    refused = namespace.complete_with_data(me, "/tiny/over", "DFSClient_one", big_open.inode_id, b"xyz")
    assert not refused.stored and refused.threshold_bytes == 2
    assert namespace.stat(me, "/tiny/over").under_construction  # left open for the block path

    # batchCreateWithData: a re-sent batch answers the statuses of the files its first call made.
    batch = [SmallFile(f"/batch/f{index}", b"b" * index) for index in range(5)]
    made = namespace.batch_create_with_data(me, batch, retry=first(30))
    assert isinstance(made, list) and len(made) == 5
    replayed = namespace.batch_create_with_data(me, batch, retry=resent(30))
    assert isinstance(replayed, list)
    assert [status.inode_id for status in replayed] == [status.inode_id for status in made]
    assert [status.size for status in replayed] == list(range(5))
    with pytest.raises(FileAlreadyExists):
        namespace.batch_create_with_data(me, batch, retry=resent(31))
