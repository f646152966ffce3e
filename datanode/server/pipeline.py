"""The packet phase of a write: receive, forward, store, acknowledge (Hadoop's BlockReceiver and
PacketResponder).

Three tasks per write:
- the receiver reads each packet from upstream, forwards it unchanged to the mirror (the next datanode)
  first, hands data packets to the disk writer and queues an ack entry;
- the disk writer stores packets one after another in a pool thread (checksums verified there, so a
  bad packet stores nothing); after the first failure every later packet fails with the same status;
- the responder acks in seqno order, each only once this datanode stored the packet and the mirror
  acked it: [own status, *mirror statuses], or [own status, ERROR] when the mirror failed, so the client
  can rebuild the pipeline without it. The last packet's ack waits for the replica to be finalized.

Any status other than SUCCESS ends the write (the codec closes the connection). Bounds: at most
`packets_in_flight_max` packets between receipt and ack; every socket wait runs under `io_timeout_s`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from datanode.server.active_writes import ActiveWrite
from datanode.server.channel import Channel, EventSource
from datanode.server.context import ServerContext
from datanode.server.mirror import Mirror, MirrorFailed
from datanode.server.statuses import status_of
from datanode.storage import ReplicaRecord
from hopsfs.errors import HopsFSError
from hopsfs.invariants import check
from hopsfs.protocol.dtp_codec import DataTransferServerConnection
from hopsfs.protocol.dtp_events import ConnectionClosed, PacketReceived, ServerEvent
from hopsfs.protocol.dtp_wire import ERROR, SUCCESS, status_name

LOGGER = logging.getLogger("hopsfs.datanode.pipeline")
# Packets stored by one pool call: a batch of waiting packets costs one thread handoff, not one each.
STORE_BATCH_PACKETS_MAX = 32


class UpstreamGone(HopsFSError):
    """The client (or upstream datanode) closed the connection before the last packet."""


@dataclass(frozen=True, slots=True)
class WriteTarget:
    """The replica a pipeline writes and what happens at its end."""

    block_id: int
    genstamp: int
    finalize_at_end: bool


@dataclass(frozen=True, slots=True)
class PipelineOutcome:
    completed: bool  # the last packet was stored and acknowledged with SUCCESS all along
    final_record: ReplicaRecord | None  # the replica after the last packet (finalized unless TRANSFER_RBW)


@dataclass(slots=True)
class _AckEntry:
    seqno: int
    last: bool
    end_offset: int | None  # block offset after the packet's data; None for heartbeats
    stored: asyncio.Future[int]  # this datanode's status for the packet


@dataclass(frozen=True, slots=True)
class _DiskJob:
    packet: PacketReceived
    stored: asyncio.Future[int]


class PacketPipeline:
    def __init__(
        self,
        context: ServerContext,
        upstream: EventSource[ServerEvent],
        codec: DataTransferServerConnection,
        mirror: Mirror | None,
        target: WriteTarget,
        write: ActiveWrite,
    ) -> None:
        self._context = context
        self._upstream = upstream
        self._channel: Channel = upstream.channel
        self._codec = codec
        self._mirror = mirror
        self._target = target
        self._write = write
        self._timeout_s = context.limits.io_timeout_s
        in_flight = context.limits.packets_in_flight_max
        self._acks: asyncio.Queue[_AckEntry] = asyncio.Queue(maxsize=in_flight)
        self._disk_jobs: asyncio.Queue[_DiskJob] = asyncio.Queue(maxsize=in_flight)
        self._final_record: ReplicaRecord | None = None

    async def run(self) -> PipelineOutcome:
        """Run until the last packet is acknowledged or the write fails; never raises for peer failures."""
        receiver = asyncio.create_task(self._receive(), name=f"receive-blk_{self._target.block_id}")
        responder = asyncio.create_task(self._respond(), name=f"respond-blk_{self._target.block_id}")
        disk_writer = asyncio.create_task(self._store_packets(), name=f"store-blk_{self._target.block_id}")
        try:
            done, _ = await asyncio.wait({receiver, responder}, return_when=asyncio.FIRST_COMPLETED)
            if receiver in done and receiver.exception() is None:
                completed = await responder
            elif responder in done:
                completed = responder.result()
            else:
                self._log_receiver_failure(receiver.exception())
                completed = False
        finally:
            for task in (receiver, responder, disk_writer):
                task.cancel()
            # The disk writer lets its pool thread finish before it ends: the replica is released.
            await asyncio.gather(receiver, responder, disk_writer, return_exceptions=True)
        return PipelineOutcome(completed, self._final_record)

    async def _receive(self) -> None:
        # One packet per round; the codec bounds in-flight packets and the last one ends the loop.
        while True:
            event = await self._upstream.next_event(self._timeout_s)
            if isinstance(event, ConnectionClosed):
                raise UpstreamGone(f"{self._channel.peer} closed the write before its last packet")
            check(isinstance(event, PacketReceived), "a write stream carries packets only")
            assert isinstance(event, PacketReceived)
            header = event.header
            if self._mirror is not None and not self._mirror.failed:
                try:
                    await self._mirror.forward(event)
                except MirrorFailed as error:
                    LOGGER.warning("blk_%d: mirror lost: %s", self._target.block_id, error)
            stored: asyncio.Future[int] = asyncio.get_running_loop().create_future()
            if header.is_heartbeat:
                stored.set_result(SUCCESS)
            else:
                await self._disk_jobs.put(_DiskJob(event, stored))
            end_offset = None if header.is_heartbeat else header.offset_in_block + header.data_length
            await self._acks.put(_AckEntry(header.seqno, header.last_packet_in_block, end_offset, stored))
            if header.last_packet_in_block:
                return

    async def _store_packets(self) -> None:
        """Store packets in order, those waiting taken together (one pool call per batch)."""
        failed_status: int | None = None
        while True:
            jobs = [await self._disk_jobs.get()]
            while len(jobs) < STORE_BATCH_PACKETS_MAX and not self._disk_jobs.empty():
                jobs.append(self._disk_jobs.get_nowait())
            if failed_status is None:
                stored, failed_status = await self._store_batch([job.packet for job in jobs])
            else:
                stored = 0
            for index, job in enumerate(jobs):
                if not job.stored.done():
                    job.stored.set_result(SUCCESS if index < stored else failed_status or ERROR)

    async def _store_batch(self, packets: list[PacketReceived]) -> tuple[int, int | None]:
        """Store `packets` in a pool thread: (how many were stored, the failure status or None).
        Waits out its thread even when cancelled, so nothing writes the replica after the pipeline."""
        work = asyncio.ensure_future(self._context.run_blocking(self._store_blocking, packets))
        try:
            stored, error = await asyncio.shield(work)
        except asyncio.CancelledError:
            await asyncio.wait({work})
            raise
        self._context.metrics.add(
            "bytes_written", sum(packet.header.data_length for packet in packets[:stored])
        )
        if error is None:
            return stored, None
        header = packets[stored].header
        LOGGER.warning(
            "blk_%d: packet %d at %d from %s not stored: %s",
            self._target.block_id,
            header.seqno,
            header.offset_in_block,
            self._channel.peer,
            error,
        )
        self._context.metrics.add("packets_refused")
        return stored, status_of(error)

    def _store_blocking(self, packets: list[PacketReceived]) -> tuple[int, BaseException | None]:
        """Append packets in order until one fails: (packets stored, the error or None)."""
        store, target = self._context.store, self._target
        for index, packet in enumerate(packets):
            header = packet.header
            if header.last_packet_in_block:
                continue  # no data: its place in the order is all it needs
            try:
                store.append(
                    target.block_id, target.genstamp, header.offset_in_block, packet.data, packet.checksums
                )
                if header.sync_block:
                    store.sync(target.block_id, target.genstamp)
            except (HopsFSError, OSError) as error:
                return index, error
        return len(packets), None

    async def _respond(self) -> bool:
        """Ack every packet in order; True once the last one was acknowledged with SUCCESS all along."""
        while True:
            entry = await self._acks.get()
            downstream = await self._downstream_statuses(entry.seqno)
            own = await entry.stored
            if entry.last and own == SUCCESS:
                own = await self._close_replica()
            statuses = [own, *downstream]
            frame = self._codec.send_ack(entry.seqno, statuses)
            try:
                await self._channel.send(frame, self._timeout_s)
            except (OSError, TimeoutError) as error:
                LOGGER.info("blk_%d: ack to %s failed: %r", self._target.block_id, self._channel.peer, error)
                return False
            if entry.end_offset is not None and own == SUCCESS:
                self._write.bytes_acked = max(self._write.bytes_acked, entry.end_offset)
            if any(status != SUCCESS for status in statuses):
                LOGGER.warning(
                    "blk_%d: packet %d acked %s",
                    self._target.block_id,
                    entry.seqno,
                    [status_name(status) for status in statuses],
                )
                return False
            if entry.last:
                return True

    async def _downstream_statuses(self, seqno: int) -> list[int]:
        mirror = self._mirror
        if mirror is None:
            return []
        if mirror.failed:
            return [ERROR]
        try:
            ack = await mirror.next_ack()
        except MirrorFailed as error:
            LOGGER.warning(
                "blk_%d: no ack for packet %d from the mirror: %s", self._target.block_id, seqno, error
            )
            return [ERROR]
        if ack.seqno != seqno:
            mirror.failed = True
            return [ERROR]
        return list(ack.statuses)

    async def _close_replica(self) -> int:
        """Finalize (or, for TRANSFER_RBW, sync) the replica once its last packet is stored."""
        store, target = self._context.store, self._target
        try:
            if target.finalize_at_end:
                self._final_record = await self._context.run_blocking(
                    store.finalize, target.block_id, target.genstamp
                )
                # Reported before the last ack goes upstream (as HDFS's PacketResponder does), so the
                # namenode usually knows the replica by the time the writer asks to complete the file.
                self._context.events.replica_received(self._final_record)
            else:
                await self._context.run_blocking(store.sync, target.block_id, target.genstamp)
                self._final_record = await self._context.run_blocking(store.get, target.block_id)
        except (HopsFSError, OSError) as error:
            LOGGER.error("blk_%d: cannot close the replica: %s", target.block_id, error)
            return status_of(error)
        return SUCCESS

    def _log_receiver_failure(self, error: BaseException | None) -> None:
        block_id, peer = self._target.block_id, self._channel.peer
        if isinstance(error, UpstreamGone | TimeoutError | ConnectionError):
            LOGGER.info("blk_%d: write from %s ended early: %r", block_id, peer, error)
        else:
            self._context.metrics.add("protocol_errors")
            LOGGER.warning("blk_%d: write from %s broke off: %r", block_id, peer, error)
        with contextlib.suppress(OSError):
            self._channel.shutdown()
