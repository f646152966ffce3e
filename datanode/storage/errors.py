"""Errors of the datanode's local replica storage.

Each is a `HopsFSError`, so the DataTransferProtocol server can map them to a status (ERROR,
ERROR_CHECKSUM, ERROR_INVALID) in one table at its edge. Operating errors only: a broken internal
invariant is still `InvariantViolation`.
"""

from __future__ import annotations

from hopsfs.errors import HopsFSError


class StorageError(HopsFSError):
    """Root of the replica-storage errors; the message names the block."""


class ReplicaNotFound(StorageError):
    """No replica of the block on this datanode (never created, deleted, or dropped at restart)."""


class ReplicaAlreadyExists(StorageError):
    """create_rbw for a block that already has a replica here."""


class GenerationStampMismatch(StorageError):
    """The caller named a generation stamp the replica does not have (stale writer or reader)."""


class InvalidReplicaOffset(StorageError):
    """An offset or length is negative, past the end of the replica, or leaves a gap on write."""


class ReplicaNotWritable(StorageError):
    """A write to a replica that is no longer being written (finalized)."""


class MalformedPacket(StorageError):
    """A packet's checksum array does not have one checksum per chunk of its data."""


class ReplicaChecksumError(StorageError):
    """Data to be written does not match its checksums: nothing of the packet was stored."""

    def __init__(self, message: str, offset_in_block: int) -> None:
        super().__init__(message)
        self.offset_in_block = offset_in_block


class ReplicaCorrupt(StorageError):
    """Stored data or its meta file fails verification: the replica must not be served."""

    def __init__(self, message: str, offset_in_block: int) -> None:
        super().__init__(message)
        self.offset_in_block = offset_in_block


class InsufficientSpace(StorageError):
    """No volume has room for a new replica beyond its reserve."""


class VolumeError(StorageError):
    """A volume directory is unusable: wrong block pool id, unreadable volume id file, bad layout."""
