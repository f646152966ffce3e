"""The hopsfs small-file extension methods (hopsfs/protocol/proto/small_files.proto) on the
ClientNamenodeProtocol front end: parse, call the engine once, build the response. Registered in
service.METHODS beside Hadoop's methods, so they share the connection, identity and error mapping."""

from __future__ import annotations

from typing import TYPE_CHECKING

from google.protobuf.message import Message

from hopsfs.errors import InvalidArgument
from hopsfs.protocol import hdfs_values
from hopsfs.protocol.proto import small_files_pb2 as pb
from hopsfs.types import Caller, RetryKey
from namenode.ipc.request_paths import request_path
from namenode.ops.small_files import BATCH_BYTES_MAX, BATCH_FILES_MAX, SmallFile
from namenode.ops.truncate import ExpectedFile

if TYPE_CHECKING:
    from namenode.ipc.service import ClientProtocolService


def create_with_data(
    service: ClientProtocolService,
    caller: Caller,
    request: pb.CreateWithDataRequestProto,
    retry: RetryKey | None = None,
) -> Message:
    defaults = service.server_defaults
    created = service.namespace.create_with_data(
        caller,
        request_path(request.src),
        request.data,
        request.permission,
        overwrite=request.overwrite,
        create_parent=request.createParent,
        replication=request.replication or defaults.replication,
        block_size=request.blockSize or defaults.blockSize,
        retry=retry,
    )
    response = pb.CreateWithDataResponseProto(thresholdBytes=created.threshold_bytes)
    if created.status is not None:
        response.fs.CopyFrom(hdfs_values.status_to_proto(created.status, local_name=False))
    return response


def read_with_metadata(
    service: ClientProtocolService, caller: Caller, request: pb.ReadWithMetadataRequestProto
) -> Message:
    read = service.namespace.read_with_metadata(caller, request_path(request.src))
    response = pb.ReadWithMetadataResponseProto(fs=hdfs_values.status_to_proto(read.status, local_name=False))
    if read.data is not None:
        response.data = read.data
    return response


def batch_create_with_data(
    service: ClientProtocolService,
    caller: Caller,
    request: pb.BatchCreateWithDataRequestProto,
    retry: RetryKey | None = None,
) -> Message:
    if not 0 < len(request.files) <= BATCH_FILES_MAX:
        raise InvalidArgument(f"a batch holds 1 to {BATCH_FILES_MAX} files, not {len(request.files)}")
    # Each read of entry.data copies the bytes out of the parsed message: read them once. The frame
    # that holds them is bounded already; the byte bound is checked before any SQL.
    files = [SmallFile(request_path(entry.src), entry.data, entry.permission) for entry in request.files]
    if sum(len(entry.data) for entry in files) > BATCH_BYTES_MAX:
        raise InvalidArgument(f"a batch holds at most {BATCH_BYTES_MAX} bytes of file data")
    result = service.namespace.batch_create_with_data(caller, files, overwrite=request.overwrite, retry=retry)
    if not isinstance(result, list):
        return pb.BatchCreateWithDataResponseProto(thresholdBytes=result.threshold_bytes)
    response = pb.BatchCreateWithDataResponseProto()
    add_status = response.fs.add
    for status in result:
        # Filled in place: a third of the cost of building each message and copying it in.
        hdfs_values.fill_status_proto(add_status(), status, local_name=False)
    return response


def set_inline_threshold(
    service: ClientProtocolService, caller: Caller, request: pb.SetInlineThresholdRequestProto
) -> Message:
    threshold = request.thresholdBytes if request.HasField("thresholdBytes") else None
    service.namespace.set_inline_threshold(caller, request_path(request.src), threshold)
    return pb.SetInlineThresholdResponseProto()


def append_inline(
    service: ClientProtocolService, caller: Caller, request: pb.AppendInlineRequestProto
) -> Message:
    read = service.namespace.append_inline(caller, request_path(request.src), request.clientName)
    response = pb.AppendInlineResponseProto(fs=hdfs_values.status_to_proto(read.status, local_name=False))
    if read.data is not None:
        response.data = read.data
    return response


def truncate_to_inline(
    service: ClientProtocolService, caller: Caller, request: pb.TruncateToInlineRequestProto
) -> Message:
    expected = ExpectedFile(
        inode_id=request.fileId,
        size=request.expectedSize,
        modification_time_ms=hdfs_values.from_uint64(request.expectedModificationTime),
    )
    moved = service.namespace.truncate_to_inline(caller, request_path(request.src), request.data, expected)
    response = pb.TruncateToInlineResponseProto(moved=moved.moved)
    if moved.reason:
        response.reason = moved.reason
    return response


def complete_with_data(
    service: ClientProtocolService, caller: Caller, request: pb.CompleteWithDataRequestProto
) -> Message:
    completed = service.namespace.complete_with_data(
        caller, request_path(request.src), request.clientName, request.fileId, request.data
    )
    return pb.CompleteWithDataResponseProto(stored=completed.stored, thresholdBytes=completed.threshold_bytes)
