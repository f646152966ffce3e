"""hopsfs values <-> the HDFS protobuf messages that carry them, in both directions.

The namenode's front end encodes with these and the client decodes with them, so one function per
message keeps the two sides agreeing on every field. Hadoop sends Java longs in uint64 fields (a
quota of -1 arrives as 2**64 - 1): `to_uint64` / `from_uint64` do that conversion.
"""

from __future__ import annotations

from hopsfs import limits
from hopsfs.errors import InvalidArgument
from hopsfs.paths import child_path
from hopsfs.protocol.proto.hdfs_pb2 import (
    CHECKSUM_CRC32C,
    ContentSummaryProto,
    FsPermissionProto,
    FsServerDefaultsProto,
    HdfsFileStatusProto,
)
from hopsfs.protocol.proto.xattr_pb2 import XAttrProto
from hopsfs.types import ContentSummary, FileStatus, InodeKind

_UINT64_RANGE = 2**64
_FILE_TYPES = {
    InodeKind.DIRECTORY: HdfsFileStatusProto.IS_DIR,
    InodeKind.FILE: HdfsFileStatusProto.IS_FILE,
    InodeKind.SYMLINK: HdfsFileStatusProto.IS_SYMLINK,
}
_KINDS = {wire: kind for kind, wire in _FILE_TYPES.items()}
_XATTR_NAMESPACES = {
    name.lower(): value for name, value in XAttrProto.XAttrNamespaceProto.items()
}  # user, trusted, security, system, raw
_XATTR_PREFIXES = {value: name for name, value in _XATTR_NAMESPACES.items()}

BYTES_PER_CHECKSUM = 512
WRITE_PACKET_BYTES = 64 * 1024
FILE_BUFFER_BYTES = 4096


def to_uint64(value: int) -> int:
    """A Java long as Hadoop writes it into a uint64 field (negative values wrap)."""
    return value % _UINT64_RANGE


def from_uint64(value: int) -> int:
    return value - _UINT64_RANGE if value >= 2**63 else value


def permission(mode: int) -> FsPermissionProto:
    return FsPermissionProto(perm=mode)


def status_to_proto(status: FileStatus, *, local_name: bool) -> HdfsFileStatusProto:
    """HdfsFileStatusProto for `status`: `path` is the entry's name in a listing, empty for getFileInfo."""
    proto = HdfsFileStatusProto()
    fill_status_proto(proto, status, local_name=local_name)
    return proto


def fill_status_proto(proto: HdfsFileStatusProto, status: FileStatus, *, local_name: bool) -> None:
    """Set `proto`'s fields from `status`. Filling entries made in place by `repeated.add()` costs a
    third of building messages and copying them into a listing (measured: 135 vs 352 us per 100)."""
    kind = status.kind
    proto.fileType = _FILE_TYPES[kind]  # type: ignore[assignment]
    proto.path = status.name.encode("utf-8") if local_name else b""
    proto.length = status.size
    proto.permission.perm = status.permission
    proto.owner = status.owner
    proto.group = status.group
    proto.modification_time = status.modification_time_ms
    proto.access_time = status.access_time_ms
    proto.fileId = status.inode_id
    proto.storagePolicy = status.storage_policy
    # Hadoop sets these on every entry (0 where they do not apply); clients read absent as "unknown".
    is_file = kind is InodeKind.FILE
    proto.block_replication = status.replication if is_file else 0
    proto.blocksize = status.block_size if is_file else 0
    proto.childrenNum = status.children_count if kind is InodeKind.DIRECTORY else 0
    if status.symlink_target is not None:
        proto.symlink = status.symlink_target.encode("utf-8")


def status_from_proto(proto: HdfsFileStatusProto, path: str) -> FileStatus:
    """The FileStatus a getFileInfo answer (path = the asked path) or a listing entry describes.

    For a listing entry pass the directory's path: the entry's local name is joined to it.
    """
    kind = _KINDS.get(proto.fileType)
    if kind is None:
        raise InvalidArgument(f"unknown file type {proto.fileType} in a file status")
    name = _text(proto.path)
    return FileStatus(
        path=child_path(path, name) if name else path,
        inode_id=proto.fileId,
        kind=kind,
        permission=proto.permission.perm,
        owner=proto.owner,
        group=proto.group,
        size=proto.length,
        modification_time_ms=proto.modification_time,
        access_time_ms=proto.access_time,
        replication=proto.block_replication,
        block_size=proto.blocksize,
        children_count=max(proto.childrenNum, 0),
        symlink_target=proto.symlink.decode("utf-8", errors="surrogateescape")
        if proto.HasField("symlink")
        else None,
        storage_policy=proto.storagePolicy,
        under_construction=proto.HasField("locations") and proto.locations.underConstruction,
    )


def summary_to_proto(summary: ContentSummary) -> ContentSummaryProto:
    return ContentSummaryProto(
        length=summary.length,
        fileCount=summary.file_count + summary.symlink_count,
        directoryCount=summary.directory_count,
        quota=to_uint64(summary.quota),
        spaceConsumed=summary.space_consumed,
        spaceQuota=to_uint64(summary.space_quota),
    )


def summary_from_proto(proto: ContentSummaryProto) -> ContentSummary:
    return ContentSummary(
        length=proto.length,
        file_count=proto.fileCount,
        directory_count=proto.directoryCount,
        space_consumed=proto.spaceConsumed,
        quota=from_uint64(proto.quota),
        space_quota=from_uint64(proto.spaceQuota),
    )


def server_defaults(
    *, block_size: int = limits.BLOCK_SIZE_BYTES_DEFAULT, replication: int = limits.REPLICATION_DEFAULT
) -> FsServerDefaultsProto:
    return FsServerDefaultsProto(
        blockSize=block_size,
        bytesPerChecksum=BYTES_PER_CHECKSUM,
        writePacketSize=WRITE_PACKET_BYTES,
        replication=replication,
        fileBufferSize=FILE_BUFFER_BYTES,
        encryptDataTransfer=False,
        trashInterval=0,
        checksumType=CHECKSUM_CRC32C,
    )


def xattr_to_proto(full_name: str, value: bytes | None = None) -> XAttrProto:
    """'user.color' (+ value) as an XAttrProto; InvalidArgument for a name without a known prefix."""
    prefix, _, name = full_name.partition(".")
    namespace = _XATTR_NAMESPACES.get(prefix.lower()) if name else None
    if namespace is None or prefix != prefix.lower():
        raise InvalidArgument(
            "An XAttr name must be prefixed with user/trusted/security/system/raw, "
            f"followed by a '.': {full_name!r}"
        )
    proto = XAttrProto(namespace=namespace, name=name)  # type: ignore[arg-type]
    if value is not None:
        proto.value = value
    return proto


def xattr_name(proto: XAttrProto) -> str:
    return f"{_XATTR_PREFIXES[proto.namespace]}.{proto.name}"


def _text(raw: bytes) -> str:
    # Names are UTF-8 bytes on the wire; undecodable bytes survive a round trip rather than fail.
    return raw.decode("utf-8", errors="surrogateescape")
