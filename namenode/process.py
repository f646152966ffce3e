"""`hopsfs namenode`: one namenode process in the foreground.

It opens the metadata store (formatting an empty embedded store first when asked), serves Hadoop IPC
until SIGINT or SIGTERM, then stops accepting, finishes the calls it started and exits 0. Once it
listens it prints one line, `hopsfs namenode serving hopsfs://HOST:PORT (pid N)`, which `hopsfs up`
and the tests wait for. With --metrics-port it also serves Prometheus text at /metrics and prints
`hopsfs namenode metrics on http://HOST:PORT/metrics` just before that line.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
from dataclasses import dataclass, field

from hopsfs.announce import namenode_datanode_service_line, namenode_metrics_line, namenode_ready_line
from hopsfs.config import DEFAULT_SUPERGROUP, current_user
from hopsfs.metrics_http import serve_metrics
from namenode.dal.store import MetadataStore
from namenode.datanode_rpc.server import DatanodeRpcServer
from namenode.engine.block_config import BlockManagerConfig
from namenode.engine.namespace import Namespace
from namenode.housekeeping_loop import HousekeepingLoop
from namenode.inline_block_server import InlineBlockServer
from namenode.ipc.server import HANDLER_THREADS_DEFAULT, NamenodeServer

HOUSEKEEPING_INTERVAL_MS_DEFAULT = 1_000


@dataclass(frozen=True, slots=True)
class NamenodeOptions:
    metadata_url: str
    host: str = "127.0.0.1"
    port: int = 8020
    reuse_port: bool = False
    handler_threads: int = HANDLER_THREADS_DEFAULT
    inline_reads: bool | None = None  # None: when the store is embedded SQLite
    metrics_port: int | None = None  # None: no /metrics endpoint; 0: any free port
    format_if_empty: bool = False
    datanode_port: int | None = 8022  # gRPC for datanodes; None: no datanode service; 0: any free port
    # DataTransferProtocol reads of small files by HDFS clients; None: not served; 0: any free port
    transfer_port: int | None = 8024
    housekeeping_interval_ms: int = HOUSEKEEPING_INTERVAL_MS_DEFAULT
    block_config: BlockManagerConfig = field(default_factory=BlockManagerConfig)


def run_namenode(options: NamenodeOptions) -> int:
    """Serve until a stop signal; returns the process exit code."""
    _use_uvloop()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    store = MetadataStore(options.metadata_url)
    try:
        if options.format_if_empty:
            now_ms = int(time.time() * 1000)
            store.format_if_empty(superuser=current_user(), supergroup=DEFAULT_SUPERGROUP, now_ms=now_ms)
        namespace = Namespace(store, block_config=options.block_config)
        asyncio.run(_serve(namespace, options))
    except OSError as error:
        # Almost always the port: taken by another process, or an address this host does not have.
        print(f"hopsfs namenode: cannot serve on {options.host}:{options.port}: {error}", file=sys.stderr)
        return 1
    finally:
        store.dispose()
    return 0


async def _serve(namespace: Namespace, options: NamenodeOptions) -> None:
    server = NamenodeServer(
        namespace, handler_threads=options.handler_threads, inline_reads=options.inline_reads
    )
    port = await server.start(options.host, options.port, reuse_port=options.reuse_port)
    datanode_server = None
    if options.datanode_port is not None:
        datanode_server = DatanodeRpcServer(namespace.block_manager)
        datanode_port = datanode_server.start(options.host, options.datanode_port)
        print(namenode_datanode_service_line(options.host, datanode_port), flush=True)
    transfer_server = None
    if options.transfer_port is not None:
        transfer_server = InlineBlockServer(namespace)
        transfer_port = await transfer_server.start(
            options.host, options.transfer_port, reuse_port=options.reuse_port
        )
        namespace.inline_block_location = transfer_server.location(options.host, transfer_port)
        logging.getLogger("hopsfs.namenode").info(
            "serving block reads of small files on %s:%d", options.host, transfer_port
        )
    reads = server.service.reads
    housekeeping = HousekeepingLoop(
        namespace.block_manager,
        namespace.context.namenode_id,
        options.housekeeping_interval_ms,
        every_namenode=lambda: reads.flush(namespace.store),
    )
    housekeeping.start()
    metrics_server = None
    if options.metrics_port is not None:

        def render() -> str:
            text = server.render_metrics() + housekeeping.render_metrics()
            text += transfer_server.render_metrics() if transfer_server is not None else ""
            return text + (datanode_server.service.render_metrics() if datanode_server is not None else "")

        metrics_server = await serve_metrics(options.host, options.metrics_port, render)
        metrics_port = metrics_server.sockets[0].getsockname()[1]
        print(namenode_metrics_line(options.host, metrics_port), flush=True)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stopping.set)
    print(namenode_ready_line(options.host, port, os.getpid()), flush=True)
    await stopping.wait()
    if metrics_server is not None:
        metrics_server.close()
    await server.stop()
    if transfer_server is not None:
        await transfer_server.stop()
    if datanode_server is not None:
        datanode_server.stop()
    await asyncio.get_running_loop().run_in_executor(None, housekeeping.stop)


def _use_uvloop() -> None:
    try:
        import uvloop
    except ImportError:  # a platform without uvloop wheels still runs, on the stock loop
        logging.getLogger("hopsfs.namenode").warning("uvloop is not installed: using the asyncio loop")
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
