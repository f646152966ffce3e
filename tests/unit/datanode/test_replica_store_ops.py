"""ReplicaStore operations and the errors bad input gets, on both index implementations."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

import pytest
from support.replicas import StoreFactory, checksums_of

from datanode.storage import ReplicaState, ReplicaStore
from datanode.storage.errors import (
    GenerationStampMismatch,
    InvalidReplicaOffset,
    MalformedPacket,
    ReplicaAlreadyExists,
    ReplicaChecksumError,
    ReplicaCorrupt,
    ReplicaNotFound,
    ReplicaNotWritable,
)
from datanode.storage.meta_file import META_HEADER_BYTES

DATA = bytes(range(256)) * 9  # 2304 bytes: 4 whole chunks and a partial one


def _write(
    store_factory: StoreFactory, block_id: int = 7, genstamp: int = 1, data: bytes = DATA
) -> ReplicaStore:
    store = store_factory()
    store.create_rbw(block_id, genstamp)
    store.append(block_id, genstamp, 0, data, checksums_of(data))
    return store


def test_create_append_finalize_read(store_factory: StoreFactory) -> None:
    store = _write(store_factory)
    assert store.get(7).state is ReplicaState.RBW
    assert store.get(7).length == len(DATA)
    finalized = store.finalize(7, 1)
    assert finalized.state is ReplicaState.FINALIZED
    assert "finalized/subdir0/subdir0/blk_7" in str(finalized.relative_path)
    with store.open_for_read(7, 1) as reader:
        whole = reader.read(0, len(DATA), verify=True)
        assert whole.data == DATA
        assert whole.checksums == checksums_of(DATA)
        middle = reader.read(1000, 100)
        assert middle.chunk_offset == 512
        assert middle.data == DATA[512:1536]
        assert middle.checksums == checksums_of(DATA[512:1536])
        tail = reader.read(2300, 4)
        assert (tail.chunk_offset, tail.data) == (2048, DATA[2048:])
        region = reader.data_region(1000, 100)
        assert (region.chunk_offset, region.count) == (512, 1024)
        assert os.pread(region.descriptor, region.count, region.chunk_offset) == DATA[512:1536]
    assert store.verify(7) is None


def test_read_of_replica_being_written_sees_appended_bytes(store_factory: StoreFactory) -> None:
    store = _write(store_factory)
    with store.open_for_read(7, 1) as reader:
        assert reader.read(0, len(DATA)).data == DATA


def test_packets_continuing_a_partial_chunk(store_factory: StoreFactory) -> None:
    store = store_factory()
    store.create_rbw(9, 1)
    # Continue at the block's end, mid-chunk (wire checksums start at the packet's first byte).
    store.append(9, 1, 0, DATA[:700], checksums_of(DATA[:700]))
    store.append(9, 1, 700, DATA[700:1000], checksums_of(DATA[700:1000]))
    # Resend from the partial chunk's start, as HDFS clients do after hflush: the overlap is skipped.
    store.append(9, 1, 512, DATA[512:1800], checksums_of(DATA[512:1800]))
    store.append(9, 1, 1800, DATA[1800:], checksums_of(DATA[1800:]))
    store.sync(9, 1)
    store.finalize(9, 1)
    with store.open_for_read(9, 1) as reader:
        stored = reader.read(0, len(DATA), verify=True)
    assert stored.data == DATA
    assert stored.checksums == checksums_of(DATA)


def test_resend_of_stored_bytes_changes_nothing(store_factory: StoreFactory) -> None:
    store = _write(store_factory)
    assert store.append(7, 1, 1024, DATA[1024:], checksums_of(DATA[1024:])) == len(DATA)
    assert store.verify(7) is None


def test_write_errors(store_factory: StoreFactory) -> None:
    store = _write(store_factory)
    with pytest.raises(ReplicaAlreadyExists):
        store.create_rbw(7, 1)
    with pytest.raises(ReplicaNotFound):
        store.append(8, 1, 0, b"x", checksums_of(b"x"))
    with pytest.raises(GenerationStampMismatch):
        store.append(7, 2, len(DATA), b"x", checksums_of(b"x"))
    with pytest.raises(InvalidReplicaOffset):
        store.append(7, 1, -1, b"x", checksums_of(b"x"))
    with pytest.raises(InvalidReplicaOffset):
        store.append(7, 1, len(DATA) + 1, b"x", checksums_of(b"x"))
    with pytest.raises(MalformedPacket):
        store.append(7, 1, len(DATA), b"x" * 600, checksums_of(b"x"))
    bad = bytearray(checksums_of(b"y" * 1024))
    bad[5] ^= 1
    with pytest.raises(ReplicaChecksumError) as caught:
        store.append(7, 1, len(DATA), b"y" * 1024, bytes(bad))
    assert caught.value.offset_in_block == len(DATA) + 512
    assert store.get(7).length == len(DATA)  # nothing of the bad packet was stored
    store.finalize(7, 1)
    with pytest.raises(ReplicaNotWritable):
        store.append(7, 1, len(DATA), b"x", checksums_of(b"x"))
    with pytest.raises(ReplicaNotWritable):
        store.finalize(7, 1)


def test_unverified_append_trusts_the_sender(store_factory: StoreFactory) -> None:
    store = store_factory()
    store.create_rbw(3, 1)
    store.append(3, 1, 0, DATA, bytes(len(checksums_of(DATA))), verify=False)
    assert store.verify(3) == 0


def test_read_errors(store_factory: StoreFactory) -> None:
    store = _write(store_factory)
    store.finalize(7, 1)
    with pytest.raises(ReplicaNotFound):
        store.open_for_read(99, 1)
    with pytest.raises(GenerationStampMismatch):
        store.open_for_read(7, 2)
    with store.open_for_read(7, 0) as reader:  # an older stamp may read a newer replica
        for offset, length in [(-1, 1), (0, -1), (len(DATA), 1), (len(DATA) - 1, 2)]:
            with pytest.raises(InvalidReplicaOffset):
                reader.read(offset, length)
        assert reader.read(len(DATA), 0).data == b""


def test_delete_is_idempotent_and_can_keep_trash(store_factory: StoreFactory) -> None:
    store = _write(store_factory)
    store.finalize(7, 1)
    _write_more = store.create_rbw(8, 1)
    assert _write_more.length == 0
    used_before = sum(capacity.used_bytes for capacity in store.capacities())
    assert used_before > len(DATA)
    assert store.delete(7, to_trash=True)
    assert store.delete(8)
    assert not store.delete(7)
    assert sum(capacity.used_bytes for capacity in store.capacities()) == 0
    with pytest.raises(ReplicaNotFound):
        store.get(7)
    assert store.block_report() == []
    reopened = store_factory()
    assert reopened.block_report() == []


def test_update_genstamp_renames_meta_and_survives_restart(store_factory: StoreFactory) -> None:
    store = _write(store_factory)
    with pytest.raises(GenerationStampMismatch):
        store.update_genstamp(7, 1, 1)
    with pytest.raises(GenerationStampMismatch):
        store.update_genstamp(7, 5, 6)
    updated = store.update_genstamp(7, 1, 4)
    assert updated.genstamp == 4
    assert updated.length == len(DATA)
    store.append(7, 4, len(DATA), b"z", checksums_of(b"z"))
    store.finalize(7, 4)
    reopened = store_factory()
    assert [(r.block_id, r.genstamp, r.length) for r in reopened.block_report()] == [(7, 4, len(DATA) + 1)]
    assert reopened.verify(7) is None


def test_block_report_lists_both_states(store_factory: StoreFactory) -> None:
    store = _write(store_factory)
    store.finalize(7, 1)
    store.create_rbw(-2, 3)
    store.append(-2, 3, 0, b"abc", checksums_of(b"abc"))
    report = {(r.block_id, r.state, r.genstamp, r.length) for r in store.block_report()}
    assert report == {(7, ReplicaState.FINALIZED, 1, len(DATA)), (-2, ReplicaState.RBW, 3, 3)}
    reopened = store_factory()
    assert {(r.block_id, r.state, r.genstamp, r.length) for r in reopened.block_report()} == report
    # A replica being written continues after a restart, from its recovered length.
    reopened.append(-2, 3, 3, b"de", checksums_of(b"de"))
    assert reopened.get(-2).length == 5


def _data_file(tmp_path: Path, relative_path: PurePosixPath) -> Path:
    (found,) = [path for path in tmp_path.glob(f"volume*/{relative_path}")]
    return found


def test_verify_finds_a_corrupted_byte(store_factory: StoreFactory, tmp_path: Path) -> None:
    store = _write(store_factory)
    record = store.finalize(7, 1)
    with _data_file(tmp_path, record.relative_path).open("r+b") as stream:
        stream.seek(1500)
        byte = stream.read(1)
        stream.seek(1500)
        stream.write(bytes([byte[0] ^ 0x40]))
    assert store.verify(7) == 1024
    with store.open_for_read(7, 1) as reader, pytest.raises(ReplicaCorrupt):
        reader.read(1400, 10, verify=True)


def test_meta_header_on_disk(store_factory: StoreFactory, tmp_path: Path) -> None:
    store = _write(store_factory)
    data_file = _data_file(tmp_path, store.get(7).relative_path)
    meta = data_file.with_name("blk_7_1.meta").read_bytes()
    assert meta[:META_HEADER_BYTES] == b"\x00\x01\x02\x00\x00\x02\x00"
    assert meta[META_HEADER_BYTES:] == checksums_of(DATA)
