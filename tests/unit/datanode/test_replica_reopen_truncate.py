"""Extensions of ReplicaStore for appends and recovery: reopening a finalized replica and cutting a
replica being written, with their checksums, capacity accounting and crash order."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support.replicas import BLOCK_POOL_ID, StoreFactory, checksums_of

from datanode.storage import ReplicaState, ReplicaStore, StoreConfig
from datanode.storage.errors import (
    GenerationStampMismatch,
    InvalidReplicaOffset,
    ReplicaCorrupt,
    ReplicaNotWritable,
)
from datanode.storage.layout import fanout_subdir
from datanode.storage.meta_file import META_HEADER_BYTES

DATA = bytes(range(256)) * 9  # 2304 bytes: 4 whole chunks and a partial one


def _finalized(store_factory: StoreFactory, block_id: int = 7, genstamp: int = 1) -> ReplicaStore:
    store = store_factory()
    store.create_rbw(block_id, genstamp)
    store.append(block_id, genstamp, 0, DATA, checksums_of(DATA))
    store.finalize(block_id, genstamp)
    return store


def test_reopen_moves_a_finalized_replica_back_with_its_new_stamp(store_factory: StoreFactory) -> None:
    store = _finalized(store_factory)
    used_before = sum(capacity.used_bytes for capacity in store.capacities())
    reopened = store.reopen_finalized(7, 1, 2)
    assert (reopened.state, reopened.genstamp, reopened.length) == (ReplicaState.RBW, 2, len(DATA))
    assert "/rbw/blk_7" in str(reopened.relative_path)
    # Continue mid-chunk; the partial chunk's checksum is recomputed over the old bytes plus the new.
    more = b"z" * 1000
    store.append(7, 2, len(DATA), more, checksums_of(more))
    final = store.finalize(7, 2)
    assert final.length == len(DATA) + 1000
    with store.open_for_read(7, 2) as reader:
        assert reader.read(0, final.length, verify=True).data == DATA + more
    assert sum(capacity.used_bytes for capacity in store.capacities()) > used_before
    reopened_store = store_factory()  # the index knows the new state after a restart
    assert reopened_store.get(7) == final


def test_reopen_errors(store_factory: StoreFactory) -> None:
    store = _finalized(store_factory)
    with pytest.raises(GenerationStampMismatch):
        store.reopen_finalized(7, 2, 3)  # not the replica's stamp
    with pytest.raises(GenerationStampMismatch):
        store.reopen_finalized(7, 1, 0)  # a stamp going backwards
    store.reopen_finalized(7, 1, 1)  # the same stamp is allowed
    with pytest.raises(ReplicaNotWritable):
        store.reopen_finalized(7, 1, 2)  # already being written


@pytest.mark.parametrize("length", [0, 512, 1000, 2048, 2303, len(DATA)])
def test_truncate_keeps_a_prefix_with_valid_checksums(store_factory: StoreFactory, length: int) -> None:
    store = store_factory()
    store.create_rbw(8, 3)
    store.append(8, 3, 0, DATA, checksums_of(DATA))
    cut = store.truncate(8, 3, length)
    assert cut.length == length == store.get(8).length
    assert store.verify(8) is None
    with store.open_for_read(8, 3) as reader:
        assert reader.read(0, length, verify=True).data == DATA[:length]
    # Writing continues at the cut, and the result verifies after finalize.
    store.append(8, 3, length, DATA[length:], checksums_of(DATA[length:]))
    store.finalize(8, 3)
    assert store.verify(8) is None


def test_truncate_refuses_to_grow_and_to_cut_inside_a_corrupt_chunk(
    store_factory: StoreFactory, tmp_path: Path
) -> None:
    store = store_factory()
    store.create_rbw(9, 1)
    store.append(9, 1, 0, DATA, checksums_of(DATA))
    with pytest.raises(InvalidReplicaOffset):
        store.truncate(9, 1, len(DATA) + 1)
    (data_file,) = tmp_path.rglob("blk_9")
    with data_file.open("r+b") as stream:
        stream.seek(1030)
        stream.write(b"\x00")  # chunk 2 ([1024, 1536)) no longer matches its checksum
    with pytest.raises(ReplicaCorrupt):
        store.truncate(9, 1, 1100)  # a fresh checksum would hide the damage
    assert store.get(9).length == len(DATA)
    store.truncate(9, 1, 1024)  # a cut at a chunk boundary before the damage is fine
    assert store.verify(9) is None


def test_a_crash_between_the_two_reopen_renames_leaves_the_replica_finalized(tmp_path: Path) -> None:
    config = StoreConfig((tmp_path / "volume0",), BLOCK_POOL_ID, replica_bytes_expected=1 << 20)
    store = ReplicaStore.open(config)
    store.create_rbw(12, 4)
    store.append(12, 4, 0, DATA, checksums_of(DATA))
    store.finalize(12, 4)
    store.close()
    pool = tmp_path / "volume0" / "current" / BLOCK_POOL_ID
    # What reopen_finalized did before the crash: only the data file moved to rbw/.
    os.rename(pool / "finalized" / fanout_subdir(12) / "blk_12", pool / "rbw" / "blk_12")
    reopened = ReplicaStore.open(config)
    record = reopened.get(12)
    assert (record.state, record.genstamp, record.length) == (ReplicaState.FINALIZED, 4, len(DATA))
    assert reopened.verify(12) is None
    reopened.close()


def test_a_crash_after_the_cut_checksum_was_written_recovers_the_cut_length(tmp_path: Path) -> None:
    config = StoreConfig((tmp_path / "volume0",), BLOCK_POOL_ID, replica_bytes_expected=1 << 20)
    store = ReplicaStore.open(config)
    store.create_rbw(13, 1)
    store.append(13, 1, 0, DATA, checksums_of(DATA))
    store.close()
    pool = tmp_path / "volume0" / "current" / BLOCK_POOL_ID
    # What truncate(13, 1, 2100) writes first: chunk 4's checksum over the 52 bytes kept. Then a crash.
    with (pool / "rbw" / "blk_13_1.meta").open("r+b") as meta:
        meta.seek(META_HEADER_BYTES + 4 * 4)
        meta.write(checksums_of(DATA[2048:2100]))
    recovered = ReplicaStore.open(config)
    assert recovered.get(13).length == 2100
    assert recovered.verify(13) is None
    recovered.close()
