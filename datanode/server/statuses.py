"""The one table from datanode errors to DataTransferProtocol statuses, and the messages that go with them.

A refused operation is answered with BlockOpResponseProto{status, message}; a failed packet with an
ack carrying the status. Unknown errors are plain ERROR.
"""

from __future__ import annotations

from datanode.storage.errors import (
    GenerationStampMismatch,
    InsufficientSpace,
    InvalidReplicaOffset,
    MalformedPacket,
    ReplicaAlreadyExists,
    ReplicaChecksumError,
    ReplicaCorrupt,
    ReplicaNotFound,
    ReplicaNotWritable,
    StorageError,
)
from hopsfs.errors import HopsFSError
from hopsfs.protocol.dtp_wire import ERROR, ERROR_CHECKSUM, ERROR_EXISTS, ERROR_INVALID
from hopsfs.protocol.errors import RemoteProtocolError


class RequestRefused(HopsFSError):
    """An operation this datanode will not run (wrong block pool, unsupported stage, bad arguments)."""

    def __init__(self, message: str, status: int = ERROR) -> None:
        super().__init__(message)
        self.status = status


class ReplicaKnownBad(StorageError):
    """The replica failed verification here earlier: it is never served again."""


# Most specific first: the first class an error is an instance of decides its status.
STATUS_BY_ERROR: tuple[tuple[type[BaseException], int], ...] = (
    (ReplicaChecksumError, ERROR_CHECKSUM),
    (InvalidReplicaOffset, ERROR_INVALID),
    (MalformedPacket, ERROR_INVALID),
    (ReplicaAlreadyExists, ERROR_EXISTS),
    (ReplicaNotFound, ERROR),
    (GenerationStampMismatch, ERROR),
    (ReplicaNotWritable, ERROR),
    (ReplicaCorrupt, ERROR),
    (ReplicaKnownBad, ERROR),
    (InsufficientSpace, ERROR),
    (RemoteProtocolError, ERROR_INVALID),
    (StorageError, ERROR),
)


def status_of(error: BaseException) -> int:
    """The status that answers `error`."""
    if isinstance(error, RequestRefused):
        return error.status
    for error_class, status in STATUS_BY_ERROR:
        if isinstance(error, error_class):
            return status
    return ERROR


def message_of(error: BaseException) -> str:
    """A one-line message for the peer: the error's class and text (no traceback, no paths)."""
    text = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {text}"[:1000]
