from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ChangeEventProto(_message.Message):
    __slots__ = ("position", "operation", "inode_id", "logical_time", "parent_id", "name", "previous_parent_id", "previous_name", "kind", "user", "app_id", "time_ms", "path", "previous_path", "sequence", "read_count", "captured_ms", "ancestor_ids")
    POSITION_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    INODE_ID_FIELD_NUMBER: _ClassVar[int]
    LOGICAL_TIME_FIELD_NUMBER: _ClassVar[int]
    PARENT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_PARENT_ID_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_MS_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_PATH_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    READ_COUNT_FIELD_NUMBER: _ClassVar[int]
    CAPTURED_MS_FIELD_NUMBER: _ClassVar[int]
    ANCESTOR_IDS_FIELD_NUMBER: _ClassVar[int]
    position: int
    operation: str
    inode_id: int
    logical_time: int
    parent_id: int
    name: str
    previous_parent_id: int
    previous_name: str
    kind: int
    user: str
    app_id: str
    time_ms: int
    path: str
    previous_path: str
    sequence: int
    read_count: int
    captured_ms: int
    ancestor_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, position: _Optional[int] = ..., operation: _Optional[str] = ..., inode_id: _Optional[int] = ..., logical_time: _Optional[int] = ..., parent_id: _Optional[int] = ..., name: _Optional[str] = ..., previous_parent_id: _Optional[int] = ..., previous_name: _Optional[str] = ..., kind: _Optional[int] = ..., user: _Optional[str] = ..., app_id: _Optional[str] = ..., time_ms: _Optional[int] = ..., path: _Optional[str] = ..., previous_path: _Optional[str] = ..., sequence: _Optional[int] = ..., read_count: _Optional[int] = ..., captured_ms: _Optional[int] = ..., ancestor_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class SubscribeRequest(_message.Message):
    __slots__ = ("from_position", "from_now", "path_prefix", "operations", "batch_events_max", "expected_log_id")
    FROM_POSITION_FIELD_NUMBER: _ClassVar[int]
    FROM_NOW_FIELD_NUMBER: _ClassVar[int]
    PATH_PREFIX_FIELD_NUMBER: _ClassVar[int]
    OPERATIONS_FIELD_NUMBER: _ClassVar[int]
    BATCH_EVENTS_MAX_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_LOG_ID_FIELD_NUMBER: _ClassVar[int]
    from_position: int
    from_now: bool
    path_prefix: str
    operations: _containers.RepeatedScalarFieldContainer[str]
    batch_events_max: int
    expected_log_id: str
    def __init__(self, from_position: _Optional[int] = ..., from_now: bool = ..., path_prefix: _Optional[str] = ..., operations: _Optional[_Iterable[str]] = ..., batch_events_max: _Optional[int] = ..., expected_log_id: _Optional[str] = ...) -> None: ...

class SubscribeResponse(_message.Message):
    __slots__ = ("events", "next_position", "log_id")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_POSITION_FIELD_NUMBER: _ClassVar[int]
    LOG_ID_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[ChangeEventProto]
    next_position: int
    log_id: str
    def __init__(self, events: _Optional[_Iterable[_Union[ChangeEventProto, _Mapping]]] = ..., next_position: _Optional[int] = ..., log_id: _Optional[str] = ...) -> None: ...

