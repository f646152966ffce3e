"""One datanode, assembled: started in dependency order and stopped in reverse.

Start: bind the DataTransferProtocol port (the registration carries it); start /metrics if asked;
register with a namenode (retried until one answers); refuse volumes that hold another block pool;
open the replica store for the registered pool; serve; then the full block report, heartbeats,
incremental reports, commands and the block scanner run as tasks.

Stop: stop accepting and give transfers `stop_grace_s` to finish (then abort them); stop the tasks;
flush pending incremental reports (bounded wait); close the store (flushes the replica index).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datanode.config import STOP_GRACE_S_DEFAULT, ScanSettings, TransferLimits
from datanode.identity import IDENTITY_FILE, DatanodeIdentity, load_or_create_identity
from datanode.namenode_link.commands import CommandExecutor
from datanode.namenode_link.convert import storage_report
from datanode.namenode_link.link import NamenodeLink
from datanode.namenode_link.reports import IncrementalReporter
from datanode.namenode_link.service import ForeignBlockPool, NamenodeService, identity_proto
from datanode.scanner import BlockScanner
from datanode.server.context import ServerContext
from datanode.server.server import DataTransferServer
from datanode.server.short_circuit import ShortCircuitServer
from datanode.storage import ReplicaState, ReplicaStore, StoreConfig
from datanode.storage.volume import VolumeCapacity
from hopsfs.errors import HopsFSError
from hopsfs.metrics_http import serve_metrics
from hopsfs.protocol.proto.datanode_namenode_pb2 import StorageReportProto

LOGGER = logging.getLogger("hopsfs.datanode")
HANDLER_THREADS_DEFAULT = 16
REPORT_FLUSH_TIMEOUT_S = 5.0
METRICS_REFRESH_S = 2.0


@dataclass(frozen=True, slots=True)
class DatanodeOptions:
    data_dir: Path
    namenodes: tuple[str, ...]
    volumes: tuple[Path, ...] = ()  # default: DATA_DIR/data
    host: str = "127.0.0.1"
    port: int = 0
    metrics_port: int | None = None  # None: no /metrics; 0: any free port
    identity_file: Path | None = None  # default: DATA_DIR/datanode-id.json
    limits: TransferLimits = field(default_factory=TransferLimits)
    scan: ScanSettings = field(default_factory=ScanSettings)
    handler_threads: int = HANDLER_THREADS_DEFAULT
    reserve_bytes: int = 0
    stop_grace_s: float = STOP_GRACE_S_DEFAULT
    # Serve short-circuit reads on this UNIX socket path (`_PORT`: the transfer port); None: no.
    domain_socket: str | None = None

    @property
    def volume_paths(self) -> tuple[Path, ...]:
        return self.volumes or (self.data_dir / "data",)


class Datanode:
    def __init__(self, options: DatanodeOptions) -> None:
        options.limits.validate()
        options.scan.validate()
        self.options = options
        self.identity: DatanodeIdentity = load_or_create_identity(
            options.identity_file or options.data_dir / IDENTITY_FILE
        )
        self.server = DataTransferServer()
        self.short_circuit: ShortCircuitServer | None = None
        self.executor = ThreadPoolExecutor(options.handler_threads, thread_name_prefix="datanode-io")
        self.link = NamenodeLink(options.namenodes)
        self.context: ServerContext | None = None
        self.service: NamenodeService | None = None
        self.scanner: BlockScanner | None = None
        self.commands: CommandExecutor | None = None
        self.reporter: IncrementalReporter | None = None
        self.metrics_port: int | None = None
        self._metrics_server: asyncio.Server | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._replica_counts = (0, 0)  # finalized, being written

    @property
    def port(self) -> int:
        return self.server.port

    async def start(self) -> None:
        options = self.options
        port = self.server.bind(options.host, options.port)
        if options.metrics_port is not None:
            self._metrics_server = await serve_metrics(
                options.host, options.metrics_port, self.render_metrics
            )
            self.metrics_port = int(self._metrics_server.sockets[0].getsockname()[1])
        identity = identity_proto(
            self.identity.datanode_uuid, self.identity.storage_id, options.host, port, self.metrics_port or 0
        )
        self.service = NamenodeService(self.link, identity)
        registration = await self.service.register(self._storage_before_open)
        _refuse_foreign_pools(options.volume_paths, registration.block_pool_id)
        loop = asyncio.get_running_loop()
        config = StoreConfig(
            options.volume_paths, registration.block_pool_id, reserve_bytes=options.reserve_bytes
        )
        store = await loop.run_in_executor(self.executor, ReplicaStore.open, config)
        self.reporter = IncrementalReporter(
            self.link, self.identity.datanode_uuid, registration.block_pool_id
        )
        self.context = ServerContext(
            store, registration.block_pool_id, self.executor, self.reporter, options.limits
        )
        await self.server.start(self.context)
        if options.domain_socket is not None:
            self.short_circuit = ShortCircuitServer(
                options.domain_socket, connections_max=options.limits.xceivers_max
            )
            self.short_circuit.start(self.context, port)
        self.commands = CommandExecutor(self.context, self.link, self.identity.datanode_uuid, self.reporter)
        self._spawn(self.reporter.run(), "incremental-reports")
        self._spawn(self.commands.run(), "commands")
        self._spawn(self.service.run(self.context, self.commands), "heartbeats")
        if options.metrics_port is not None:
            self._spawn(self._refresh_replica_counts(self.context), "metrics-refresh")
        if options.scan.enabled:
            self.scanner = BlockScanner(self.context, options.scan, self.reporter)
            self._spawn(self.scanner.run(), "block-scanner")

    async def stop(self) -> None:
        """Stop serving and release everything; safe after a start that failed or was cancelled."""
        if self.short_circuit is not None:
            self.short_circuit.stop()
        await self.server.stop(self.options.stop_grace_s)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.reporter is not None:
            # What transfers reported before they ended still reaches a namenode (bounded wait).
            with contextlib.suppress(HopsFSError, TimeoutError):
                await asyncio.wait_for(self.reporter.flush(), REPORT_FLUSH_TIMEOUT_S)
        await self.link.close()
        if self.context is not None:
            await asyncio.get_running_loop().run_in_executor(self.executor, self.context.store.close)
        self.executor.shutdown(wait=True)
        if self._metrics_server is not None:
            self._metrics_server.close()

    def render_metrics(self) -> str:
        """Prometheus text: counters now, replica counts as of the last refresh (never a store scan
        on the event loop)."""
        context = self.context
        if context is None:
            return ""
        gauges = {
            "active_transfers": float(context.active_transfers),
            "connections": float(self.server.connections),
            "replicas_finalized": float(self._replica_counts[0]),
            "replicas_being_written": float(self._replica_counts[1]),
            "replicas_bad": float(len(context.bad_replicas)),
            "incremental_reports_pending": float(self.reporter.pending if self.reporter else 0),
        }
        return context.metrics.render(gauges, context.store.capacities())

    async def _refresh_replica_counts(self, context: ServerContext) -> None:
        while True:
            records = await context.run_blocking(context.store.block_report)
            finalized = sum(1 for record in records if record.state is ReplicaState.FINALIZED)
            self._replica_counts = (finalized, len(records) - finalized)
            await asyncio.sleep(METRICS_REFRESH_S)

    def _storage_before_open(self) -> StorageReportProto:
        for path in self.options.volume_paths:
            path.mkdir(parents=True, exist_ok=True)
        return storage_report(_disk_capacity(path) for path in self.options.volume_paths)

    def _spawn(self, coroutine: Any, name: str) -> None:
        self._tasks.append(asyncio.get_running_loop().create_task(coroutine, name=name))


def _disk_capacity(path: Path) -> VolumeCapacity:
    stats = os.statvfs(path)
    total, free = stats.f_blocks * stats.f_frsize, stats.f_bavail * stats.f_frsize
    return VolumeCapacity(str(path), total, 0, 0, free)


def _refuse_foreign_pools(volumes: tuple[Path, ...], block_pool_id: str) -> None:
    """A volume that holds replicas of another block pool belongs to another cluster (or an erased one)."""
    for volume in volumes:
        current = volume / "current"
        if not current.is_dir():
            continue
        for entry in current.iterdir():
            if entry.is_dir() and entry.name != block_pool_id:
                raise ForeignBlockPool(
                    f"{volume} holds block pool {entry.name}, the namenodes serve {block_pool_id}: "
                    "use another volume directory, or remove it"
                )
