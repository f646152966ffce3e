"""Serve DatanodeNamenode over gRPC beside the Hadoop IPC front end.

The datanode control path runs at a few calls per second per datanode, so it uses the synchronous
gRPC server on its own small thread pool: it never touches the IPC event loop, and engine calls
(blocking database transactions) run directly on its threads. Several namenode processes on one host
share the port with SO_REUSEPORT, as their IPC ports do.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import grpc

from hopsfs.protocol.proto import datanode_namenode_pb2_grpc
from namenode.datanode_rpc.servicer import BlockManagerPort, DatanodeService

DATANODE_RPC_THREADS = 4
# A full block report of a million replicas is ~30 MB on the wire.
MESSAGE_BYTES_MAX = 256 * 1024 * 1024


class DatanodeRpcServer:
    def __init__(self, manager: BlockManagerPort, *, threads: int = DATANODE_RPC_THREADS) -> None:
        self.service = DatanodeService(manager)
        self._server = grpc.server(
            ThreadPoolExecutor(max_workers=threads, thread_name_prefix="datanode-rpc"),
            options=[
                ("grpc.so_reuseport", 1),
                ("grpc.max_receive_message_length", MESSAGE_BYTES_MAX),
                ("grpc.max_send_message_length", MESSAGE_BYTES_MAX),
            ],
        )
        datanode_namenode_pb2_grpc.add_DatanodeNamenodeServicer_to_server(self.service, self._server)

    def start(self, host: str, port: int) -> int:
        """Listen on host:port (0: any free port); returns the port."""
        bound = self._server.add_insecure_port(_grpc_address(host, port))
        if bound == 0:
            raise OSError(f"cannot listen for datanodes on {host}:{port}")
        self._server.start()
        return bound

    def stop(self, grace_s: float = 2.0) -> None:
        self._server.stop(grace_s).wait()


def _grpc_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
