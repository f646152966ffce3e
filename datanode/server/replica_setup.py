"""The replica a write starts from, by BlockConstructionStage (Hadoop's FsDataset create/append/recover).

- PIPELINE_SETUP_CREATE, TRANSFER_RBW, TRANSFER_FINALIZED: a new replica being written, stamped with
  the block's generation stamp (a stale replica with an older stamp is replaced).
- PIPELINE_SETUP_APPEND: the finalized replica of exactly `minBytesRcvd` bytes is reopened with the
  stamp `latestGenerationStamp`.
- PIPELINE_SETUP_STREAMING_RECOVERY: the replica being written gets the new stamp and keeps the bytes
  the client saw acknowledged (`minBytesRcvd`); the client resends the rest.
- PIPELINE_SETUP_APPEND_RECOVERY: as APPEND for a finalized replica, as STREAMING_RECOVERY otherwise.
- PIPELINE_CLOSE_RECOVERY: all data was sent; the replica gets the new stamp and is finalized now.

Stamps: the replica's stamp must lie between the block's (the client's view) and the new one.
Blocking: runs in a pool thread, after any previous writer of the block was stopped.
"""

from __future__ import annotations

from dataclasses import dataclass

from datanode.server.statuses import RequestRefused
from datanode.storage import ReplicaRecord, ReplicaState, ReplicaStore
from datanode.storage.errors import (
    GenerationStampMismatch,
    InvalidReplicaOffset,
    ReplicaAlreadyExists,
    ReplicaNotWritable,
)
from hopsfs.invariants import check
from hopsfs.protocol.dtp_checksum import ChecksumSpec, ChecksumType
from hopsfs.protocol.dtp_wire import ERROR_INVALID
from hopsfs.protocol.proto.datatransfer_pb2 import OpWriteBlockProto

STAGES = OpWriteBlockProto
CREATE_STAGES = frozenset({STAGES.PIPELINE_SETUP_CREATE, STAGES.TRANSFER_RBW, STAGES.TRANSFER_FINALIZED})
RECOVERY_STAGES = frozenset(
    {
        STAGES.PIPELINE_SETUP_APPEND_RECOVERY,
        STAGES.PIPELINE_SETUP_STREAMING_RECOVERY,
        STAGES.PIPELINE_CLOSE_RECOVERY,
    }
)


@dataclass(frozen=True, slots=True)
class PreparedReplica:
    record: ReplicaRecord  # the replica the packets go to (finalized already for close recovery)
    created: bool  # new for this write: removed again if the pipeline cannot be set up
    finalize_at_end: bool  # False for TRANSFER_RBW, whose copy stays a replica being written
    closed: bool  # PIPELINE_CLOSE_RECOVERY: no packets follow


def stage_name(stage: int) -> str:
    return str(OpWriteBlockProto.BlockConstructionStage.Name(stage))


def check_write_checksum(spec: ChecksumSpec) -> None:
    """Writes must carry a real CRC: the stored checksums are what later detects corruption."""
    if spec.checksum_type is ChecksumType.NULL:
        raise RequestRefused("a write must carry CRC32 or CRC32C checksums, not NULL", ERROR_INVALID)


