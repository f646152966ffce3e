"""Streaming a file's packets through block pipelines, as HDFS's DataStreamer does.

One task per output stream takes packets from a queue and sends them down the current block's
pipeline; the pipeline's responder hands back acks. At most `packets_in_flight_max` packets are
queued or unacknowledged at once (`put` waits for room: the writer's back-pressure).

Per block: the first packet allocates it (addBlock, passing the previous block with its final length
and the datanodes to exclude) and sets up the pipeline (PIPELINE_SETUP_CREATE); a setup that fails
abandons the block, excludes the datanode to blame and asks again (`block_write_retries_max`). An
append's first packet instead reopens the file's last block (PIPELINE_SETUP_APPEND). The end-of-block
packet goes out only once every data packet is acknowledged; its ack finishes the block.

Pipeline recovery, when a datanode fails mid-block (a broken connection, an ERROR in an ack): drop
the datanode to blame, get a new generation stamp (updateBlockForPipeline), set up the rest again with
the recovery stage (STREAMING / APPEND / CLOSE _RECOVERY, latestGenerationStamp = the new stamp,
minBytesRcvd = bytes acknowledged), resend every unacknowledged packet, then updatePipeline. A close
recovery finalizes at once and sends nothing. No datanode left, or more than
`pipeline_recoveries_max` recoveries in one block, fails the stream with PipelineFailed: every later
write and the close raise it, and the file is never completed.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable

from hopsfs.client.data_context import DataContext
from hopsfs.client.write_packets import WritePacket
from hopsfs.client.write_pipeline import PipelineError, Stage, WritePipeline, write_block_request
from hopsfs.errors import HopsFSError, PipelineFailed
from hopsfs.invariants import check
from hopsfs.protocol.dtp_checksum import ChecksumSpec
from hopsfs.protocol.located_blocks import DatanodeInfo, ExtendedBlock, LocatedBlock

log = logging.getLogger(__name__)

_RECOVERY_STAGES = {
    Stage.PIPELINE_SETUP_APPEND: Stage.PIPELINE_SETUP_APPEND_RECOVERY,
    Stage.DATA_STREAMING: Stage.PIPELINE_SETUP_STREAMING_RECOVERY,
    Stage.PIPELINE_CLOSE: Stage.PIPELINE_CLOSE_RECOVERY,
}


class DataStreamer:
    def __init__(
        self,
        context: DataContext,
        path: str,
        file_id: int,
        *,
        block_size: int,
        checksum: ChecksumSpec,
        append_block: LocatedBlock | None = None,
    ) -> None:
        self._context = context
        self._settings = context.settings
        self._path = path
        self._file_id = file_id
        self._block_size = block_size
        self._checksum = checksum
        self._append_block = append_block
        self._queue: deque[WritePacket] = deque()
        self._unacked: deque[WritePacket] = deque()
        self._changed = asyncio.Event()
        self._closing = False
        self._failure: BaseException | None = None
        self._pipeline: WritePipeline | None = None
        self._pipeline_failure: PipelineError | None = None
        # Bumped per pipeline, so a late callback from a replaced pipeline is ignored.
        self._pipeline_generation = 0
        # The block being written, as the datanodes hold it (generation stamp), and its pipeline.
        self._block: ExtendedBlock | None = None
        # The oldest generation stamp a replica of the current block may carry: how OP_WRITE_BLOCK
        # names it (a datanode accepts a replica stamped between that and latestGenerationStamp).
        self._replica_stamp = 0
        self._nodes: tuple[DatanodeInfo, ...] = ()
        self._stage = Stage.PIPELINE_SETUP_CREATE
        self._acked_end = 0
        self._sent_end = 0
        self._recoveries_in_block = 0
        self._excluded: dict[str, DatanodeInfo] = {}
        self._last_queued_seqno = -1
        self._last_acked_seqno = -1
        # The last block finished, with its final length: addBlock's `previous`, complete's `last`.
        self.last_block: ExtendedBlock | None = None
        self.recoveries = 0
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"hopsfs-streamer {path}")

    # -- the writer's side ------------------------------------------------------------------------

    @property
    def failure(self) -> BaseException | None:
        return self._failure

    @property
    def current_block_length(self) -> int | None:
        """Bytes of the block being written that every datanode acknowledged; None between blocks."""
        return self._acked_end if self._block is not None else None

    async def put(self, packet: WritePacket) -> None:
        """Queue `packet`, waiting while `packets_in_flight_max` packets are queued or unacked."""
        limit = self._settings.packets_in_flight_max
        while self._failure is None and len(self._queue) + len(self._unacked) >= limit:
            self._changed.clear()
            await self._changed.wait()
        self._raise_failure()
        check(packet.seqno > self._last_queued_seqno, "packets are queued in seqno order")
        self._queue.append(packet)
        self._last_queued_seqno = packet.seqno
        self._changed.set()

    async def wait_acked(self) -> None:
        """Wait until every packet queued so far is acknowledged by the whole pipeline."""
        target = self._last_queued_seqno
        while self._failure is None and self._last_acked_seqno < target:
            self._changed.clear()
            await self._changed.wait()
        self._raise_failure()

    async def close(self) -> ExtendedBlock | None:
        """Send what is queued and wait for it; the last finished block (None for an empty file)."""
        self._closing = True
        self._changed.set()
        await asyncio.wait({self._task})
        self._raise_failure()
        check(not self._queue and not self._unacked, "a clean close leaves nothing unsent")
        return self.last_block

    async def abort(self) -> None:
        """Stop at once; nothing more is sent and the file is left for lease recovery."""
        if self._failure is None:
            self._failure = PipelineFailed(f"the output stream of {self._path} was aborted")
        self._task.cancel()
        await asyncio.wait({self._task})
        await self._close_pipeline()

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    # -- the streamer task ------------------------------------------------------------------------

    async def _run(self) -> None:
        try:
            while await self._step():
                pass
        except asyncio.CancelledError:
            raise
        except HopsFSError as error:  # kept for the writer, which raises it on its next call
            self._failure = error
            log.warning("writing %s failed: %s", self._path, error)
        except Exception as error:
            # Not an error we expect: keep the traceback in the log, and the writer fails all the same.
            self._failure = PipelineFailed(f"writing {self._path} failed: {error!r}")
            self._failure.__cause__ = error
            log.exception("writing %s failed unexpectedly", self._path)
        finally:
            self._changed.set()
            await self._close_pipeline()

    async def _step(self) -> bool:
        """One move of the streamer; False when the stream is finished."""
        self._changed.clear()
        if self._pipeline_failure is not None:
            await self._recover()
        elif self._block is not None and self._stage == Stage.PIPELINE_CLOSE:
            if self._unacked:
                await self._changed.wait()  # the end-of-block packet's ack finishes the block
            else:
                await self._end_block()
        elif not self._queue:
            if self._closing and not self._unacked:
                return False
            await self._wait_idle()
        elif self._queue[0].last_in_block and self._unacked:
            await self._changed.wait()  # HDFS: every data packet is acked before the end of the block
        elif self._pipeline is None:
            await self._open_pipeline()
        else:
            await self._send_next()
        return True

    async def _wait_idle(self) -> None:
        """Wait for work; an idle streaming pipeline sends a heartbeat now and then to stay open."""
        streaming = self._pipeline is not None and self._stage == Stage.DATA_STREAMING
        try:
            async with asyncio.timeout(self._settings.heartbeat_interval_s if streaming else None):
                await self._changed.wait()
        except TimeoutError:
            pipeline = self._pipeline
            if pipeline is not None:
                try:
                    pipeline.send_heartbeat()
                except PipelineError as error:
                    self._pipeline_failed(self._pipeline_generation, error)

    async def _send_next(self) -> None:
        pipeline = self._pipeline
        check(pipeline is not None, "packets are sent on an open pipeline")
        assert pipeline is not None
        packet = self._queue[0]
        try:
            pipeline.send(packet)
        except PipelineError as error:
            self._pipeline_failed(self._pipeline_generation, error)
            return
        self._queue.popleft()
        self._unacked.append(packet)
        self._sent_end = max(self._sent_end, packet.end)
        self._stage = Stage.PIPELINE_CLOSE if packet.last_in_block else Stage.DATA_STREAMING
        self._changed.set()  # room in the window for the writer
        try:
            await pipeline.drain()
        except PipelineError as error:
            self._pipeline_failed(self._pipeline_generation, error)

    # -- blocks -----------------------------------------------------------------------------------

    async def _open_pipeline(self) -> None:
        append_block, self._append_block = self._append_block, None
        if append_block is None:
            await self._allocate_block()
            return
        block = append_block.block
        # As HDFS's DataStreamer: append hands back the last block under its current stamp (the one its
        # replicas carry); the pipeline moves it to a fresh stamp from updateBlockForPipeline, and
        # updatePipeline records that stamp once the datanodes hold it.
        self._start_block(block, append_block.locations, Stage.PIPELINE_SETUP_APPEND, block.generation_stamp)
        if not self._nodes:
            raise PipelineFailed(f"the last block {block.name} of {self._path} has no replica to append to")
        updated = await self._context.namenode.update_block_for_pipeline(block)
        new_stamp = updated.block.generation_stamp
        try:
            await self._setup(self._nodes, Stage.PIPELINE_SETUP_APPEND, new_stamp)
        except PipelineError as error:
            self._pipeline_failure = error  # recovered as PIPELINE_SETUP_APPEND_RECOVERY
            return
        new_block = block.with_generation_stamp(new_stamp)
        await self._context.namenode.update_pipeline(block, new_block, self._nodes)
        self._block = new_block

    async def _allocate_block(self) -> None:
        attempts = self._settings.block_write_retries_max + 1
        failures: list[str] = []
        for _ in range(attempts):
            excluded = tuple(self._excluded.values())
            located = await self._context.namenode.add_block(
                self._path, self._file_id, self.last_block, excluded
            )
            if not located.locations:
                raise PipelineFailed(f"the namenode gave no datanode for a new block of {self._path}")
            stamp = located.block.generation_stamp
            self._start_block(located.block, located.locations, Stage.PIPELINE_SETUP_CREATE, stamp)
            try:
                await self._setup(self._nodes, Stage.PIPELINE_SETUP_CREATE, located.block.generation_stamp)
                return
            except PipelineError as error:
                bad = located.locations[error.bad_index]
                self._excluded[bad.uuid] = bad
                failures.append(f"{bad.transfer_name}: {error.reason}")
                log.warning(
                    "pipeline for %s of %s failed (%s); abandoning it", located.block.name, self._path, error
                )
                self._block = None
                await self._context.namenode.abandon_block(self._path, self._file_id, located.block)
        raise PipelineFailed(f"Unable to create new block for {self._path}: {'; '.join(failures)}")

    def _start_block(
        self, block: ExtendedBlock, nodes: tuple[DatanodeInfo, ...], stage: int, replica_stamp: int
    ) -> None:
        self._block = block
        self._replica_stamp = replica_stamp
        self._nodes = nodes
        self._stage = stage
        self._acked_end = self._sent_end = block.num_bytes
        self._recoveries_in_block = 0

    async def _setup(self, nodes: tuple[DatanodeInfo, ...], stage: int, latest_generation_stamp: int) -> None:
        """A pipeline through `nodes` for the current block; PipelineError when it cannot be built."""
        block = self._block
        check(block is not None, "a pipeline is for the current block")
        assert block is not None
        # OP_WRITE_BLOCK names the block by the oldest stamp a replica of it may still carry; the
        # datanodes move it to `latest_generation_stamp`.
        request = write_block_request(
            block.with_generation_stamp(self._replica_stamp),
            nodes,
            client_name=self._context.namenode.client_name,
            stage=stage,
            latest_generation_stamp=latest_generation_stamp,
            min_bytes_received=self._acked_end,
            max_bytes_received=self._sent_end,
            block_size=self._block_size,
            checksum=self._checksum,
        )
        self._pipeline_generation += 1
        generation = self._pipeline_generation
        first = self._unacked[0] if self._unacked else (self._queue[0] if self._queue else None)
        self._pipeline = await WritePipeline.setup(
            nodes,
            request,
            first_seqno=first.seqno if first is not None else self._last_queued_seqno + 1,
            settings=self._settings,
            on_ack=self._ack_handler(generation),
            on_failure=lambda error: self._pipeline_failed(generation, error),
        )
        self._replica_stamp = latest_generation_stamp
        if stage != Stage.PIPELINE_CLOSE_RECOVERY:
            self._stage = Stage.DATA_STREAMING

    async def _end_block(self) -> None:
        block = self._block
        check(block is not None and not self._unacked, "a block ends once all its packets are acked")
        assert block is not None
        self.last_block = block.with_length(self._acked_end)
        self._block = None
        self._nodes = ()
        self._stage = Stage.PIPELINE_SETUP_CREATE
        await self._close_pipeline()
        self._changed.set()

    # -- acks and failures ------------------------------------------------------------------------

    def _ack_handler(self, generation: int) -> Callable[[int], None]:
        def acked(seqno: int) -> None:
            if generation != self._pipeline_generation:
                return
            check(bool(self._unacked) and self._unacked[0].seqno == seqno, "acks come in packet order")
            packet = self._unacked.popleft()
            self._acked_end = max(self._acked_end, packet.end)
            self._last_acked_seqno = seqno
            self._changed.set()

        return acked

    def _pipeline_failed(self, generation: int, error: PipelineError) -> None:
        if generation == self._pipeline_generation and self._pipeline_failure is None:
            self._pipeline_failure = error
            self._changed.set()

    async def _recover(self) -> None:
        """Rebuild the current block's pipeline without the datanode to blame, or fail the stream."""
        failure = self._pipeline_failure
        block = self._block
        check(failure is not None and block is not None, "recovery follows a failure in a block")
        assert failure is not None and block is not None
        self._pipeline_failure = None
        await self._close_pipeline()
        if self._stage == Stage.PIPELINE_CLOSE and not self._unacked:
            return  # the failure came after the block's last ack: the block is complete as it is
        stage = _RECOVERY_STAGES.get(self._stage, Stage.PIPELINE_SETUP_STREAMING_RECOVERY)
        nodes = list(self._nodes)
        while True:
            self._recoveries_in_block += 1
            self.recoveries += 1
            bad = nodes.pop(min(failure.bad_index, len(nodes) - 1))
            log.warning(
                "datanode %s failed writing %s of %s: %s", bad.transfer_name, block.name, self._path, failure
            )
            if not nodes or self._recoveries_in_block > self._settings.pipeline_recoveries_max:
                raise PipelineFailed(
                    f"All datanodes of block {block.name} of {self._path} are bad or recovered too often; "
                    f"aborting the write. Last failure: {failure.reason}"
                )
            updated = await self._context.namenode.update_block_for_pipeline(block)
            new_stamp = updated.block.generation_stamp
            try:
                await self._setup(tuple(nodes), stage, new_stamp)
            except PipelineError as error:
                failure = error
                continue
            new_block = block.with_generation_stamp(new_stamp).with_length(self._acked_end)
            await self._context.namenode.update_pipeline(block, new_block, nodes)
            self._block, self._nodes = new_block, tuple(nodes)
            self._resume_after_recovery(stage)
            return

    def _resume_after_recovery(self, stage: int) -> None:
        if stage == Stage.PIPELINE_CLOSE_RECOVERY:
            # The datanodes finalized the replica during setup: the end-of-block packet is done.
            end_packet = self._unacked.popleft()
            check(end_packet.last_in_block and not self._unacked, "a close recovery owes only the end packet")
            self._last_acked_seqno = end_packet.seqno
            self._changed.set()
            return
        pipeline = self._pipeline
        check(pipeline is not None, "a recovery that succeeded left a pipeline")
        assert pipeline is not None
        for packet in self._unacked:
            try:
                pipeline.send(packet)
            except PipelineError as error:
                self._pipeline_failed(self._pipeline_generation, error)
                return

    async def _close_pipeline(self) -> None:
        pipeline, self._pipeline = self._pipeline, None
        if pipeline is not None:
            self._pipeline_generation += 1
            await pipeline.wait_closed()
