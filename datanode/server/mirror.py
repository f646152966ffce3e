"""The next datanode of a write pipeline, seen from the one before it: connect, forward the operation,
relay its setup response, forward packets, and read its acks.

A mirror speaks the client side of the codec (`DataTransferClientConnection`). Any failure to connect,
send or receive raises `MirrorFailed`; the caller reports the mirror as the bad link (setup) or as the
ERROR status after its own in the ack (streaming).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from datanode.server.channel import Channel, EventSource
from hopsfs.errors import HopsFSError
from hopsfs.protocol.dtp_codec import DataTransferClientConnection
from hopsfs.protocol.dtp_events import AckReceived, ClientEvent, OperationResponse, PacketReceived
from hopsfs.protocol.dtp_wire import Ack
from hopsfs.protocol.proto.datatransfer_pb2 import BlockOpResponseProto, OpWriteBlockProto
from hopsfs.protocol.proto.hdfs_pb2 import DatanodeInfoProto

_OUT_OF_BAND_ACKS_MAX = 16


class MirrorFailed(HopsFSError):
    """The downstream datanode could not be reached, or broke the protocol, or went away."""


@dataclass(frozen=True, slots=True)
class MirrorAddress:
    host: str
    port: int

    @property
    def name(self) -> str:
        """The address as Hadoop writes it in firstBadLink (ip:xferPort)."""
        return f"{self.host}:{self.port}"

    @classmethod
    def of(cls, target: DatanodeInfoProto) -> MirrorAddress:
        return cls(target.id.ipAddr or target.id.hostName, target.id.xferPort)


def downstream_request(request: OpWriteBlockProto) -> OpWriteBlockProto:
    """The operation the next datanode gets: the same, minus itself from the target lists."""
    forwarded = OpWriteBlockProto()
    forwarded.CopyFrom(request)
    del forwarded.targets[:1]
    del forwarded.targetStorageTypes[:1]
    del forwarded.targetStorageIds[:1]
    del forwarded.targetPinnings[:1]
    return forwarded


class Mirror:
    def __init__(self, address: MirrorAddress, channel: Channel, timeout_s: float) -> None:
        self.address = address
        self.codec = DataTransferClientConnection(verify_checksums=False)
        self.channel = channel
        self._events: EventSource[ClientEvent] = EventSource(channel, self.codec.receive_data)
        self._timeout_s = timeout_s
        self.failed = False

    @classmethod
    async def connect(
        cls, address: MirrorAddress, connect_timeout_s: float, timeout_s: float, receive_bytes_max: int
    ) -> Mirror:
        loop = asyncio.get_running_loop()
        try:
            _, channel = await asyncio.wait_for(
                loop.create_connection(lambda: Channel(receive_bytes_max), address.host, address.port),
                connect_timeout_s,
            )
        except (OSError, TimeoutError) as error:
            raise MirrorFailed(f"cannot connect to {address.name}: {error!r}") from error
        return cls(address, channel, timeout_s)

    async def send_operation(self, request: OpWriteBlockProto) -> None:
        await self._send(self.codec.send_write_block(request))

    async def read_response(self) -> BlockOpResponseProto:
        event = await self._next_event()
        if not isinstance(event, OperationResponse):
            raise MirrorFailed(f"{self.address.name} closed the connection instead of answering")
        return event.response

    async def forward(self, packet: PacketReceived) -> None:
        if self.failed:
            return
        try:
            frame = self.codec.forward_packet(packet.header, packet.wire)
        except HopsFSError as error:
            self.failed = True
            raise MirrorFailed(f"cannot forward to {self.address.name}: {error}") from error
        await self._send(frame)

    async def next_ack(self) -> Ack:
        """The next in-order ack; out-of-band notices (a restarting datanode) are skipped, a bounded few."""
        for _ in range(_OUT_OF_BAND_ACKS_MAX):
            event = await self._next_event()
            if not isinstance(event, AckReceived):
                raise MirrorFailed(f"{self.address.name} closed the connection with acks due")
            if not event.out_of_band:
                return event.ack
        self.failed = True
        raise MirrorFailed(f"{self.address.name} sent only out-of-band acks")

    async def send_frame(self, frame: bytes) -> None:
        """Bytes the codec framed (a packet of a replica this datanode sends)."""
        await self._send(frame)

    def close(self) -> None:
        self.channel.abort()

    async def _send(self, data: bytes) -> None:
        try:
            await self.channel.send(data, self._timeout_s)
        except (OSError, TimeoutError) as error:
            self.failed = True
            raise MirrorFailed(f"cannot send to {self.address.name}: {error!r}") from error

    async def _next_event(self) -> ClientEvent:
        try:
            return await self._events.next_event(self._timeout_s)
        except (OSError, TimeoutError, HopsFSError) as error:
            self.failed = True
            raise MirrorFailed(f"{self.address.name} failed: {error!r}") from error
