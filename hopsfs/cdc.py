"""The CDC service's Python client: subscribe to the change stream, search, provenance, lineage.

    import hopsfs.cdc
    for event in hopsfs.cdc.subscribe("grpc://127.0.0.1:8021", from_position=1, prefix="/data"):
        handle(event)            # a hopsfs.cdc_events.ChangeRecord, in commit order
        save(event.position + 1)  # resume from here after a restart: nothing is missed

Delivery is at least once, in commit order (so in order per inode). A subscription survives the
service restarting: it reconnects and resumes after the last event it handed out, for up to
`reconnect_timeout_s` seconds (a restart on a loaded machine can take tens of seconds). A position
that retention removed raises PositionOutOfRange; a position saved from a log the service no longer
has raises LogReplaced. Plain gRPC: no server package is imported here.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import grpc

from hopsfs.cdc_events import ChangeRecord, decode_event
from hopsfs.errors import FileNotFound, HopsFSError, InvalidArgument
from hopsfs.protocol.proto import cdc_pb2, cdc_pb2_grpc

CDC_URL_ENV = "HOPSFS_CDC_URL"
CDC_URL_DEFAULT = "grpc://127.0.0.1:8021"
RECONNECT_TIMEOUT_S = 120.0
RECONNECT_BACKOFF_S_MAX = 1.0
CALL_TIMEOUT_S = 30.0
FROM_OLDEST = 0  # from_position: the oldest retained event


class CdcError(HopsFSError):
    """The CDC service refused or failed a call."""


class CdcUnavailable(CdcError):
    """The CDC service could not be reached (after the reconnect attempts)."""


class PositionOutOfRange(CdcError):
    """The position asked for is not retained any more (or is past the log's end)."""


class LogReplaced(CdcError):
    """The service's log is not the one the saved position came from (its state was replaced)."""


@dataclass(frozen=True, slots=True)
class SearchHit:
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
    xattrs: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LineageEdge:
    source_inode_id: int
    source_path: str
    target_inode_id: int
    target_path: str
    app_id: str
    time_ms: int
    depth: int


@dataclass(frozen=True, slots=True)
class ProvenanceEntry:
    position: int
    operation: str
    user: str
    app_id: str
    time_ms: int
    path: str
    read_count: int


@dataclass(frozen=True, slots=True)
class CdcStatus:
    log_id: str
    first_position: int
    last_position: int
    capture_lag_events: int
    capture_lag_seconds: float
    sink_positions: dict[str, int]


def default_url() -> str:
    return os.environ.get(CDC_URL_ENV) or CDC_URL_DEFAULT


class Subscription:
    """An iterator of events; `next_position` is where a new subscription would resume."""

    def __init__(
        self,
        url: str,
        request: cdc_pb2.SubscribeRequest,
        reconnect_timeout_s: float,
        idle_timeout_s: float | None = None,
    ) -> None:
        self._target = grpc_target(url)
        self._request = request
        self._reconnect_timeout_s = reconnect_timeout_s
        # When the service became unreachable (None while it answers).
        self._unreachable_since: float | None = None
        self._idle_timeout_s = idle_timeout_s
        self._channel: grpc.Channel | None = None
        self._call: object | None = None
        self.next_position: int | None = None  # known after the first response
        self.log_id: str | None = request.expected_log_id or None
        self._closed = False

    def __iter__(self) -> Iterator[ChangeRecord]:
        failures = 0
        event_s = time.monotonic()
        while not self._closed:
            try:
                for response in self._responses():
                    failures = 0
                    self._unreachable_since = None
                    self.log_id = response.log_id
                    for message in response.events:
                        record = decode_event(message)
                        self.next_position = record.position + 1
                        yield record
                        event_s = time.monotonic()
                    self.next_position = response.next_position
                    self._check_idle(event_s)
            except grpc.RpcError as error:
                failures = self._after_error(error, failures)
            finally:
                self._close_channel()

    def _check_idle(self, event_s: float) -> None:
        # The service sends a response at least once a second, events or not: this runs regularly.
        if self._idle_timeout_s is not None and time.monotonic() - event_s > self._idle_timeout_s:
            raise TimeoutError(f"no event from the CDC service for {self._idle_timeout_s} s")

    def close(self) -> None:
        self._closed = True
        if self._call is not None:
            self._call.cancel()  # type: ignore[attr-defined]
        self._close_channel()

    def _responses(self) -> Iterable[cdc_pb2.SubscribeResponse]:
        request = cdc_pb2.SubscribeRequest()
        request.CopyFrom(self._request)
        if self.next_position is not None:
            request.from_position = self.next_position  # resume: replaces "from now" too
        if self.log_id:
            request.expected_log_id = self.log_id
        self._channel = grpc.insecure_channel(self._target)
        stub = cdc_pb2_grpc.ChangeStreamStub(self._channel)
        call = stub.Subscribe(request)
        self._call = call
        return call  # type: ignore[no-any-return]

    def _after_error(self, error: grpc.RpcError, failures: int) -> int:
        code = error.code()  # type: ignore[attr-defined]
        details = error.details()  # type: ignore[attr-defined]
        if self._closed or code == grpc.StatusCode.CANCELLED:
            self._closed = True
            return failures
        if code == grpc.StatusCode.OUT_OF_RANGE:
            raise PositionOutOfRange(details) from None
        if code == grpc.StatusCode.FAILED_PRECONDITION:
            raise LogReplaced(details) from None
        if code == grpc.StatusCode.INVALID_ARGUMENT:
            raise InvalidArgument(details) from None
        now = time.monotonic()
        if self._unreachable_since is None:
            self._unreachable_since = now
        if code != grpc.StatusCode.UNAVAILABLE or now - self._unreachable_since > self._reconnect_timeout_s:
            raise CdcUnavailable(f"CDC service at {self._target}: {code.name}: {details}") from None
        time.sleep(min(RECONNECT_BACKOFF_S_MAX, 0.05 * 2**failures))
        return failures + 1

    def _close_channel(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = None


def subscribe(
    url: str | None = None,
    from_position: int | None = None,
    prefix: str | None = None,
    operations: Iterable[str] | None = None,
    *,
    log_id: str | None = None,
    batch_events_max: int = 0,
    reconnect_timeout_s: float = RECONNECT_TIMEOUT_S,
    idle_timeout_s: float | None = None,
) -> Subscription:
    """Events from `from_position` on (inclusive; FROM_OLDEST for the oldest retained; None: only
    events committed from now on), optionally only at or below `prefix` and of `operations`.
    With `idle_timeout_s`, iteration raises TimeoutError after that long without an event."""
    request = cdc_pb2.SubscribeRequest(
        path_prefix=prefix or "",
        operations=list(operations or ()),
        batch_events_max=batch_events_max,
        expected_log_id=log_id or "",
    )
    if from_position is None:
        request.from_now = True
    elif from_position < 0:
        raise InvalidArgument(f"positions are not negative: {from_position}")
    else:
        request.from_position = from_position
    return Subscription(url or default_url(), request, reconnect_timeout_s, idle_timeout_s)


def search(url: str | None, query: str, prefix: str | None = None, limit: int = 20) -> list[SearchHit]:
    """Files and directories matching a tantivy query (name, path and xattrs by default)."""
    request = cdc_pb2.SearchRequest(query=query, path_prefix=prefix or "", limit=limit)
    response = _unary(url, "Search", request)
    return [
        SearchHit(
            path=hit.path,
            name=hit.name,
            inode_id=hit.inode_id,
            owner=hit.owner,
            group=hit.group,
            size=hit.size,
            modification_time=hit.modification_time,
            access_time=hit.access_time,
            kind=hit.kind,
            score=hit.score,
            xattrs=dict(hit.xattrs),
        )
        for hit in response.hits
    ]


def lineage(url: str | None, path: str, *, upstream: bool = True, depth_max: int = 0) -> list[LineageEdge]:
    """What `path` was derived from (upstream) or what was derived from it (downstream)."""
    direction = cdc_pb2.LineageRequest.UPSTREAM if upstream else cdc_pb2.LineageRequest.DOWNSTREAM
    response = _unary(
        url, "Lineage", cdc_pb2.LineageRequest(path=path, direction=direction, depth_max=depth_max)
    )
    return [
        LineageEdge(
            source_inode_id=edge.source_inode_id,
            source_path=edge.source_path,
            target_inode_id=edge.target_inode_id,
            target_path=edge.target_path,
            app_id=edge.app_id,
            time_ms=edge.time_ms,
            depth=edge.depth,
        )
        for edge in response.edges
    ]


def provenance(url: str | None, path: str, limit: int = 0) -> list[ProvenanceEntry]:
    """Who (user, application) did what to `path`, newest first."""
    response = _unary(url, "Provenance", cdc_pb2.ProvenanceRequest(path=path, limit=limit))
    return [
        ProvenanceEntry(
            position=record.position,
            operation=record.operation,
            user=record.user,
            app_id=record.app_id,
            time_ms=record.time_ms,
            path=record.path,
            read_count=record.read_count,
        )
        for record in response.records
    ]


def status(url: str | None = None) -> CdcStatus:
    response = _unary(url, "Status", cdc_pb2.StatusRequest())
    return CdcStatus(
        log_id=response.log_id,
        first_position=response.first_position,
        last_position=response.last_position,
        capture_lag_events=response.capture_lag_events,
        capture_lag_seconds=response.capture_lag_seconds,
        sink_positions=dict(response.sink_positions),
    )


def grpc_target(url: str) -> str:
    """ "grpc://host:port" or "host:port" -> what grpc.insecure_channel takes."""
    target = url.removeprefix("grpc://").rstrip("/")
    if not target or ":" not in target:
        raise InvalidArgument(f"a CDC URL is grpc://HOST:PORT, not {url!r}")
    return target


def _unary(url: str | None, method: str, request: object) -> object:
    target = grpc_target(url or default_url())
    with grpc.insecure_channel(target) as channel:
        stub = cdc_pb2_grpc.ChangeStreamStub(channel)
        try:
            return getattr(stub, method)(request, timeout=CALL_TIMEOUT_S)
        except grpc.RpcError as error:
            code = error.code()  # type: ignore[attr-defined]
            details = error.details()  # type: ignore[attr-defined]
            if code == grpc.StatusCode.NOT_FOUND:
                raise FileNotFound(details) from None
            if code == grpc.StatusCode.INVALID_ARGUMENT:
                raise InvalidArgument(details) from None
            if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                raise CdcUnavailable(f"CDC service at {target}: {code.name}: {details}") from None
            raise CdcError(f"CDC service at {target}: {code.name}: {details}") from None
