"""Who this datanode is: a uuid and a storage id that survive restarts, kept in one small file.

The namenodes record replicas against the storage id and recognize a restarted datanode by its
uuid, so both are created once (atomically) and read back on every start.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path

from datanode.storage.fsync import write_file_atomically
from hopsfs.errors import HopsFSError
from hopsfs.invariants import check

IDENTITY_FILE = "datanode-id.json"
STORAGE_ID_PREFIX = "DS-"
_IDENTITY_BYTES_MAX = 4096


class IdentityError(HopsFSError):
    """The identity file exists but is not one this datanode wrote."""


@dataclass(frozen=True, slots=True)
class DatanodeIdentity:
    datanode_uuid: str
    storage_id: str

    def __post_init__(self) -> None:
        check(self.storage_id.startswith(STORAGE_ID_PREFIX), "storage ids have Hadoop's DS- form")


def load_or_create_identity(path: Path) -> DatanodeIdentity:
    """The identity stored at `path`, created there on first use."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        identity = DatanodeIdentity(str(uuid.uuid4()), f"{STORAGE_ID_PREFIX}{uuid.uuid4()}")
        _write_atomically(path, identity)
        return identity
    if len(raw) > _IDENTITY_BYTES_MAX:
        raise IdentityError(f"{path}: {len(raw)} bytes is not an identity file")
    try:
        fields = json.loads(raw)
        datanode_uuid, storage_id = str(fields["datanode_uuid"]), str(fields["storage_id"])
        uuid.UUID(datanode_uuid)
    except (ValueError, KeyError, TypeError) as error:
        raise IdentityError(f"{path}: not a datanode identity ({error})") from error
    if not storage_id.startswith(STORAGE_ID_PREFIX):
        raise IdentityError(f"{path}: storage id {storage_id[:80]!r} lacks the {STORAGE_ID_PREFIX} prefix")
    return DatanodeIdentity(datanode_uuid, storage_id)


def _write_atomically(path: Path, identity: DatanodeIdentity) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    content = {"datanode_uuid": identity.datanode_uuid, "storage_id": identity.storage_id}
    write_file_atomically(path, (json.dumps(content) + "\n").encode())
