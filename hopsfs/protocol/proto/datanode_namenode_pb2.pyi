from hopsfs.protocol.proto import hdfs_pb2 as _hdfs_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DatanodeIdentityProto(_message.Message):
    __slots__ = ("datanodeUuid", "hostName", "transferPort", "storageId", "infoPort", "softwareVersion")
    DATANODEUUID_FIELD_NUMBER: _ClassVar[int]
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    TRANSFERPORT_FIELD_NUMBER: _ClassVar[int]
    STORAGEID_FIELD_NUMBER: _ClassVar[int]
    INFOPORT_FIELD_NUMBER: _ClassVar[int]
    SOFTWAREVERSION_FIELD_NUMBER: _ClassVar[int]
    datanodeUuid: str
    hostName: str
    transferPort: int
    storageId: str
    infoPort: int
    softwareVersion: str
    def __init__(self, datanodeUuid: _Optional[str] = ..., hostName: _Optional[str] = ..., transferPort: _Optional[int] = ..., storageId: _Optional[str] = ..., infoPort: _Optional[int] = ..., softwareVersion: _Optional[str] = ...) -> None: ...

class StorageReportProto(_message.Message):
    __slots__ = ("capacityBytes", "usedBytes", "remainingBytes", "failedVolumes")
    CAPACITYBYTES_FIELD_NUMBER: _ClassVar[int]
    USEDBYTES_FIELD_NUMBER: _ClassVar[int]
    REMAININGBYTES_FIELD_NUMBER: _ClassVar[int]
    FAILEDVOLUMES_FIELD_NUMBER: _ClassVar[int]
    capacityBytes: int
    usedBytes: int
    remainingBytes: int
    failedVolumes: int
    def __init__(self, capacityBytes: _Optional[int] = ..., usedBytes: _Optional[int] = ..., remainingBytes: _Optional[int] = ..., failedVolumes: _Optional[int] = ...) -> None: ...

class ReplicaProto(_message.Message):
    __slots__ = ("blockId", "generationStamp", "numBytes", "state")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        FINALIZED: _ClassVar[ReplicaProto.State]
        RBW: _ClassVar[ReplicaProto.State]
    FINALIZED: ReplicaProto.State
    RBW: ReplicaProto.State
    BLOCKID_FIELD_NUMBER: _ClassVar[int]
    GENERATIONSTAMP_FIELD_NUMBER: _ClassVar[int]
    NUMBYTES_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    blockId: int
    generationStamp: int
    numBytes: int
    state: ReplicaProto.State
    def __init__(self, blockId: _Optional[int] = ..., generationStamp: _Optional[int] = ..., numBytes: _Optional[int] = ..., state: _Optional[_Union[ReplicaProto.State, str]] = ...) -> None: ...

class RegisterRequestProto(_message.Message):
    __slots__ = ("identity", "storage")
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    STORAGE_FIELD_NUMBER: _ClassVar[int]
    identity: DatanodeIdentityProto
    storage: StorageReportProto
    def __init__(self, identity: _Optional[_Union[DatanodeIdentityProto, _Mapping]] = ..., storage: _Optional[_Union[StorageReportProto, _Mapping]] = ...) -> None: ...

class RegisterResponseProto(_message.Message):
    __slots__ = ("blockPoolId", "heartbeatIntervalMs", "fullBlockReportIntervalMs")
    BLOCKPOOLID_FIELD_NUMBER: _ClassVar[int]
    HEARTBEATINTERVALMS_FIELD_NUMBER: _ClassVar[int]
    FULLBLOCKREPORTINTERVALMS_FIELD_NUMBER: _ClassVar[int]
    blockPoolId: str
    heartbeatIntervalMs: int
    fullBlockReportIntervalMs: int
    def __init__(self, blockPoolId: _Optional[str] = ..., heartbeatIntervalMs: _Optional[int] = ..., fullBlockReportIntervalMs: _Optional[int] = ...) -> None: ...

class HeartbeatRequestProto(_message.Message):
    __slots__ = ("datanodeUuid", "storage", "activeTransfers")
    DATANODEUUID_FIELD_NUMBER: _ClassVar[int]
    STORAGE_FIELD_NUMBER: _ClassVar[int]
    ACTIVETRANSFERS_FIELD_NUMBER: _ClassVar[int]
    datanodeUuid: str
    storage: StorageReportProto
    activeTransfers: int
    def __init__(self, datanodeUuid: _Optional[str] = ..., storage: _Optional[_Union[StorageReportProto, _Mapping]] = ..., activeTransfers: _Optional[int] = ...) -> None: ...

