"""The datanode's tunable bounds and intervals, units last, checked when the process starts.

Defaults follow HDFS where it has one (named in the comment). They live here rather than in
hopsfs/limits.py because only the datanode uses them.
"""

from __future__ import annotations

from dataclasses import dataclass

from hopsfs.errors import InvalidArgument
from hopsfs.invariants import check

# dfs.datanode.max.transfer.threads is 4096; one Python process serves far fewer at once.
XCEIVERS_MAX_DEFAULT = 256
# A connection may wait this long for its next operation (Hadoop keeps idle ones 4 s; clients here
# pool connections longer).
IDLE_TIMEOUT_S_DEFAULT = 60.0
# One read or write of a socket inside an operation (dfs.client.socket-timeout).
IO_TIMEOUT_S_DEFAULT = 60.0
CONNECT_TIMEOUT_S_DEFAULT = 10.0
# Data bytes per read packet. Hadoop's BlockSender sends 64 KiB; 512 KiB takes a Python reader from
# 470 to 620 MB/s (per-packet costs dominate; python -m bench.dataio), and clients accept up to 16 MiB.
READ_PACKET_BYTES_DEFAULT = 512 * 1024
# Packets one write may have received but not acknowledged (HDFS clients send at most 80).
PACKETS_IN_FLIGHT_MAX_DEFAULT = 128
RECEIVE_BYTES_MAX_DEFAULT = 1024 * 1024
# Replica copies the datanode runs at once for TRANSFER commands.
TRANSFERS_CONCURRENT_MAX_DEFAULT = 4
# Reads ask the kernel to fetch this far ahead of the packet being sent (posix_fadvise WILLNEED), so
# disk reads overlap sending: Hadoop's dfs.datanode.readahead.bytes. 0 leaves it to the kernel.
READAHEAD_BYTES_DEFAULT = 4 * 1024 * 1024
# Block scanner: Hadoop's dfs.block.scanner.volume.bytes.per.second is 1 MiB/s, a pass every 3 weeks.
SCAN_BYTES_PER_SECOND_DEFAULT = 1024 * 1024
SCAN_INTERVAL_S_DEFAULT = 21 * 24 * 3600.0
# Shutdown: transfers get this long to finish before they are aborted.
STOP_GRACE_S_DEFAULT = 5.0

check(READ_PACKET_BYTES_DEFAULT <= RECEIVE_BYTES_MAX_DEFAULT, "a read packet fits one receive")


@dataclass(frozen=True, slots=True)
class TransferLimits:
    """Bounds of the DataTransferProtocol server."""

    xceivers_max: int = XCEIVERS_MAX_DEFAULT
    idle_timeout_s: float = IDLE_TIMEOUT_S_DEFAULT
    io_timeout_s: float = IO_TIMEOUT_S_DEFAULT
    connect_timeout_s: float = CONNECT_TIMEOUT_S_DEFAULT
    read_packet_bytes: int = READ_PACKET_BYTES_DEFAULT
    packets_in_flight_max: int = PACKETS_IN_FLIGHT_MAX_DEFAULT
    receive_bytes_max: int = RECEIVE_BYTES_MAX_DEFAULT
    transfers_concurrent_max: int = TRANSFERS_CONCURRENT_MAX_DEFAULT
    # Reads send data with sendfile(2); off, they pread and send (the benchmark measures both).
    sendfile: bool = True
    readahead_bytes: int = READAHEAD_BYTES_DEFAULT

    def validate(self) -> TransferLimits:
        """Self, or InvalidArgument naming the first value out of range."""
        for name in ("xceivers_max", "packets_in_flight_max", "transfers_concurrent_max"):
            if getattr(self, name) < 1:
                raise InvalidArgument(f"{name} must be at least 1")
        for name in ("idle_timeout_s", "io_timeout_s", "connect_timeout_s"):
            if getattr(self, name) <= 0:
                raise InvalidArgument(f"{name} must be positive")
        if not 512 <= self.read_packet_bytes <= 4 * 1024 * 1024:
            raise InvalidArgument("read_packet_bytes must be between 512 B and 4 MiB")
        if self.readahead_bytes < 0:
            raise InvalidArgument("readahead_bytes must be >= 0")
        if self.receive_bytes_max < 4096:
            raise InvalidArgument("receive_bytes_max must be at least 4 KiB")
        return self


@dataclass(frozen=True, slots=True)
class ScanSettings:
    bytes_per_second: int = SCAN_BYTES_PER_SECOND_DEFAULT
    interval_s: float = SCAN_INTERVAL_S_DEFAULT  # from the start of one pass to the next
    enabled: bool = True

    def validate(self) -> ScanSettings:
        if self.bytes_per_second < 1:
            raise InvalidArgument("scan bytes per second must be at least 1")
        if self.interval_s <= 0:
            raise InvalidArgument("the scan interval must be positive")
        return self
