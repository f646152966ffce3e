"""The knobs of the client's data path, with HDFS's defaults where HDFS has one.

One frozen value passed to every stream, so a test (or a caller) shortens a timeout or shrinks a
window for all of them at once. `__post_init__` refuses an inconsistent set.
"""

from __future__ import annotations

from dataclasses import dataclass

from hopsfs.protocol.dtp_checksum import BYTES_PER_CHECKSUM_DEFAULT, CHECKSUM_BYTES
from hopsfs.protocol.dtp_wire import ACKS_PENDING_MAX, PACKET_HEADER_PROTO_BYTES_MAX, PACKET_LENGTHS_BYTES

READ_AHEAD_BYTES_DEFAULT = 4 * 1024 * 1024
# dfs.client-write-packet-size: checksums and data of one packet, header excluded.
WRITE_PACKET_BYTES_DEFAULT = 64 * 1024
# dfs.client.write.max-packets-in-flight (HDFS 2/3's dataQueue + ackQueue bound).
PACKETS_IN_FLIGHT_MAX_DEFAULT = 80
# Hadoop's PacketHeader.PKT_MAX_HEADER_LEN: what a packet's lengths and header may take.
PACKET_HEADER_BYTES_RESERVED = PACKET_LENGTHS_BYTES + PACKET_HEADER_PROTO_BYTES_MAX


@dataclass(frozen=True, slots=True)
class StreamSettings:
    # Connecting to a datanode, and waiting for any answer from one (dfs.client.socket-timeout: 60 s).
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 60.0
    # How long a write waits for the acks of packets already sent before it declares the pipeline's
    # first datanode dead; longer than a datanode's own wait for its mirror, so the datanode that
    # really failed is the one the acks name.
    ack_timeout_s: float = 75.0
    # An idle write pipeline sends a heartbeat packet this often (HDFS: half the socket timeout).
    heartbeat_interval_s: float = 30.0
    write_packet_bytes: int = WRITE_PACKET_BYTES_DEFAULT
    bytes_per_checksum: int = BYTES_PER_CHECKSUM_DEFAULT
    packets_in_flight_max: int = PACKETS_IN_FLIGHT_MAX_DEFAULT
    read_ahead_bytes: int = READ_AHEAD_BYTES_DEFAULT
    # getBlockLocations asks for this many blocks' worth of the file at a time (HDFS: 10 blocks); the
    # first request, before the file's block size is known, for `first_location_window_bytes`
    # (HDFS: 10 default-sized blocks).
    location_window_blocks: int = 10
    first_location_window_bytes: int = 10 * 128 * 1024 * 1024
    # A read retries a block whose every replica failed this many times with fresh locations
    # (dfs.client.max.block.acquire.failures) before BlockMissing.
    block_acquire_failures_max: int = 3
    block_acquire_backoff_s: float = 0.2
    # Allocating a block whose pipeline cannot be set up: abandon it and ask for another, excluding
    # the datanode that failed (dfs.client.block.write.retries).
    block_write_retries_max: int = 3
    # complete() answering false (last block not yet minimally replicated) is retried with a doubling
    # backoff. HDFS starts at 400 ms; our datanodes report a finalized replica before acking the last
    # packet, so the namenode usually knows it within milliseconds: start at 25 ms (about 25 s in all).
    complete_retries_max: int = 10
    complete_backoff_s: float = 0.025
    # Pipeline recoveries one block may go through before the write gives up.
    pipeline_recoveries_max: int = 5
    lease_renewal_interval_s: float = 30.0
    # Idle datanode connections kept for the next read (dfs.client.socketcache.*).
    idle_connection_s: float = 3.0
    idle_connections_per_datanode_max: int = 4
    # Short-circuit reads of replicas on this host (dfs.domain.socket.path: `_PORT` stands for the
    # datanode's transfer port); None reads everything over TCP.
    domain_socket_path: str | None = None
    # Bytes read and verified per step of a short-circuit read (dfs.client.read.shortcircuit.buffer.size).
    short_circuit_read_bytes: int = 2 * 1024 * 1024
    # A datanode whose socket failed serves no short-circuit reads for this long
    # (dfs.client.domain.socket.disable.interval.seconds).
    short_circuit_disable_s: float = 600.0

    def __post_init__(self) -> None:
        if self.bytes_per_checksum <= 0:
            raise ValueError("bytes_per_checksum must be positive")
        if self.chunks_per_packet < 1:
            raise ValueError(f"write_packet_bytes {self.write_packet_bytes} cannot hold one chunk")
        if not 0 < self.packets_in_flight_max <= ACKS_PENDING_MAX:
            raise ValueError(f"packets_in_flight_max must be in 1..{ACKS_PENDING_MAX}")
        if (
            self.read_ahead_bytes < 0
            or self.location_window_blocks < 1
            or self.first_location_window_bytes < 1
        ):
            raise ValueError("read_ahead_bytes must be >= 0, the location windows positive")
        for name in ("connect_timeout_s", "read_timeout_s", "ack_timeout_s", "heartbeat_interval_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.block_acquire_failures_max < 0 or self.block_write_retries_max < 0:
            raise ValueError("retry counts cannot be negative")
        if self.short_circuit_read_bytes <= 0 or self.short_circuit_disable_s < 0:
            raise ValueError("short_circuit_read_bytes must be positive, short_circuit_disable_s >= 0")
        if self.complete_retries_max < 1 or self.pipeline_recoveries_max < 0:
            raise ValueError("complete needs at least one attempt; recoveries cannot be negative")

    @property
    def chunks_per_packet(self) -> int:
        """Chunks one write packet carries (Hadoop: (packet size - max header) / (chunk + checksum))."""
        chunk_with_checksum = self.bytes_per_checksum + CHECKSUM_BYTES
        return (self.write_packet_bytes - PACKET_HEADER_BYTES_RESERVED) // chunk_with_checksum

    @property
    def packet_data_bytes_max(self) -> int:
        return self.chunks_per_packet * self.bytes_per_checksum


DEFAULT_STREAM_SETTINGS = StreamSettings()
