"""Datanode values as datanode_namenode.proto messages."""

from __future__ import annotations

from collections.abc import Iterable

from datanode.storage import ReplicaRecord, ReplicaState
from datanode.storage.volume import VolumeCapacity
from hopsfs.protocol.proto.datanode_namenode_pb2 import ReplicaProto, StorageReportProto

_STATES = {ReplicaState.FINALIZED: ReplicaProto.FINALIZED, ReplicaState.RBW: ReplicaProto.RBW}
_UINT64_MASK = 2**64 - 1


def replica_proto(record: ReplicaRecord) -> ReplicaProto:
    """A replica as reported; block ids are signed in Hadoop and travel as their 64 bits."""
    return ReplicaProto(
        blockId=record.block_id & _UINT64_MASK,
        generationStamp=record.genstamp,
        numBytes=record.length,
        state=_STATES[record.state],
    )


def deleted_replica_proto(block_id: int) -> ReplicaProto:
    return ReplicaProto(
        blockId=block_id & _UINT64_MASK, generationStamp=0, numBytes=0, state=ReplicaProto.FINALIZED
    )


def storage_report(capacities: Iterable[VolumeCapacity]) -> StorageReportProto:
    """The sum over the volumes: capacity, bytes used by replicas, bytes a new replica may use."""
    rows = list(capacities)
    return StorageReportProto(
        capacityBytes=sum(row.total_bytes for row in rows),
        usedBytes=sum(row.used_bytes for row in rows),
        remainingBytes=sum(row.available_bytes for row in rows),
    )
