"""Property tests of replica storage: any packet sequence stores exactly its bytes and their per-chunk
checksums; any corrupted byte on disk is found by verification."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datanode.storage import ReplicaStore, StoreConfig
from datanode.storage.index import MemoryReplicaIndex
from datanode.storage.meta_file import META_HEADER_BYTES, encode_meta_header
from hopsfs.protocol.dtp_checksum import ChecksumSpec, ChecksumType, chunk_count, compute_checksums

specs = st.builds(
    ChecksumSpec, st.sampled_from([ChecksumType.CRC32, ChecksumType.CRC32C]), st.sampled_from([7, 64, 512])
)
# A packet: its size, and whether it is resent from the start of the partial chunk before it.
packets = st.lists(st.tuples(st.integers(1, 1500), st.booleans()), min_size=1, max_size=12)
PROPERTY_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@contextmanager
def _store() -> Iterator[tuple[ReplicaStore, Path]]:
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        config = StoreConfig((root / "volume",), "BP-prop", replica_bytes_expected=1 << 20)
        store = ReplicaStore.open(config, index=MemoryReplicaIndex())
        try:
            yield store, root / "volume"
        finally:
            store.close()


def _write(store: ReplicaStore, spec: ChecksumSpec, content: bytes, sizes: list[tuple[int, bool]]) -> None:
    store.create_rbw(1, 1, spec)
    offset = 0
    for size, resend in sizes:
        end = min(len(content), offset + size)
        start = offset - offset % spec.bytes_per_checksum if resend else offset
        piece = content[start:end]
        assert store.append(1, 1, start, piece, compute_checksums(spec, piece)) == end
        offset = end


@PROPERTY_SETTINGS
@given(spec=specs, sizes=packets, data=st.data())
def test_appends_store_the_concatenation_and_its_checksums(
    spec: ChecksumSpec, sizes: list[tuple[int, bool]], data: st.DataObject
) -> None:
    content = data.draw(st.binary(min_size=1, max_size=sum(size for size, _ in sizes)))
    with _store() as (store, volume_root):
        _write(store, spec, content, sizes)
        stored_length = store.get(1).length
        record = store.finalize(1, 1)
        data_file = volume_root / record.relative_path
        meta = data_file.with_name("blk_1_1.meta").read_bytes()
        assert data_file.read_bytes() == content[:stored_length]
        assert meta[:META_HEADER_BYTES] == encode_meta_header(spec)
        assert meta[META_HEADER_BYTES:] == compute_checksums(spec, content[:stored_length])
        assert len(meta) == META_HEADER_BYTES + 4 * chunk_count(stored_length, spec.bytes_per_checksum)
        assert store.verify(1) is None


@PROPERTY_SETTINGS
@given(spec=specs, content=st.binary(min_size=1, max_size=5000), data=st.data())
def test_verify_finds_any_corrupted_byte(spec: ChecksumSpec, content: bytes, data: st.DataObject) -> None:
    with _store() as (store, volume_root):
        _write(store, spec, content, [(len(content), False)])
        record = store.finalize(1, 1)
        in_meta = data.draw(st.booleans())
        data_file = volume_root / record.relative_path
        target = data_file.with_name("blk_1_1.meta") if in_meta else data_file
        low = META_HEADER_BYTES if in_meta else 0
        position = data.draw(st.integers(low, target.stat().st_size - 1))
        flip = data.draw(st.integers(1, 255))
        raw = bytearray(target.read_bytes())
        raw[position] ^= flip
        target.write_bytes(bytes(raw))
        chunk = (position - META_HEADER_BYTES) // 4 if in_meta else position // spec.bytes_per_checksum
        assert store.verify(1) == chunk * spec.bytes_per_checksum
