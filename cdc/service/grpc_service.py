"""The gRPC front end (grpc.aio): subscriptions by server streaming, and the sinks' queries.

Subscribe streams events from the durable log from a position (or "now"), in log order (commit
order, so per-inode order too), at least once: a consumer resumes from the last position it
processed, or from the `next_position` of the last response it got. Retention never silently skips
events: a subscription asking for, or overtaken by, a position before the oldest retained event
fails with OUT_OF_RANGE and says which positions are left. Back-pressure: each response is written
with `await context.write`, which waits for the client's flow-control window.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, NoReturn

import grpc

from cdc.log import DurableLog
from cdc.service.filters import EventFilter, event_filter
from cdc.settings import (
    LINEAGE_DEPTH_DEFAULT,
    LINEAGE_DEPTH_MAX,
    PROVENANCE_RECORDS_DEFAULT,
    PROVENANCE_RECORDS_MAX,
    SEARCH_RESULTS_DEFAULT,
    SEARCH_RESULTS_MAX,
    SUBSCRIBE_BATCH_EVENTS_DEFAULT,
    SUBSCRIBE_BATCH_EVENTS_MAX,
    SUBSCRIBE_WAIT_S,
    SUBSCRIBERS_MAX,
)
from cdc.sinks.provenance import ProvenanceSink
from cdc.sinks.search import SearchSink
from hopsfs.errors import FileNotFound, HopsFSError, InvalidArgument, InvalidPath
from hopsfs.protocol.proto import cdc_pb2, cdc_pb2_grpc

log = logging.getLogger("hopsfs.cdc.service")


@dataclass(slots=True)
class DeliveryCounters:
    subscribers: int = 0
    subscriptions_total: int = 0
    events_delivered: int = 0
    out_of_range_total: int = 0


class ChangeStreamService(cdc_pb2_grpc.ChangeStreamServicer):
    def __init__(
        self,
        durable_log: DurableLog,
        search: SearchSink,
        provenance: ProvenanceSink,
        sink_positions: Callable[[], dict[str, int]],
        status: Callable[[], cdc_pb2.StatusResponse],
    ) -> None:
        self.log = durable_log
        self.search = search
        self.provenance = provenance
        self.counters = DeliveryCounters()
        self._sink_positions = sink_positions
        self._status = status
        self._loop = asyncio.get_running_loop()
        self._appended = asyncio.Event()
        durable_log.add_listener(lambda _: self._loop.call_soon_threadsafe(self._wake))

    # -- subscriptions --------------------------------------------------------------------------

    async def Subscribe(self, request: cdc_pb2.SubscribeRequest, context: Any) -> None:
        if self.counters.subscribers >= SUBSCRIBERS_MAX:
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, f"at most {SUBSCRIBERS_MAX} subscribers")
        if request.expected_log_id and request.expected_log_id != self.log.log_id:
            await context.abort(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"positions of log {request.expected_log_id} mean nothing in this service's log "
                f"{self.log.log_id} (its state was replaced); subscribe from a position of this log",
            )
        chosen = await _checked(context, lambda: event_filter(request.path_prefix, request.operations))
        position = await self._start_position(request, context)
        batch_events_max = min(
            request.batch_events_max or SUBSCRIBE_BATCH_EVENTS_DEFAULT, SUBSCRIBE_BATCH_EVENTS_MAX
        )
        self.counters.subscribers += 1
        self.counters.subscriptions_total += 1
        try:
            await self._stream(context, chosen, position, batch_events_max)
        finally:
            self.counters.subscribers -= 1

    async def _start_position(self, request: cdc_pb2.SubscribeRequest, context: Any) -> int:
        if request.WhichOneof("start") == "from_now":
            return self.log.last_position + 1
        position = request.from_position or self.log.first_position
        if position < self.log.first_position:
            await self._out_of_range(context, position)
        if position > self.log.last_position + 1:
            await context.abort(
                grpc.StatusCode.OUT_OF_RANGE,
                f"position {position} is past the log's end (next: {self.log.last_position + 1})",
            )
        return position

    async def _stream(self, context: Any, chosen: EventFilter, position: int, batch_events_max: int) -> None:
        log_id = self.log.log_id
        # First, where the subscription starts: a "from now" consumer that reconnects resumes there.
        await context.write(cdc_pb2.SubscribeResponse(next_position=position, log_id=log_id))
        sent_s = time.monotonic()
        everything = not chosen.prefix and not chosen.operations
        while True:
            found = self.log.read_raw(position, batch_events_max)
            if not found:
                await self._wait(position)
                if time.monotonic() - sent_s >= SUBSCRIBE_WAIT_S:
                    # Idle: tell the consumer where it stands (and notice a client that went away).
                    await context.write(cdc_pb2.SubscribeResponse(next_position=position, log_id=log_id))
                    sent_s = time.monotonic()
                continue
            if found[0][0] != position:
                await self._out_of_range(context, position)
            response = cdc_pb2.SubscribeResponse(next_position=found[-1][0] + 1, log_id=log_id)
            for _, data in found:
                event = response.events.add()
                event.MergeFromString(data)
                if not everything and not chosen.matches(event):
                    del response.events[-1]
            position = response.next_position
            if response.events or time.monotonic() - sent_s >= SUBSCRIBE_WAIT_S:
                await context.write(response)
                self.counters.events_delivered += len(response.events)
                sent_s = time.monotonic()

    async def _out_of_range(self, context: Any, position: int) -> NoReturn:
        self.counters.out_of_range_total += 1
        await context.abort(
            grpc.StatusCode.OUT_OF_RANGE,
            f"position {position} is no longer retained: the oldest event is at {self.log.first_position} "
            "(retention); resubscribe from there, or from now, and rebuild what depended on the gap",
        )
        raise AssertionError("abort returned")  # grpc's abort always raises

    async def _wait(self, position: int) -> None:
        if self.log.last_position >= position:
            return
        appended = self._appended
        try:
            await asyncio.wait_for(appended.wait(), SUBSCRIBE_WAIT_S)
        except TimeoutError:
            return

    def _wake(self) -> None:
        appended, self._appended = self._appended, asyncio.Event()
        appended.set()

    # -- queries --------------------------------------------------------------------------------

    async def Search(self, request: cdc_pb2.SearchRequest, context: Any) -> cdc_pb2.SearchResponse:
        limit = min(request.limit or SEARCH_RESULTS_DEFAULT, SEARCH_RESULTS_MAX)
        found = await _checked(
            context,
            lambda: asyncio.to_thread(self.search.search, request.query, request.path_prefix or None, limit),
        )
        response = cdc_pb2.SearchResponse(indexed_position=self._sink_positions().get(self.search.name, 0))
        for score, inode in found:
            response.hits.add(
                path=inode.path,
                name=inode.name,
                inode_id=inode.inode_id,
                owner=inode.owner,
                group=inode.group,
                size=inode.size,
                modification_time=inode.modification_time,
                access_time=inode.access_time,
                kind=inode.kind,
                score=score,
                xattrs=inode.xattrs,
            )
        return response

    async def Lineage(self, request: cdc_pb2.LineageRequest, context: Any) -> cdc_pb2.LineageResponse:
        depth_max = min(request.depth_max or LINEAGE_DEPTH_DEFAULT, LINEAGE_DEPTH_MAX)
        upstream = request.direction == cdc_pb2.LineageRequest.UPSTREAM
        return await _checked(
            context, lambda: asyncio.to_thread(self._lineage, request.path, upstream, depth_max)
        )

    def _lineage(self, path: str, upstream: bool, depth_max: int) -> cdc_pb2.LineageResponse:
        inode_id = self._inode_at(path)
        response = cdc_pb2.LineageResponse()
        paths: dict[int, str] = {}
        for edge in self.provenance.lineage(inode_id, upstream, depth_max):
            response.edges.add(
                source_inode_id=edge.source_id,
                source_path=self._path_of(edge.source_id, paths),
                target_inode_id=edge.target_id,
                target_path=self._path_of(edge.target_id, paths),
                app_id=edge.app_id,
                time_ms=edge.time_ms,
                depth=edge.depth,
            )
        return response

    async def Provenance(
        self, request: cdc_pb2.ProvenanceRequest, context: Any
    ) -> cdc_pb2.ProvenanceResponse:
        limit = min(request.limit or PROVENANCE_RECORDS_DEFAULT, PROVENANCE_RECORDS_MAX)
        return await _checked(context, lambda: asyncio.to_thread(self._provenance, request.path, limit))

    def _provenance(self, path: str, limit: int) -> cdc_pb2.ProvenanceResponse:
        inode_id = self._inode_at(path)
        response = cdc_pb2.ProvenanceResponse(inode_id=inode_id)
        for record in self.provenance.history(inode_id, limit):
            response.records.add(
                position=record.position,
                operation=record.operation,
                user=record.user,
                app_id=record.app_id,
                time_ms=record.time_ms,
                path=record.path,
                read_count=record.read_count,
            )
        return response

    async def Status(self, request: cdc_pb2.StatusRequest, context: Any) -> cdc_pb2.StatusResponse:
        return self._status()

    def _inode_at(self, path: str) -> int:
        if not path.startswith("/"):
            raise InvalidArgument(f"a path is absolute: {path!r}")
        normalized = path.rstrip("/") or "/"
        inode_id = self.search.inode_at(normalized) or self.provenance.last_inode_at(normalized)
        if inode_id is None:
            raise FileNotFound(f"no file has had the path {normalized} in the change stream")
        return inode_id

    def _path_of(self, inode_id: int, known: dict[int, str]) -> str:
        if inode_id not in known:
            known[inode_id] = self.search.path_of(inode_id) or self.provenance.last_path_of(inode_id) or ""
        return known[inode_id]


_STATUS_OF_ERROR: tuple[tuple[type[HopsFSError], grpc.StatusCode], ...] = (
    (InvalidArgument, grpc.StatusCode.INVALID_ARGUMENT),
    (InvalidPath, grpc.StatusCode.INVALID_ARGUMENT),
    (FileNotFound, grpc.StatusCode.NOT_FOUND),
)


async def _checked(context: Any, call: Callable[[], Any]) -> Any:
    """Run `call` (a value or an awaitable); a hopsfs error becomes the matching gRPC status."""
    try:
        result = call()
        if isinstance(result, Awaitable):
            result = await result
        return result
    except HopsFSError as error:
        for error_class, code in _STATUS_OF_ERROR:
            if isinstance(error, error_class):
                await context.abort(code, str(error))
        log.exception("query failed")
        await context.abort(grpc.StatusCode.INTERNAL, f"{type(error).__name__}: {error}")