class DatanodeCommandProto(_message.Message):
    __slots__ = ("kind", "commandId", "blocks", "targets", "newGenerationStamp", "numBytes")
    class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        TRANSFER: _ClassVar[DatanodeCommandProto.Kind]
        INVALIDATE: _ClassVar[DatanodeCommandProto.Kind]
        RECOVER: _ClassVar[DatanodeCommandProto.Kind]
        FINALIZE_RECOVERED: _ClassVar[DatanodeCommandProto.Kind]
    TRANSFER: DatanodeCommandProto.Kind
    INVALIDATE: DatanodeCommandProto.Kind
    RECOVER: DatanodeCommandProto.Kind
    FINALIZE_RECOVERED: DatanodeCommandProto.Kind
    KIND_FIELD_NUMBER: _ClassVar[int]
    COMMANDID_FIELD_NUMBER: _ClassVar[int]
    BLOCKS_FIELD_NUMBER: _ClassVar[int]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    NEWGENERATIONSTAMP_FIELD_NUMBER: _ClassVar[int]
    NUMBYTES_FIELD_NUMBER: _ClassVar[int]
    kind: DatanodeCommandProto.Kind
    commandId: int
    blocks: _containers.RepeatedCompositeFieldContainer[_hdfs_pb2.ExtendedBlockProto]
    targets: _containers.RepeatedCompositeFieldContainer[_hdfs_pb2.DatanodeInfoProto]
    newGenerationStamp: int
    numBytes: int
    def __init__(self, kind: _Optional[_Union[DatanodeCommandProto.Kind, str]] = ..., commandId: _Optional[int] = ..., blocks: _Optional[_Iterable[_Union[_hdfs_pb2.ExtendedBlockProto, _Mapping]]] = ..., targets: _Optional[_Iterable[_Union[_hdfs_pb2.DatanodeInfoProto, _Mapping]]] = ..., newGenerationStamp: _Optional[int] = ..., numBytes: _Optional[int] = ...) -> None: ...

class HeartbeatResponseProto(_message.Message):
    __slots__ = ("commands", "reregister", "fullBlockReportRequested")
    COMMANDS_FIELD_NUMBER: _ClassVar[int]
    REREGISTER_FIELD_NUMBER: _ClassVar[int]
    FULLBLOCKREPORTREQUESTED_FIELD_NUMBER: _ClassVar[int]
    commands: _containers.RepeatedCompositeFieldContainer[DatanodeCommandProto]
    reregister: bool
    fullBlockReportRequested: bool
    def __init__(self, commands: _Optional[_Iterable[_Union[DatanodeCommandProto, _Mapping]]] = ..., reregister: bool = ..., fullBlockReportRequested: bool = ...) -> None: ...

class BlockReportRequestProto(_message.Message):
    __slots__ = ("datanodeUuid", "replicas")
    DATANODEUUID_FIELD_NUMBER: _ClassVar[int]
    REPLICAS_FIELD_NUMBER: _ClassVar[int]
    datanodeUuid: str
    replicas: _containers.RepeatedCompositeFieldContainer[ReplicaProto]
    def __init__(self, datanodeUuid: _Optional[str] = ..., replicas: _Optional[_Iterable[_Union[ReplicaProto, _Mapping]]] = ...) -> None: ...

class BlockReportResponseProto(_message.Message):
    __slots__ = ("commands",)
    COMMANDS_FIELD_NUMBER: _ClassVar[int]
    commands: _containers.RepeatedCompositeFieldContainer[DatanodeCommandProto]
    def __init__(self, commands: _Optional[_Iterable[_Union[DatanodeCommandProto, _Mapping]]] = ...) -> None: ...

class IncrementalBlockReportRequestProto(_message.Message):
    __slots__ = ("datanodeUuid", "receiving", "received", "deleted")
    DATANODEUUID_FIELD_NUMBER: _ClassVar[int]
    RECEIVING_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_FIELD_NUMBER: _ClassVar[int]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    datanodeUuid: str
    receiving: _containers.RepeatedCompositeFieldContainer[ReplicaProto]
    received: _containers.RepeatedCompositeFieldContainer[ReplicaProto]
    deleted: _containers.RepeatedCompositeFieldContainer[ReplicaProto]
    def __init__(self, datanodeUuid: _Optional[str] = ..., receiving: _Optional[_Iterable[_Union[ReplicaProto, _Mapping]]] = ..., received: _Optional[_Iterable[_Union[ReplicaProto, _Mapping]]] = ..., deleted: _Optional[_Iterable[_Union[ReplicaProto, _Mapping]]] = ...) -> None: ...

class IncrementalBlockReportResponseProto(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ReportBadReplicasRequestProto(_message.Message):
    __slots__ = ("datanodeUuid", "blocks")
    DATANODEUUID_FIELD_NUMBER: _ClassVar[int]
    BLOCKS_FIELD_NUMBER: _ClassVar[int]
    datanodeUuid: str
    blocks: _containers.RepeatedCompositeFieldContainer[_hdfs_pb2.ExtendedBlockProto]
    def __init__(self, datanodeUuid: _Optional[str] = ..., blocks: _Optional[_Iterable[_Union[_hdfs_pb2.ExtendedBlockProto, _Mapping]]] = ...) -> None: ...

class ReportBadReplicasResponseProto(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ReportRecoveredReplicaRequestProto(_message.Message):
    __slots__ = ("datanodeUuid", "blockId", "newGenerationStamp", "numBytes")
    DATANODEUUID_FIELD_NUMBER: _ClassVar[int]
    BLOCKID_FIELD_NUMBER: _ClassVar[int]
    NEWGENERATIONSTAMP_FIELD_NUMBER: _ClassVar[int]
    NUMBYTES_FIELD_NUMBER: _ClassVar[int]
    datanodeUuid: str
    blockId: int
    newGenerationStamp: int
    numBytes: int
    def __init__(self, datanodeUuid: _Optional[str] = ..., blockId: _Optional[int] = ..., newGenerationStamp: _Optional[int] = ..., numBytes: _Optional[int] = ...) -> None: ...

class ReportRecoveredReplicaResponseProto(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
