from hopsfs.protocol.proto import hdfs_pb2 as _hdfs_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CreateWithDataRequestProto(_message.Message):
    __slots__ = ("src", "data", "permission", "overwrite", "createParent", "replication", "blockSize")
    SRC_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    PERMISSION_FIELD_NUMBER: _ClassVar[int]
    OVERWRITE_FIELD_NUMBER: _ClassVar[int]
    CREATEPARENT_FIELD_NUMBER: _ClassVar[int]
    REPLICATION_FIELD_NUMBER: _ClassVar[int]
    BLOCKSIZE_FIELD_NUMBER: _ClassVar[int]
    src: str
    data: bytes
    permission: int
    overwrite: bool
    createParent: bool
    replication: int
    blockSize: int
    def __init__(self, src: _Optional[str] = ..., data: _Optional[bytes] = ..., permission: _Optional[int] = ..., overwrite: bool = ..., createParent: bool = ..., replication: _Optional[int] = ..., blockSize: _Optional[int] = ...) -> None: ...

class CreateWithDataResponseProto(_message.Message):
    __slots__ = ("fs", "thresholdBytes")
    FS_FIELD_NUMBER: _ClassVar[int]
    THRESHOLDBYTES_FIELD_NUMBER: _ClassVar[int]
    fs: _hdfs_pb2.HdfsFileStatusProto
    thresholdBytes: int
    def __init__(self, fs: _Optional[_Union[_hdfs_pb2.HdfsFileStatusProto, _Mapping]] = ..., thresholdBytes: _Optional[int] = ...) -> None: ...

class ReadWithMetadataRequestProto(_message.Message):
    __slots__ = ("src",)
    SRC_FIELD_NUMBER: _ClassVar[int]
    src: str
    def __init__(self, src: _Optional[str] = ...) -> None: ...

class ReadWithMetadataResponseProto(_message.Message):
    __slots__ = ("fs", "data")
    FS_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    fs: _hdfs_pb2.HdfsFileStatusProto
    data: bytes
    def __init__(self, fs: _Optional[_Union[_hdfs_pb2.HdfsFileStatusProto, _Mapping]] = ..., data: _Optional[bytes] = ...) -> None: ...

class SmallFileProto(_message.Message):
    __slots__ = ("src", "data", "permission")
    SRC_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    PERMISSION_FIELD_NUMBER: _ClassVar[int]
    src: str
    data: bytes
    permission: int
    def __init__(self, src: _Optional[str] = ..., data: _Optional[bytes] = ..., permission: _Optional[int] = ...) -> None: ...

class BatchCreateWithDataRequestProto(_message.Message):
    __slots__ = ("files", "overwrite")
    FILES_FIELD_NUMBER: _ClassVar[int]
    OVERWRITE_FIELD_NUMBER: _ClassVar[int]
    files: _containers.RepeatedCompositeFieldContainer[SmallFileProto]
    overwrite: bool
    def __init__(self, files: _Optional[_Iterable[_Union[SmallFileProto, _Mapping]]] = ..., overwrite: bool = ...) -> None: ...

class BatchCreateWithDataResponseProto(_message.Message):
    __slots__ = ("fs", "thresholdBytes")
    FS_FIELD_NUMBER: _ClassVar[int]
    THRESHOLDBYTES_FIELD_NUMBER: _ClassVar[int]
    fs: _containers.RepeatedCompositeFieldContainer[_hdfs_pb2.HdfsFileStatusProto]
    thresholdBytes: int
    def __init__(self, fs: _Optional[_Iterable[_Union[_hdfs_pb2.HdfsFileStatusProto, _Mapping]]] = ..., thresholdBytes: _Optional[int] = ...) -> None: ...

class AppendInlineRequestProto(_message.Message):
    __slots__ = ("src", "clientName")
    SRC_FIELD_NUMBER: _ClassVar[int]
    CLIENTNAME_FIELD_NUMBER: _ClassVar[int]
    src: str
    clientName: str
    def __init__(self, src: _Optional[str] = ..., clientName: _Optional[str] = ...) -> None: ...

class AppendInlineResponseProto(_message.Message):
    __slots__ = ("fs", "data")
    FS_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    fs: _hdfs_pb2.HdfsFileStatusProto
    data: bytes
    def __init__(self, fs: _Optional[_Union[_hdfs_pb2.HdfsFileStatusProto, _Mapping]] = ..., data: _Optional[bytes] = ...) -> None: ...

class SetInlineThresholdRequestProto(_message.Message):
    __slots__ = ("src", "thresholdBytes")
    SRC_FIELD_NUMBER: _ClassVar[int]
    THRESHOLDBYTES_FIELD_NUMBER: _ClassVar[int]
    src: str
    thresholdBytes: int
    def __init__(self, src: _Optional[str] = ..., thresholdBytes: _Optional[int] = ...) -> None: ...

class SetInlineThresholdResponseProto(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class TruncateToInlineRequestProto(_message.Message):
    __slots__ = ("src", "data", "fileId", "expectedSize", "expectedModificationTime")
    SRC_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    FILEID_FIELD_NUMBER: _ClassVar[int]
    EXPECTEDSIZE_FIELD_NUMBER: _ClassVar[int]
    EXPECTEDMODIFICATIONTIME_FIELD_NUMBER: _ClassVar[int]
    src: str
    data: bytes
    fileId: int
    expectedSize: int
    expectedModificationTime: int
    def __init__(self, src: _Optional[str] = ..., data: _Optional[bytes] = ..., fileId: _Optional[int] = ..., expectedSize: _Optional[int] = ..., expectedModificationTime: _Optional[int] = ...) -> None: ...

class TruncateToInlineResponseProto(_message.Message):
    __slots__ = ("moved", "reason")
    MOVED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    moved: bool
    reason: str
    def __init__(self, moved: bool = ..., reason: _Optional[str] = ...) -> None: ...

class CompleteWithDataRequestProto(_message.Message):
    __slots__ = ("src", "clientName", "fileId", "data")
    SRC_FIELD_NUMBER: _ClassVar[int]
    CLIENTNAME_FIELD_NUMBER: _ClassVar[int]
    FILEID_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    src: str
    clientName: str
    fileId: int
    data: bytes
    def __init__(self, src: _Optional[str] = ..., clientName: _Optional[str] = ..., fileId: _Optional[int] = ..., data: _Optional[bytes] = ...) -> None: ...

class CompleteWithDataResponseProto(_message.Message):
    __slots__ = ("stored", "thresholdBytes")
    STORED_FIELD_NUMBER: _ClassVar[int]
    THRESHOLDBYTES_FIELD_NUMBER: _ClassVar[int]
    stored: bool
    thresholdBytes: int
    def __init__(self, stored: bool = ..., thresholdBytes: _Optional[int] = ...) -> None: ...
