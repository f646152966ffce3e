"""ReplicaStore: the datanode's replicas on its local volumes, with no network code.

Operations: create_rbw, append, sync, finalize, open_for_read, delete, update_genstamp, get,
block_report, verify, capacities; for appends and recovery: reopen_finalized (finalized -> being
written again) and truncate (cut a replica being written to a length). All are blocking (an asyncio
server runs them in a thread pool) and thread-safe: `_lock` guards the replica map and state
transitions, each writer's own lock serializes the appends to its replica, so packets of different
blocks are written in parallel.

Generation stamps: writes (append, sync, finalize) and update_genstamp name the replica's exact
stamp; a read may name an older one (Hadoop accepts a replica whose stamp is at least the reader's).

Crash safety (see reconcile.py for restart): finalize fsyncs both files, renames meta then data from
rbw/ into the finalized leaf, fsyncs both directories, then records the new state durably; any crash
point leaves either a replica being written whose verified prefix is recovered, or a finalized one
(rolled forward when only the meta file had moved).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from datanode.storage.errors import (
    GenerationStampMismatch,
    ReplicaAlreadyExists,
    ReplicaNotFound,
    ReplicaNotWritable,
)
from datanode.storage.fsync import fsync_directory, pread_all
from datanode.storage.index import ReplicaIndex, open_default_index
from datanode.storage.layout import meta_file_name
from datanode.storage.meta_file import META_HEADER_BYTES, decode_meta_header, meta_file_length
from datanode.storage.reader import ReplicaReader
from datanode.storage.reconcile import ReconcileReport, reconcile
from datanode.storage.replica import ReplicaRecord, ReplicaState
from datanode.storage.replica_files import (
    create_rbw_files,
    data_path,
    meta_path,
    move_replica_files,
    relative_to_volume,
    remove_if_present,
    reopen_replica_files,
)
from datanode.storage.volume import Volume, VolumeCapacity
from datanode.storage.volume_choice import MostAvailableChoice, RoundRobinChoice, VolumeChoicePolicy
from datanode.storage.writer import BytesLike, ReplicaWriter
from hopsfs.invariants import check
from hopsfs.limits import BLOCK_SIZE_BYTES_DEFAULT
from hopsfs.protocol.dtp_checksum import (
    DEFAULT_CHECKSUM_FUNCTIONS,
    ChecksumFunctions,
    ChecksumSpec,
    ChecksumType,
)

DEFAULT_REPLICA_SPEC = ChecksumSpec(ChecksumType.CRC32C)
INDEX_DIRECTORY = "replica-index"


@dataclass(frozen=True, slots=True)
class StoreConfig:
    volume_paths: tuple[Path, ...]
    block_pool_id: str
    index_path: Path | None = None  # default: <first volume>/current/<block pool>/replica-index
    reserve_bytes: int = 0  # per volume, left free for other users of the disk
    choice: str = "round-robin"  # or "most-available"
    replica_bytes_expected: int = BLOCK_SIZE_BYTES_DEFAULT  # room promised to each replica being written
    full_scan: bool = False  # also scan finalized/ (after losing the index)


class ReplicaStore:
    def __init__(
        self,
        volumes: Sequence[Volume],
        index: ReplicaIndex,
        records: dict[int, ReplicaRecord],
        choice: VolumeChoicePolicy,
        replica_bytes_expected: int,
        functions: ChecksumFunctions = DEFAULT_CHECKSUM_FUNCTIONS,
    ) -> None:
        check(len(volumes) > 0, "a store has at least one volume")
        check(replica_bytes_expected > 0, "replicas are promised a positive size")
        self._volumes = list(volumes)
        self._volumes_by_id = {volume.volume_id: volume for volume in volumes}
        self._index = index
        self._records = records
        self._choice = choice
        self._replica_bytes_expected = replica_bytes_expected
        self._functions = functions
        self._lock = threading.Lock()
        self._writers: dict[int, ReplicaWriter] = {}
        self._specs: dict[int, ChecksumSpec] = {}  # of replicas being written, read once
        self._promised: dict[int, int] = {}
        self.reconcile_report = ReconcileReport()
        for record in records.values():
            self._account_opened(record)

    @classmethod
    def open(
        cls,
        config: StoreConfig,
        index: ReplicaIndex | None = None,
        functions: ChecksumFunctions = DEFAULT_CHECKSUM_FUNCTIONS,
    ) -> ReplicaStore:
        """Open the volumes, the index (rocksdict unless one is given), and reconcile them."""
        volumes = [
            Volume.open(path, config.block_pool_id, config.reserve_bytes) for path in config.volume_paths
        ]
        if index is None:
            index_path = config.index_path or volumes[0].directories.root / INDEX_DIRECTORY
            index = open_default_index(index_path)
        check(config.choice in ("round-robin", "most-available"), "a known volume choice policy")
        records, report = reconcile(volumes, index, functions, config.full_scan)
        choice: VolumeChoicePolicy = (
            MostAvailableChoice() if config.choice == "most-available" else RoundRobinChoice()
        )
        store = cls(volumes, index, records, choice, config.replica_bytes_expected, functions)
        store.reconcile_report = report
        return store

    def create_rbw(
        self, block_id: int, genstamp: int, spec: ChecksumSpec = DEFAULT_REPLICA_SPEC
    ) -> ReplicaRecord:
        """A new, empty replica being written, on the volume the choice policy picks."""
        with self._lock:
            if block_id in self._records:
                raise ReplicaAlreadyExists(f"blk_{block_id} already has a replica here")
            volume = self._choice.choose(self._volumes, self._replica_bytes_expected)
            data = create_rbw_files(volume, block_id, genstamp, spec)
            relative = relative_to_volume(volume, data)
            record = ReplicaRecord(block_id, ReplicaState.RBW, genstamp, 0, volume.volume_id, relative)
            self._index.put(record, durable=True)
            self._records[block_id] = record
            self._specs[block_id] = spec
            self._account_opened(record)
            return record

    def append(
        self,
        block_id: int,
        genstamp: int,
        offset: int,
        data: BytesLike,
        checksums: BytesLike,
        verify: bool = True,
    ) -> int:
        """Write one packet (data and its per-chunk checksums) at `offset`; return the new length."""
        writer, volume = self._writer_for(block_id, genstamp)
        with writer.lock:
            if writer.closed:
                raise ReplicaNotWritable(f"blk_{block_id} was finalized or deleted during the write")
            length_before = writer.length
            length_after = writer.append(offset, data, checksums, verify)
        volume.add_used(_charged_bytes(length_after) - _charged_bytes(length_before))
        return length_after

    def sync(self, block_id: int, genstamp: int) -> None:
        """Make the replica's bytes so far durable (hsync). Without it they survive a process kill."""
        writer, _ = self._writer_for(block_id, genstamp)
        with writer.lock:
            if writer.closed:
                raise ReplicaNotWritable(f"blk_{block_id} was finalized or deleted during the sync")
            writer.sync()

    def finalize(self, block_id: int, genstamp: int) -> ReplicaRecord:
        """fsync, move rbw/ -> finalized/, record it durably. The replica is then immutable."""
        with self._lock:
            record = self._writable(block_id, genstamp)
            volume = self._volumes_by_id[record.volume_id]
            writer = self._open_writer(record, volume)
            with writer.lock:
                writer.sync()
                length = writer.length
                writer.close()
            del self._writers[block_id]
            leaf = volume.directories.finalized_leaf(block_id)
            new_data, _ = move_replica_files(data_path(volume, record), meta_path(volume, record), leaf)
            finalized = replace(
                record,
                state=ReplicaState.FINALIZED,
                length=length,
                relative_path=relative_to_volume(volume, new_data),
            )
            self._index.put(finalized, durable=True)
            self._records[block_id] = finalized
            self._specs.pop(block_id, None)
            volume.promise(-self._promised.pop(block_id, 0))
            return finalized

    def open_for_read(self, block_id: int, genstamp: int) -> ReplicaReader:
        """A reader of the replica's current bytes; its generation stamp must be at least `genstamp`."""
        with self._lock:
            record = self._current(block_id)
            if record.genstamp < genstamp:
                raise GenerationStampMismatch(
                    f"blk_{block_id}: replica generation stamp {record.genstamp} is older than {genstamp}"
                )
            volume = self._volumes_by_id[record.volume_id]
            spec = self._spec_of(record, volume)
            return ReplicaReader(
                record, data_path(volume, record), meta_path(volume, record), spec, self._functions
            )

    def delete(self, block_id: int, to_trash: bool = False) -> bool:
        """Remove the replica (or move it to trash); False when there was none. Idempotent."""
        with self._lock:
            if block_id not in self._records:
                return False
            record = self._current(block_id)
            volume = self._volumes_by_id[record.volume_id]
            writer = self._writers.pop(block_id, None)
            if writer is not None:
                with writer.lock:
                    writer.close()
            data, meta = data_path(volume, record), meta_path(volume, record)
            # Files before the index entry: a crash in between leaves an entry reconcile drops.
            if to_trash:
                move_replica_files(data, meta, volume.directories.trash_leaf(block_id))
            else:
                remove_if_present(data)
                remove_if_present(meta)
            self._index.delete(block_id, durable=True)
            del self._records[block_id]
            self._specs.pop(block_id, None)
            volume.add_used(-_charged_bytes(record.length))
            volume.promise(-self._promised.pop(block_id, 0))
            return True

    def update_genstamp(self, block_id: int, genstamp: int, new_genstamp: int) -> ReplicaRecord:
        """Give the replica a newer generation stamp (pipeline and lease recovery): renames its meta file."""
        with self._lock:
            record = self._exact(block_id, genstamp)
            if new_genstamp <= genstamp:
                raise GenerationStampMismatch(
                    f"blk_{block_id}: new stamp {new_genstamp} is not after {genstamp}"
                )
            volume = self._volumes_by_id[record.volume_id]
            old_meta = meta_path(volume, record)
            new_meta = old_meta.with_name(meta_file_name(block_id, new_genstamp))
            old_meta.rename(new_meta)
            fsync_directory(new_meta.parent)
            updated = replace(self._current(block_id), genstamp=new_genstamp)
            self._index.put(updated, durable=True)
            self._records[block_id] = replace(record, genstamp=new_genstamp)
            return updated

    def reopen_finalized(self, block_id: int, genstamp: int, new_genstamp: int) -> ReplicaRecord:
        """A finalized replica becomes one being written again (append), stamped `new_genstamp`.

        `new_genstamp` may equal the current stamp (a client that appends without a new stamp). The
        files move back to rbw/ (see `reopen_replica_files` for the crash order) and the new state is
        recorded durably; writes then continue at the replica's length.
        """
        with self._lock:
            record = self._exact(block_id, genstamp)
            if record.state is not ReplicaState.FINALIZED:
                raise ReplicaNotWritable(f"blk_{block_id} is being written, not finalized")
            if new_genstamp < genstamp:
                raise GenerationStampMismatch(
                    f"blk_{block_id}: new stamp {new_genstamp} is older than {genstamp}"
                )
            volume = self._volumes_by_id[record.volume_id]
            new_data = reopen_replica_files(
                block_id,
                data_path(volume, record),
                meta_path(volume, record),
                volume.directories.rbw,
                new_genstamp,
            )
            reopened = replace(
                record,
                state=ReplicaState.RBW,
                genstamp=new_genstamp,
                relative_path=relative_to_volume(volume, new_data),
            )
            self._index.put(reopened, durable=True)
            self._records[block_id] = reopened
            promised = max(0, self._replica_bytes_expected - record.length)
            self._promised[block_id] = promised
            volume.promise(promised)
            check(reopened.length == record.length, "reopening keeps every byte")
            return reopened

    def truncate(self, block_id: int, genstamp: int, length: int) -> ReplicaRecord:
        """Cut a replica being written to `length` bytes (recovery); its last partial chunk is
        re-checksummed. InvalidReplicaOffset when `length` is past its end."""
        writer, volume = self._writer_for(block_id, genstamp)
        with writer.lock:
            if writer.closed:
                raise ReplicaNotWritable(f"blk_{block_id} was finalized or deleted during the truncate")
            length_before = writer.length
            writer.truncate(length)
        volume.add_used(_charged_bytes(length) - _charged_bytes(length_before))
        with self._lock:
            record = self._exact(block_id, genstamp)
            cut = replace(record, length=length)
            self._index.put(cut, durable=True)
            self._records[block_id] = cut
            return cut

    def get(self, block_id: int) -> ReplicaRecord:
        """The replica's record, with the live length of a replica being written."""
        with self._lock:
            return self._current(block_id)

    def block_report(self) -> list[ReplicaRecord]:
        """Every replica, finalized and being written, with lengths and generation stamps."""
        with self._lock:
            return [self._current(block_id) for block_id in sorted(self._records)]

    def verify(self, block_id: int) -> int | None:
        """Check every chunk of the replica: the block offset of the first bad chunk, or None."""
        record = self.get(block_id)
        with self.open_for_read(block_id, record.genstamp) as reader:
            bad_chunk = reader.first_bad_chunk()
            return None if bad_chunk is None else bad_chunk * reader.spec.bytes_per_checksum

    def capacities(self) -> list[VolumeCapacity]:
        return [volume.capacity() for volume in self._volumes]

    def close(self) -> None:
        with self._lock:
            for writer in self._writers.values():
                with writer.lock:
                    writer.close()
            self._writers.clear()
            self._index.close()

    def _writer_for(self, block_id: int, genstamp: int) -> tuple[ReplicaWriter, Volume]:
        with self._lock:
            record = self._writable(block_id, genstamp)
            volume = self._volumes_by_id[record.volume_id]
            return self._open_writer(record, volume), volume

    def _open_writer(self, record: ReplicaRecord, volume: Volume) -> ReplicaWriter:
        """The replica's writer, opened on first use (after a restart it starts at the recovered length)."""
        writer = self._writers.get(record.block_id)
        if writer is None:
            spec = self._spec_of(record, volume)
            writer = ReplicaWriter(
                record.block_id,
                data_path(volume, record),
                meta_path(volume, record),
                spec,
                record.length,
                self._functions,
            )
            self._writers[record.block_id] = writer
        return writer

    def _writable(self, block_id: int, genstamp: int) -> ReplicaRecord:
        record = self._exact(block_id, genstamp)
        if record.state is not ReplicaState.RBW:
            raise ReplicaNotWritable(f"blk_{block_id} is {record.state.name.lower()}, not being written")
        return record

    def _exact(self, block_id: int, genstamp: int) -> ReplicaRecord:
        record = self._records.get(block_id)
        if record is None:
            raise ReplicaNotFound(f"blk_{block_id}: no replica on this datanode")
        if record.genstamp != genstamp:
            raise GenerationStampMismatch(
                f"blk_{block_id}: replica has stamp {record.genstamp}, not {genstamp}"
            )
        return record

    def _current(self, block_id: int) -> ReplicaRecord:
        record = self._records.get(block_id)
        if record is None:
            raise ReplicaNotFound(f"blk_{block_id}: no replica on this datanode")
        writer = self._writers.get(block_id)
        if writer is not None and writer.length != record.length:
            return replace(record, length=writer.length)
        return record

    def _spec_of(self, record: ReplicaRecord, volume: Volume) -> ChecksumSpec:
        spec = self._specs.get(record.block_id)
        if spec is None:
            spec = _read_spec(meta_path(volume, record))
            if record.state is ReplicaState.RBW:
                self._specs[record.block_id] = spec
        return spec

    def _account_opened(self, record: ReplicaRecord) -> None:
        volume = self._volumes_by_id[record.volume_id]
        volume.add_used(_charged_bytes(record.length))
        if record.state is ReplicaState.RBW:
            promised = max(0, self._replica_bytes_expected - record.length)
            self._promised[record.block_id] = promised
            volume.promise(promised)


def _read_spec(meta: Path) -> ChecksumSpec:
    with meta.open("rb") as stream:
        return decode_meta_header(pread_all(stream.fileno(), META_HEADER_BYTES, 0), str(meta))


def _charged_bytes(length: int) -> int:
    """Bytes a replica of `length` data bytes uses: data plus its meta file at the default chunk size.

    One function of the length alone, so what append adds, delete subtracts exactly.
    """
    return length + meta_file_length(length, DEFAULT_REPLICA_SPEC)
