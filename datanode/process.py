"""`hopsfs datanode`: one datanode process in the foreground.

It registers with a namenode (waiting until one answers), opens its volumes for the registered block
pool, serves DataTransferProtocol, and prints one line once it does:
`hopsfs datanode: serving DataTransferProtocol on HOST:PORT (uuid U)` (with --metrics-port, the
/metrics URL line just before it). SIGINT or SIGTERM stop it cleanly: transfers get a grace period,
pending reports are flushed, the replica index is closed; exit code 0. Errors a user can act on (port
taken, a volume of another cluster) print one line and exit 1.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from datanode.node import Datanode, DatanodeOptions
from hopsfs.announce import datanode_metrics_line, datanode_ready_line
from hopsfs.errors import HopsFSError

EXIT_FAILURE = 1


def run_datanode(options: DatanodeOptions) -> int:
    """Serve until a stop signal; return the process exit code."""
    _use_uvloop()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return asyncio.run(_serve(options))
    except OSError as error:
        print(f"hopsfs datanode: cannot serve on {options.host}:{options.port}: {error}", file=sys.stderr)
    except HopsFSError as error:
        print(f"hopsfs datanode: {type(error).__name__}: {error}", file=sys.stderr)
    return EXIT_FAILURE


async def _serve(options: DatanodeOptions) -> int:
    node = Datanode(options)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stopping.set)
    starting = asyncio.create_task(node.start(), name="datanode-start")
    stop_requested = asyncio.create_task(stopping.wait(), name="stop-signal")
    try:
        await asyncio.wait({starting, stop_requested}, return_when=asyncio.FIRST_COMPLETED)
        if not starting.done():
            starting.cancel()  # stopped while still waiting for a namenode
            await asyncio.gather(starting, return_exceptions=True)
            return 0
        starting.result()
        if node.metrics_port is not None:
            print(datanode_metrics_line(options.host, node.metrics_port), flush=True)
        print(datanode_ready_line(options.host, node.port, node.identity.datanode_uuid), flush=True)
        await stopping.wait()
        return 0
    finally:
        stop_requested.cancel()
        await node.stop()


def _use_uvloop() -> None:
    try:
        import uvloop
    except ImportError:  # a platform without uvloop wheels still runs, on the stock loop
        logging.getLogger("hopsfs.datanode").warning("uvloop is not installed: using the asyncio loop")
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