def prepare_replica(store: ReplicaStore, request: OpWriteBlockProto, spec: ChecksumSpec) -> PreparedReplica:
    """The replica this write continues (see the module docstring); errors are StorageError/RequestRefused."""
    stage = request.stage
    block = request.header.baseHeader.block
    block_id, genstamp = block.blockId, block.generationStamp
    latest, acked = request.latestGenerationStamp, request.minBytesRcvd
    if stage in CREATE_STAGES:
        record = _create(store, block_id, genstamp, spec)
        return PreparedReplica(record, True, stage != STAGES.TRANSFER_RBW, False)
    if stage in (STAGES.PIPELINE_SETUP_APPEND, STAGES.PIPELINE_SETUP_APPEND_RECOVERY):
        current = _current(store, block_id, genstamp, latest)
        if current.state is ReplicaState.FINALIZED:
            return PreparedReplica(_reopen(store, current, latest, acked, spec), False, True, False)
        if stage == STAGES.PIPELINE_SETUP_APPEND:
            raise ReplicaNotWritable(f"blk_{block_id} is still being written: append needs a finalized one")
        return PreparedReplica(_recover_rbw(store, current, latest, acked, spec), False, True, False)
    if stage == STAGES.PIPELINE_SETUP_STREAMING_RECOVERY:
        current = _current(store, block_id, genstamp, latest)
        if current.state is not ReplicaState.RBW:
            raise ReplicaNotWritable(f"blk_{block_id} is finalized: nothing to recover")
        return PreparedReplica(_recover_rbw(store, current, latest, acked, spec), False, True, False)
    if stage == STAGES.PIPELINE_CLOSE_RECOVERY:
        current = _current(store, block_id, genstamp, latest)
        return PreparedReplica(_recover_close(store, current, latest, acked), False, False, True)
    raise RequestRefused(f"stage {stage_name(stage)} cannot start a write", ERROR_INVALID)


def _create(store: ReplicaStore, block_id: int, genstamp: int, spec: ChecksumSpec) -> ReplicaRecord:
    try:
        return store.create_rbw(block_id, genstamp, spec)
    except ReplicaAlreadyExists:
        existing = store.get(block_id)
        if existing.genstamp >= genstamp:
            raise
    # A leftover of an older generation (a failed pipeline, a replica the namenode gave up on).
    store.delete(block_id)
    return store.create_rbw(block_id, genstamp, spec)


def _current(store: ReplicaStore, block_id: int, genstamp: int, latest: int) -> ReplicaRecord:
    record = store.get(block_id)
    if not genstamp <= record.genstamp <= latest:
        raise GenerationStampMismatch(
            f"blk_{block_id}: replica stamp {record.genstamp} is not between {genstamp} and {latest}"
        )
    return record


def _check_same_checksum(store: ReplicaStore, record: ReplicaRecord, spec: ChecksumSpec) -> None:
    with store.open_for_read(record.block_id, record.genstamp) as reader:
        stored = reader.spec
    if stored != spec:
        raise RequestRefused(
            f"blk_{record.block_id} is stored with {stored}, the write asks for {spec}", ERROR_INVALID
        )


def _reopen(
    store: ReplicaStore, record: ReplicaRecord, latest: int, acked: int, spec: ChecksumSpec
) -> ReplicaRecord:
    if record.length != acked:
        raise InvalidReplicaOffset(
            f"blk_{record.block_id} has {record.length} bytes, the append expects {acked}"
        )
    _check_same_checksum(store, record, spec)
    reopened = store.reopen_finalized(record.block_id, record.genstamp, latest)
    check(reopened.state is ReplicaState.RBW, "a reopened replica is being written")
    return reopened


def _recover_rbw(
    store: ReplicaStore, record: ReplicaRecord, latest: int, acked: int, spec: ChecksumSpec
) -> ReplicaRecord:
    if record.length < acked:
        raise InvalidReplicaOffset(
            f"blk_{record.block_id} has {record.length} bytes, fewer than the {acked} acknowledged"
        )
    _check_same_checksum(store, record, spec)
    if record.genstamp != latest:
        record = store.update_genstamp(record.block_id, record.genstamp, latest)
    if record.length > acked:
        record = store.truncate(record.block_id, latest, acked)
    check(record.length == acked, "a recovered replica keeps exactly the acknowledged bytes")
    return record


def _recover_close(store: ReplicaStore, record: ReplicaRecord, latest: int, acked: int) -> ReplicaRecord:
    if record.length < acked or (record.state is ReplicaState.FINALIZED and record.length != acked):
        raise InvalidReplicaOffset(
            f"blk_{record.block_id} has {record.length} bytes, the close recovery expects {acked}"
        )
    if record.genstamp != latest:
        record = store.update_genstamp(record.block_id, record.genstamp, latest)
    if record.state is ReplicaState.RBW:
        if record.length > acked:
            store.truncate(record.block_id, latest, acked)
        record = store.finalize(record.block_id, latest)
    return record
