"""Small parts of the datanode: the error -> status table, the identity file, the bad-replica set,
the options' validation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from datanode import bad_replicas
from datanode.bad_replicas import BadReplicas
from datanode.config import ScanSettings, TransferLimits
from datanode.identity import IdentityError, load_or_create_identity
from datanode.server.statuses import STATUS_BY_ERROR, ReplicaKnownBad, RequestRefused, message_of, status_of
from datanode.storage import errors as storage_errors
from hopsfs.errors import InvalidArgument
from hopsfs.protocol.dtp_wire import ERROR, ERROR_CHECKSUM, ERROR_EXISTS, ERROR_INVALID
from hopsfs.protocol.errors import RemoteProtocolError


def _storage_error_classes() -> list[type[storage_errors.StorageError]]:
    return [
        value
        for value in vars(storage_errors).values()
        if isinstance(value, type) and issubclass(value, storage_errors.StorageError)
    ]


def test_every_storage_error_has_its_own_row_in_the_status_table() -> None:
    mapped = {error_class for error_class, _ in STATUS_BY_ERROR}
    missing = [cls.__name__ for cls in _storage_error_classes() if cls not in mapped]
    assert missing == ["VolumeError"]  # a startup error, never an operation's answer (ERROR via StorageError)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (storage_errors.ReplicaChecksumError("x", 512), ERROR_CHECKSUM),
        (storage_errors.InvalidReplicaOffset("x"), ERROR_INVALID),
        (storage_errors.ReplicaAlreadyExists("x"), ERROR_EXISTS),
        (storage_errors.ReplicaNotFound("x"), ERROR),
        (storage_errors.GenerationStampMismatch("x"), ERROR),
        (ReplicaKnownBad("x"), ERROR),
        (RemoteProtocolError("x"), ERROR_INVALID),
        (RequestRefused("x", ERROR_INVALID), ERROR_INVALID),
        (OSError("disk"), ERROR),
        (ValueError("bug"), ERROR),
    ],
)
def test_status_of(error: BaseException, status: int) -> None:
    assert status_of(error) == status


def test_messages_are_one_bounded_line() -> None:
    message = message_of(storage_errors.ReplicaNotFound("blk_1: gone\nsecond line " + "x" * 5000))
    assert message.startswith("ReplicaNotFound: blk_1: gone")
    assert "\n" not in message and len(message) <= 1000


def test_identity_is_created_once_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "state" / "datanode-id.json"
    first = load_or_create_identity(path)
    assert first == load_or_create_identity(path)
    assert first.storage_id.startswith("DS-")


@pytest.mark.parametrize(
    "content",
    [
        b"not json",
        b'{"datanode_uuid": "x", "storage_id": "DS-1"}',
        b'{"datanode_uuid": "' + b"0" * 5000 + b'"}',
    ],
)
def test_a_foreign_identity_file_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "datanode-id.json"
    path.write_bytes(content)
    with pytest.raises(IdentityError):
        load_or_create_identity(path)


def test_an_identity_without_the_storage_prefix_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "datanode-id.json"
    path.write_text(json.dumps({"datanode_uuid": "0b6a2d3e-8f1e-4e55-9f58-3c1d5b5f7a10", "storage_id": "x"}))
    with pytest.raises(IdentityError):
        load_or_create_identity(path)


def test_bad_replicas_are_remembered_by_block_until_forgotten(monkeypatch: pytest.MonkeyPatch) -> None:
    registry = BadReplicas()
    assert registry.mark(5, 1) and not registry.mark(5, 1)
    assert registry.is_bad(5) and not registry.is_bad(6)
    registry.forget(5)
    assert not registry.is_bad(5) and len(registry) == 0
    monkeypatch.setattr(bad_replicas, "BAD_REPLICAS_MAX", 1)
    registry.mark(1, 1)
    assert registry.mark(2, 1)  # still reported as new, but the set stays bounded
    assert len(registry) == 1


@pytest.mark.parametrize(
    "limits",
    [
        TransferLimits(xceivers_max=0),
        TransferLimits(io_timeout_s=0),
        TransferLimits(read_packet_bytes=100),
        TransferLimits(receive_bytes_max=10),
    ],
)
def test_limits_out_of_range_are_refused(limits: TransferLimits) -> None:
    with pytest.raises(InvalidArgument):
        limits.validate()


def test_scan_settings_out_of_range_are_refused() -> None:
    with pytest.raises(InvalidArgument):
        ScanSettings(bytes_per_second=0).validate()
    assert ScanSettings().validate().enabled
