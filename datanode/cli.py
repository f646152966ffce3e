"""The `hopsfs datanode` subcommand's options (hopsfs/cli/main.py adds it to its parser).

Only argparse here: the datanode itself is imported when the command runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from datanode.config import (
    IDLE_TIMEOUT_S_DEFAULT,
    SCAN_BYTES_PER_SECOND_DEFAULT,
    SCAN_INTERVAL_S_DEFAULT,
    XCEIVERS_MAX_DEFAULT,
)


def add_datanode_command(commands: Any) -> None:
    """Add `datanode` to an argparse subparsers object."""
    command: argparse.ArgumentParser = commands.add_parser(
        "datanode", help="run one datanode process in the foreground (DataTransferProtocol on --port)"
    )
    command.add_argument("--data-dir", type=Path, required=True, help="the datanode's state directory")
    command.add_argument(
        "--volume",
        type=Path,
        action="append",
        default=[],
        help="a directory for replicas (repeat for several disks; default DATA_DIR/data)",
    )
    command.add_argument(
        "--namenode", required=True, help="namenode gRPC address(es): HOST:PORT[,HOST:PORT...]"
    )
    command.add_argument("--host", default="127.0.0.1", help="address to serve on and to register")
    command.add_argument("--port", type=int, default=0, help="DataTransferProtocol port (0: any free port)")
    command.add_argument(
        "--metrics-port", type=int, default=None, help="serve Prometheus text at /metrics (0: a free port)"
    )
    command.add_argument(
        "--uuid-file", type=Path, default=None, help="where the datanode's uuid and storage id are kept"
    )
    command.add_argument(
        "--xceivers-max", type=int, default=XCEIVERS_MAX_DEFAULT, help="concurrent connections"
    )
    command.add_argument(
        "--idle-timeout-s", type=float, default=IDLE_TIMEOUT_S_DEFAULT, help="idle time between operations"
    )
    command.add_argument(
        "--scan-bytes-per-second",
        type=int,
        default=SCAN_BYTES_PER_SECOND_DEFAULT,
        help="block scanner rate (default 1 MiB/s)",
    )
    command.add_argument(
        "--scan-interval-s", type=float, default=SCAN_INTERVAL_S_DEFAULT, help="time between scanner passes"
    )
    command.add_argument("--no-scan", action="store_true", help="do not run the block scanner")
    command.add_argument(
        "--domain-socket",
        default=None,
        help="serve short-circuit reads to local clients on this UNIX socket path; _PORT in it "
        "stands for the transfer port (as Hadoop's dfs.domain.socket.path)",
    )
    command.add_argument(
        "--no-sendfile", action="store_true", help="reads copy data through Python instead of sendfile(2)"
    )
    command.set_defaults(handler=run_datanode_command)


def run_datanode_command(arguments: argparse.Namespace) -> int:
    from datanode.config import ScanSettings, TransferLimits
    from datanode.namenode_link.link import parse_addresses
    from datanode.node import DatanodeOptions
    from datanode.process import run_datanode
    from hopsfs.errors import InvalidArgument

    namenodes = tuple(parse_addresses(arguments.namenode))
    if not namenodes:
        raise InvalidArgument("--namenode needs at least one HOST:PORT")
    options = DatanodeOptions(
        data_dir=arguments.data_dir,
        namenodes=namenodes,
        volumes=tuple(arguments.volume),
        host=arguments.host,
        port=arguments.port,
        metrics_port=arguments.metrics_port,
        identity_file=arguments.uuid_file,
        domain_socket=arguments.domain_socket,
        limits=TransferLimits(
            xceivers_max=arguments.xceivers_max,
            idle_timeout_s=arguments.idle_timeout_s,
            sendfile=not arguments.no_sendfile,
        ),
        scan=ScanSettings(
            bytes_per_second=arguments.scan_bytes_per_second,
            interval_s=arguments.scan_interval_s,
            enabled=not arguments.no_scan,
        ),
    )
    return run_datanode(options)