class SearchRequest(_message.Message):
    __slots__ = ("query", "path_prefix", "limit")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    PATH_PREFIX_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    query: str
    path_prefix: str
    limit: int
    def __init__(self, query: _Optional[str] = ..., path_prefix: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class SearchHitProto(_message.Message):
    __slots__ = ("path", "name", "inode_id", "owner", "group", "size", "modification_time", "access_time", "kind", "score", "xattrs")
    class XattrsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PATH_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    INODE_ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    MODIFICATION_TIME_FIELD_NUMBER: _ClassVar[int]
    ACCESS_TIME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    XATTRS_FIELD_NUMBER: _ClassVar[int]
    path: str
    name: str
    inode_id: int
    owner: str
    group: str
    size: int
    modification_time: int
    access_time: int
    kind: int
    score: float
    xattrs: _containers.ScalarMap[str, str]
    def __init__(self, path: _Optional[str] = ..., name: _Optional[str] = ..., inode_id: _Optional[int] = ..., owner: _Optional[str] = ..., group: _Optional[str] = ..., size: _Optional[int] = ..., modification_time: _Optional[int] = ..., access_time: _Optional[int] = ..., kind: _Optional[int] = ..., score: _Optional[float] = ..., xattrs: _Optional[_Mapping[str, str]] = ...) -> None: ...

class SearchResponse(_message.Message):
    __slots__ = ("hits", "indexed_position")
    HITS_FIELD_NUMBER: _ClassVar[int]
    INDEXED_POSITION_FIELD_NUMBER: _ClassVar[int]
    hits: _containers.RepeatedCompositeFieldContainer[SearchHitProto]
    indexed_position: int
    def __init__(self, hits: _Optional[_Iterable[_Union[SearchHitProto, _Mapping]]] = ..., indexed_position: _Optional[int] = ...) -> None: ...

class LineageRequest(_message.Message):
    __slots__ = ("path", "direction", "depth_max")
    class Direction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        UPSTREAM: _ClassVar[LineageRequest.Direction]
        DOWNSTREAM: _ClassVar[LineageRequest.Direction]
    UPSTREAM: LineageRequest.Direction
    DOWNSTREAM: LineageRequest.Direction
    PATH_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    DEPTH_MAX_FIELD_NUMBER: _ClassVar[int]
    path: str
    direction: LineageRequest.Direction
    depth_max: int
    def __init__(self, path: _Optional[str] = ..., direction: _Optional[_Union[LineageRequest.Direction, str]] = ..., depth_max: _Optional[int] = ...) -> None: ...

class LineageEdgeProto(_message.Message):
    __slots__ = ("source_inode_id", "source_path", "target_inode_id", "target_path", "app_id", "time_ms", "depth")
    SOURCE_INODE_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_PATH_FIELD_NUMBER: _ClassVar[int]
    TARGET_INODE_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_PATH_FIELD_NUMBER: _ClassVar[int]
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_MS_FIELD_NUMBER: _ClassVar[int]
    DEPTH_FIELD_NUMBER: _ClassVar[int]
    source_inode_id: int
    source_path: str
    target_inode_id: int
    target_path: str
    app_id: str
    time_ms: int
    depth: int
    def __init__(self, source_inode_id: _Optional[int] = ..., source_path: _Optional[str] = ..., target_inode_id: _Optional[int] = ..., target_path: _Optional[str] = ..., app_id: _Optional[str] = ..., time_ms: _Optional[int] = ..., depth: _Optional[int] = ...) -> None: ...

class LineageResponse(_message.Message):
    __slots__ = ("edges",)
    EDGES_FIELD_NUMBER: _ClassVar[int]
    edges: _containers.RepeatedCompositeFieldContainer[LineageEdgeProto]
    def __init__(self, edges: _Optional[_Iterable[_Union[LineageEdgeProto, _Mapping]]] = ...) -> None: ...

class ProvenanceRequest(_message.Message):
    __slots__ = ("path", "limit")
    PATH_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    path: str
    limit: int
    def __init__(self, path: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class ProvenanceRecordProto(_message.Message):
    __slots__ = ("position", "operation", "user", "app_id", "time_ms", "path", "read_count")
    POSITION_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_MS_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    READ_COUNT_FIELD_NUMBER: _ClassVar[int]
    position: int
    operation: str
    user: str
    app_id: str
    time_ms: int
    path: str
    read_count: int
    def __init__(self, position: _Optional[int] = ..., operation: _Optional[str] = ..., user: _Optional[str] = ..., app_id: _Optional[str] = ..., time_ms: _Optional[int] = ..., path: _Optional[str] = ..., read_count: _Optional[int] = ...) -> None: ...

class ProvenanceResponse(_message.Message):
    __slots__ = ("inode_id", "records")
    INODE_ID_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    inode_id: int
    records: _containers.RepeatedCompositeFieldContainer[ProvenanceRecordProto]
    def __init__(self, inode_id: _Optional[int] = ..., records: _Optional[_Iterable[_Union[ProvenanceRecordProto, _Mapping]]] = ...) -> None: ...

class StatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StatusResponse(_message.Message):
    __slots__ = ("log_id", "first_position", "last_position", "capture_lag_events", "capture_lag_seconds", "sink_positions")
    class SinkPositionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    LOG_ID_FIELD_NUMBER: _ClassVar[int]
    FIRST_POSITION_FIELD_NUMBER: _ClassVar[int]
    LAST_POSITION_FIELD_NUMBER: _ClassVar[int]
    CAPTURE_LAG_EVENTS_FIELD_NUMBER: _ClassVar[int]
    CAPTURE_LAG_SECONDS_FIELD_NUMBER: _ClassVar[int]
    SINK_POSITIONS_FIELD_NUMBER: _ClassVar[int]
    log_id: str
    first_position: int
    last_position: int
    capture_lag_events: int
    capture_lag_seconds: float
    sink_positions: _containers.ScalarMap[str, int]
    def __init__(self, log_id: _Optional[str] = ..., first_position: _Optional[int] = ..., last_position: _Optional[int] = ..., capture_lag_events: _Optional[int] = ..., capture_lag_seconds: _Optional[float] = ..., sink_positions: _Optional[_Mapping[str, int]] = ...) -> None: ...
