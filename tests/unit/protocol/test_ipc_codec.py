"""Unit tests of the sans-I/O Hadoop IPC codec: round trips, byte-exact frames, and every rejection."""

from __future__ import annotations

from pathlib import Path

import pytest

from hopsfs.protocol import errors, ipc_wire
from hopsfs.protocol.errors import LocalProtocolError, RemoteProtocolError
from hopsfs.protocol.ipc_codec import (
    ERROR_MESSAGE_CHARS_MAX,
    AuthProtocol,
    Call,
    CallError,
    CallResult,
    ClientConnection,
    ConnectionClosed,
    ConnectionContext,
    ConnectionPreamble,
    ConnectionState,
    Ping,
    SaslMessage,
    ServerConnection,
)
from hopsfs.protocol.proto import (
    client_namenode_protocol_pb2,
    hdfs_pb2,
    ipc_connection_context_pb2,
    protobuf_rpc_engine_pb2,
    rpc_header_pb2,
    security_pb2,
    xattr_pb2,
)

CLIENT_ID = bytes(range(16))
PROTOCOL = b"org.apache.hadoop.hdfs.protocol.ClientProtocol"
RpcRequestHeaderProto = rpc_header_pb2.RpcRequestHeaderProto
RpcResponseHeaderProto = rpc_header_pb2.RpcResponseHeaderProto
RpcSaslProto = rpc_header_pb2.RpcSaslProto


def length_prefixed(body: bytes) -> bytes:
    return len(body).to_bytes(4, "big") + body


def delimited(payload: bytes) -> bytes:
    return ipc_wire.encode_varint(len(payload)) + payload


def request_header(call_id: int, **fields: object) -> bytes:
    header = RpcRequestHeaderProto(
        rpcKind=rpc_header_pb2.RPC_PROTOCOL_BUFFER,
        rpcOp=RpcRequestHeaderProto.RPC_FINAL_PACKET,
        callId=call_id,
        clientId=CLIENT_ID,
        retryCount=0,
    )
    for name, value in fields.items():
        setattr(header, name, value)
    return header.SerializeToString()


def method_header(method_name: str = "getFileInfo") -> bytes:
    return protobuf_rpc_engine_pb2.RequestHeaderProto(
        methodName=method_name, declaringClassProtocolName=PROTOCOL.decode(), clientProtocolVersion=1
    ).SerializeToString()


def call_frame(call_id: int, request: bytes = b"", **header_fields: object) -> bytes:
    parts = delimited(request_header(call_id, **header_fields)) + delimited(method_header())
    return length_prefixed(parts + delimited(request))


def connected_pair(
    auth_protocol: AuthProtocol = AuthProtocol.NONE,
) -> tuple[ClientConnection, ServerConnection]:
    client = ClientConnection(effective_user="alice", client_id=CLIENT_ID, auth_protocol=auth_protocol)
    server = ServerConnection()
    events = server.receive_data(client.start())
    if auth_protocol is AuthProtocol.SASL:
        negotiate = events[-1]
        assert isinstance(negotiate, SaslMessage)
        client.receive_data(server.answer_sasl_simple(negotiate))
        server.receive_data(client.send_connection_context())
    assert server.state is ConnectionState.READY
    assert client.state is ConnectionState.READY
    return client, server


def ready_server() -> ServerConnection:
    _, server = connected_pair()
    return server


def raises_remote(server: ServerConnection, data: bytes) -> RemoteProtocolError:
    with pytest.raises(RemoteProtocolError) as caught:
        server.receive_data(data)
    assert server.state is ConnectionState.ERROR
    return caught.value


# --- byte-exact frames ------------------------------------------------------------------------------


def test_preamble_bytes_are_hadoops() -> None:
    client = ClientConnection(effective_user="alice", client_id=CLIENT_ID)
    assert client.start()[:7] == b"hrpc\x09\x00\x00"
    assert ipc_wire.encode_preamble(ipc_wire.AUTH_PROTOCOL_SASL) == b"hrpc\x09\x00\xdf"


def test_connection_context_frame_is_byte_exact() -> None:
    header = (
        b"\x08\x02"  # rpcKind = RPC_PROTOCOL_BUFFER
        + b"\x10\x00"  # rpcOp = RPC_FINAL_PACKET
        + b"\x18\x05"  # callId = -3, zigzag
        + b"\x22\x10"
        + CLIENT_ID  # clientId, 16 bytes
        + b"\x28\x01"  # retryCount = -1, zigzag
    )
    context = b"\x12\x07\x0a\x05alice" + b"\x1a" + bytes([len(PROTOCOL)]) + PROTOCOL
    expected = length_prefixed(bytes([len(header)]) + header + bytes([len(context)]) + context)
    client = ClientConnection(effective_user="alice", client_id=CLIENT_ID)
    assert client.start() == b"hrpc\x09\x00\x00" + expected


def test_success_response_frame_is_byte_exact() -> None:
    server = ready_server()
    server.receive_data(call_frame(0))
    frame = server.success_response(0, client_namenode_protocol_pb2.GetFileInfoResponseProto())
    header = (
        b"\x08\x00"  # callId = 0
        + b"\x10\x00"  # status = SUCCESS
        + b"\x18\x09"  # serverIpcVersionNum = 9
        + b"\x3a\x10"
        + CLIENT_ID  # clientId echoed
        + b"\x40\x00"  # retryCount = 0 echoed
    )
    assert frame == length_prefixed(bytes([len(header)]) + header + b"\x00")


def test_sasl_success_answer_is_byte_exact() -> None:
    server = ServerConnection()
    negotiate_header = RpcRequestHeaderProto(callId=-33, clientId=b"", retryCount=-1)
    negotiate = RpcSaslProto(state=RpcSaslProto.NEGOTIATE)
    frame = length_prefixed(
        delimited(negotiate_header.SerializeToString()) + delimited(negotiate.SerializeToString())
    )
    events = server.receive_data(b"hrpc\x09\x00\xdf" + frame)
    assert events[0] == ConnectionPreamble(9, 0, AuthProtocol.SASL)
    assert isinstance(events[1], SaslMessage)
    # callId -33 as uint32 (5-byte varint), SUCCESS, version 9, empty clientId, retryCount -1.
    header = b"\x08\xdf\xff\xff\xff\x0f\x10\x00\x18\x09\x3a\x00\x40\x01"
    body = b"\x10\x00"  # RpcSaslProto.state = SUCCESS
    assert server.answer_sasl_simple(events[1]) == length_prefixed(
        bytes([len(header)]) + header + bytes([len(body)]) + body
    )
    assert server.state is ConnectionState.AWAITING_CONTEXT


def test_hand_built_call_decodes() -> None:
    server = ready_server()
    request = client_namenode_protocol_pb2.GetFileInfoRequestProto(src="/a").SerializeToString()
    events = server.receive_data(call_frame(7, request, retryCount=2, stateId=41))
    assert events == [
        Call(
            call_id=7,
            client_id=CLIENT_ID,
            retry_count=2,
            state_id=41,
            method_name="getFileInfo",
            protocol_name=PROTOCOL.decode(),
            protocol_version=1,
            request_bytes=request,
        )
    ]


# --- round trips ------------------------------------------------------------------------------------


def test_handshake_round_trip_without_sasl() -> None:
    client = ClientConnection(effective_user="alice", real_user="hdfs", client_id=CLIENT_ID)
    server = ServerConnection()
    assert client.state is ConnectionState.AWAITING_PREAMBLE
    events = server.receive_data(client.start())
    assert events == [
        ConnectionPreamble(version=9, service_class=0, auth_protocol=AuthProtocol.NONE),
        ConnectionContext(effective_user="alice", real_user="hdfs", protocol=PROTOCOL.decode()),
    ]
    assert server.context == events[1]
    assert server.state is ConnectionState.READY
    assert client.state is ConnectionState.READY


def test_handshake_round_trip_with_sasl() -> None:
    client = ClientConnection(effective_user="alice", client_id=CLIENT_ID, auth_protocol=AuthProtocol.SASL)
    server = ServerConnection()
    events = server.receive_data(client.start())
    assert client.state is ConnectionState.AWAITING_SASL
    assert server.state is ConnectionState.AWAITING_SASL
    assert events[0].auth_protocol is AuthProtocol.SASL  # type: ignore[union-attr]
    assert isinstance(events[1], SaslMessage)
    assert events[1].state == RpcSaslProto.NEGOTIATE
    answer = client.receive_data(server.answer_sasl_simple(events[1]))
    assert answer == [SaslMessage(RpcSaslProto(state=RpcSaslProto.SUCCESS))]
    assert client.state is ConnectionState.AWAITING_CONTEXT
    assert server.receive_data(client.send_connection_context()) == [
        ConnectionContext(effective_user="alice", real_user=None, protocol=PROTOCOL.decode())
    ]
    assert server.state is ConnectionState.READY


def test_call_and_result_round_trip_with_real_messages() -> None:
    client, server = connected_pair()
    request = client_namenode_protocol_pb2.GetListingRequestProto(src="/d", startAfter=b"", needLocation=True)
    call_id, frame = client.send_call("getListing", request, state_id=5)
    [call] = server.receive_data(frame)
    assert isinstance(call, Call)
    assert (call.call_id, call.method_name, call.state_id, call.retry_count) == (call_id, "getListing", 5, 0)
    parsed = client_namenode_protocol_pb2.GetListingRequestProto.FromString(call.request_bytes)
    assert parsed == request
    listing = client_namenode_protocol_pb2.GetListingResponseProto(
        dirList=hdfs_pb2.DirectoryListingProto(partialListing=[file_status()], remainingEntries=0)
    )
    [result] = client.receive_data(server.success_response(call_id, listing, state_id=9))
    assert result == CallResult(call_id, listing.SerializeToString(), 9)
    assert server.calls_in_flight == 0
    assert client.calls_in_flight == 0


def file_status() -> hdfs_pb2.HdfsFileStatusProto:
    block = hdfs_pb2.LocatedBlockProto(
        b=hdfs_pb2.ExtendedBlockProto(poolId="BP-1", blockId=1, generationStamp=1001, numBytes=3),
        offset=0,
        corrupt=False,
        blockToken=security_pb2.TokenProto(identifier=b"", password=b"", kind="", service=""),
        storageTypes=[hdfs_pb2.DISK],
        storageIDs=["DS-1"],
    )
    return hdfs_pb2.HdfsFileStatusProto(
        fileType=hdfs_pb2.HdfsFileStatusProto.IS_FILE,
        path=b"f",
        length=3,
        permission=hdfs_pb2.FsPermissionProto(perm=0o644),
        owner="alice",
        group="supergroup",
        modification_time=1,
        access_time=1,
        block_replication=3,
        blocksize=128 * 1024 * 1024,
        fileId=16386,
        locations=hdfs_pb2.LocatedBlocksProto(
            fileLength=3, blocks=[block], underConstruction=False, isLastBlockComplete=True
        ),
    )


def test_responses_may_go_out_of_order() -> None:
    client, server = connected_pair()
    frames = [client.send_call("msync", client_namenode_protocol_pb2.MsyncRequestProto()) for _ in range(3)]
    server.receive_data(b"".join(frame for _, frame in frames))
    ids = [call_id for call_id, _ in frames]
    assert ids == [0, 1, 2]
    answers = [server.success_response(call_id, b"") for call_id in reversed(ids)]
    events = client.receive_data(b"".join(answers))
    assert [event.call_id for event in events] == [2, 1, 0]  # type: ignore[union-attr]


def test_error_response_round_trip() -> None:
    client, server = connected_pair()
    call_id, frame = client.send_call("delete", b"")
    server.receive_data(frame)
    answer = server.error_response(call_id, "java.io.FileNotFoundException", "/x does not exist")
    assert client.receive_data(answer) == [
        CallError(
            call_id=call_id,
            exception_class_name="java.io.FileNotFoundException",
            message="/x does not exist",
            error_detail=RpcResponseHeaderProto.ERROR_APPLICATION,
            fatal=False,
        )
    ]
    assert client.state is ConnectionState.READY
    assert server.state is ConnectionState.READY


def test_fatal_error_round_trip_closes_both_sides() -> None:
    client, server = connected_pair()
    call_id, frame = client.send_call("create", b"")
    server.receive_data(frame)
    answer = server.error_response(
        call_id, "java.io.IOException", "bye", RpcResponseHeaderProto.FATAL_UNKNOWN, fatal=True
    )
    [event] = client.receive_data(answer + b"ignored after fatal")
    assert isinstance(event, CallError)
    assert event.fatal
    assert event.error_detail == RpcResponseHeaderProto.FATAL_UNKNOWN
    assert server.state is ConnectionState.CLOSED
    assert client.state is ConnectionState.CLOSED


def test_ping_round_trip_needs_no_answer() -> None:
    client, server = connected_pair()
    assert server.receive_data(client.send_ping()) == [Ping()]
    assert server.calls_in_flight == 0


def test_ping_before_context_is_accepted() -> None:
    server = ServerConnection()
    ping = length_prefixed(delimited(request_header(ipc_wire.CALL_ID_PING)))
    assert server.receive_data(b"hrpc\x09\x00\x00" + ping) == [
        ConnectionPreamble(9, 0, AuthProtocol.NONE),
        Ping(),
    ]


def test_connection_closed_round_trip() -> None:
    client, server = connected_pair()
    assert server.receive_data(b"") == [ConnectionClosed()]
    assert client.receive_data(b"") == [ConnectionClosed()]
    assert server.state is ConnectionState.CLOSED
    assert client.state is ConnectionState.CLOSED


def test_call_without_body_means_empty_request() -> None:
    server = ready_server()
    frame = length_prefixed(delimited(request_header(3)) + delimited(method_header("msync")))
    [call] = server.receive_data(frame)
    assert isinstance(call, Call)
    assert call.request_bytes == b""


def test_retry_reuses_call_id_and_client_id_is_echoed() -> None:
    client, server = connected_pair()
    call_id, frame = client.send_call("complete", b"")
    server.receive_data(frame)
    client.receive_data(server.error_response(call_id, "org.apache.hadoop.ipc.RetriableException", "again"))
    same_id, retry = client.send_call("complete", b"", call_id=call_id, retry_count=1)
    [call] = server.receive_data(retry)
    assert same_id == call_id
    assert isinstance(call, Call)
    assert call.retry_count == 1
    header, _ = ipc_wire.read_delimited(server.success_response(call_id, b""), 4, 10_000, "header")
    parsed = RpcResponseHeaderProto.FromString(header)
    assert (parsed.clientId, parsed.retryCount) == (CLIENT_ID, 1)


def test_responses_without_client_id_are_accepted_by_the_client() -> None:
    client, _ = connected_pair()
    call_id, _ = client.send_call("mkdirs", b"")
    header = RpcResponseHeaderProto(callId=call_id, status=RpcResponseHeaderProto.SUCCESS)
    frame = length_prefixed(delimited(header.SerializeToString()) + delimited(b""))
    assert client.receive_data(frame) == [CallResult(call_id, b"", None)]


def test_data_split_byte_by_byte_gives_the_same_events() -> None:
    client = ClientConnection(effective_user="alice", client_id=CLIENT_ID)
    stream = client.start() + client.send_call("getFileInfo", b"\x0a\x01/")[1] + client.send_ping()
    whole = ServerConnection().receive_data(stream)
    server = ServerConnection()
    pieces = []
    for index in range(len(stream)):
        pieces.extend(server.receive_data(stream[index : index + 1]))
    assert pieces == whole
    assert len(whole) == 4


def test_protocol_error_response_after_remote_error() -> None:
    client, server = connected_pair()
    error = raises_remote(server, call_frame(4, rpcKind=rpc_header_pb2.RPC_WRITABLE))
    assert error.call_id == 4
    [event] = client.receive_data(server.protocol_error_response(error))
    assert event == CallError(
        call_id=4,
        exception_class_name=errors.RPC_SERVER_EXCEPTION,
        message=str(error),
        error_detail=RpcResponseHeaderProto.FATAL_UNSUPPORTED_SERIALIZATION,
        fatal=True,
    )
    assert server.state is ConnectionState.CLOSED


# --- peer errors (RemoteProtocolError) --------------------------------------------------------------


def test_wrong_magic_is_rejected() -> None:
    raises_remote(ServerConnection(), b"GET / HTTP/1.1\r\n")


def test_wrong_version_is_a_version_mismatch() -> None:
    error = raises_remote(ServerConnection(), b"hrpc\x08\x00\x00")
    assert error.error_detail == errors.FATAL_VERSION_MISMATCH
    assert error.exception_class_name == errors.VERSION_MISMATCH_EXCEPTION


def test_unknown_auth_protocol_is_rejected() -> None:
    raises_remote(ServerConnection(), b"hrpc\x09\x00\x51")


@pytest.mark.parametrize("length", [0, -1, -(2**31)])
def test_non_positive_frame_length_is_rejected(length: int) -> None:
    server = ready_server()
    raises_remote(server, length.to_bytes(4, "big", signed=True))


def test_frame_over_maximum_is_rejected_from_its_prefix() -> None:
    server = ServerConnection(frame_size_bytes_max=1024, setup_frame_size_bytes_max=512)
    client = ClientConnection(effective_user="alice", client_id=CLIENT_ID)
    server.receive_data(client.start())
    error = raises_remote(server, (1025).to_bytes(4, "big"))
    assert "1025" in str(error)


def test_setup_frame_over_setup_maximum_is_rejected() -> None:
    server = ServerConnection(setup_frame_size_bytes_max=64)
    raises_remote(server, b"hrpc\x09\x00\x00" + (65).to_bytes(4, "big"))


def test_frame_over_buffer_cap_is_rejected() -> None:
    server = ServerConnection(buffered_bytes_max=4096, setup_frame_size_bytes_max=1024)
    server.receive_data(ClientConnection(effective_user="alice").start())
    error = raises_remote(server, (4097).to_bytes(4, "big"))
    assert "buffer cap" in str(error)


def test_malformed_varint_is_rejected() -> None:
    server = ready_server()
    raises_remote(server, length_prefixed(b"\xff" * 6))


def test_truncated_varint_is_rejected() -> None:
    server = ready_server()
    raises_remote(server, length_prefixed(b"\xff\xff"))


def test_delimited_length_past_frame_end_is_rejected() -> None:
    server = ready_server()
    raises_remote(server, length_prefixed(b"\x20" + b"\x00" * 4))


def test_corrupt_header_proto_is_rejected() -> None:
    server = ready_server()
    raises_remote(server, length_prefixed(delimited(b"\x18")))


def test_header_missing_required_fields_is_rejected() -> None:
    server = ready_server()
    missing_client_id = RpcRequestHeaderProto(callId=0).SerializePartialToString()
    error = raises_remote(server, length_prefixed(delimited(missing_client_id)))
    assert "clientId" in str(error)


def test_truncated_request_body_is_rejected() -> None:
    server = ready_server()
    # The request declares 7 bytes; the frame ends after 5 of them.
    body = delimited(request_header(1)) + delimited(method_header()) + b"\x07\x0a\x05/abc"
    raises_remote(server, length_prefixed(body))


def test_trailing_bytes_after_request_are_rejected() -> None:
    server = ready_server()
    body = delimited(request_header(1)) + delimited(method_header()) + delimited(b"") + b"\x00"
    error = raises_remote(server, length_prefixed(body))
    assert error.error_detail == errors.FATAL_DESERIALIZING_REQUEST


def test_invalid_utf8_method_name_is_rejected() -> None:
    server = ready_server()
    bad_method = b"\x0a\x02\xff\xfe\x12\x01p\x18\x01"
    frame = length_prefixed(delimited(request_header(1)) + delimited(bad_method) + delimited(b""))
    raises_remote(server, frame)


def test_call_before_connection_context_is_rejected() -> None:
    server = ServerConnection()
    error = raises_remote(server, b"hrpc\x09\x00\x00" + call_frame(0))
    assert error.call_id == 0
    assert error.error_detail == errors.FATAL_INVALID_RPC_HEADER


def test_second_connection_context_is_rejected() -> None:
    client = ClientConnection(effective_user="alice", client_id=CLIENT_ID)
    handshake = client.start()
    server = ServerConnection()
    server.receive_data(handshake)
    raises_remote(server, handshake[7:])


def test_sasl_frame_without_sasl_preamble_is_rejected() -> None:
    server = ready_server()
    sasl_header = RpcRequestHeaderProto(callId=-33, clientId=b"").SerializeToString()
    sasl = RpcSaslProto(state=RpcSaslProto.NEGOTIATE).SerializeToString()
    raises_remote(server, length_prefixed(delimited(sasl_header) + delimited(sasl)))


def test_second_sasl_message_before_the_answer_is_unauthorized() -> None:
    client = ClientConnection(effective_user="alice", client_id=CLIENT_ID, auth_protocol=AuthProtocol.SASL)
    handshake = client.start()
    server = ServerConnection()
    error = raises_remote(server, handshake + handshake[7:])
    assert error.error_detail == errors.FATAL_UNAUTHORIZED


def test_connection_context_during_sasl_is_rejected() -> None:
    plain = ClientConnection(effective_user="alice", client_id=CLIENT_ID).start()
    server = ServerConnection()
    raises_remote(server, b"hrpc\x09\x00\xdf" + plain[7:])


def test_unknown_out_of_band_call_id_is_rejected() -> None:
    server = ready_server()
    raises_remote(server, length_prefixed(delimited(request_header(-7))))


def test_missing_rpc_op_is_rejected() -> None:
    server = ready_server()
    header = RpcRequestHeaderProto(rpcKind=rpc_header_pb2.RPC_PROTOCOL_BUFFER, callId=1, clientId=b"")
    frame = length_prefixed(delimited(header.SerializeToString()) + delimited(method_header()))
    raises_remote(server, frame)


def test_oversized_client_id_is_rejected() -> None:
    server = ready_server()
    raises_remote(server, call_frame(1, clientId=b"x" * 17))


def test_duplicate_call_id_in_flight_is_rejected() -> None:
    server = ready_server()
    server.receive_data(call_frame(1))
    raises_remote(server, call_frame(1))


def test_calls_in_flight_are_bounded() -> None:
    client = ClientConnection(effective_user="alice", client_id=CLIENT_ID)
    server = ServerConnection(calls_in_flight_max=2)
    server.receive_data(client.start())
    server.receive_data(call_frame(1) + call_frame(2))
    raises_remote(server, call_frame(3))


def test_end_of_stream_inside_a_frame_is_rejected() -> None:
    server = ready_server()
    server.receive_data(call_frame(1)[:9])
    raises_remote(server, b"")


def test_sasl_step_other_than_negotiate_is_unauthorized() -> None:
    server = ServerConnection()
    header = RpcRequestHeaderProto(callId=-33, clientId=b"").SerializeToString()
    initiate = RpcSaslProto(
        state=RpcSaslProto.INITIATE, auths=[RpcSaslProto.SaslAuth(method="TOKEN", mechanism="DIGEST-MD5")]
    )
    frame = length_prefixed(delimited(header) + delimited(initiate.SerializeToString()))
    [_, event] = server.receive_data(b"hrpc\x09\x00\xdf" + frame)
    assert isinstance(event, SaslMessage)
    with pytest.raises(RemoteProtocolError) as caught:
        server.answer_sasl_simple(event)
    assert caught.value.error_detail == errors.FATAL_UNAUTHORIZED
    assert caught.value.exception_class_name == errors.ACCESS_CONTROL_EXCEPTION
    assert server.state is ConnectionState.ERROR
    assert server.protocol_error_response(caught.value)
    assert server.state is ConnectionState.CLOSED


def response_frame(call_id: int, client_id: bytes = CLIENT_ID, body: bytes | None = b"") -> bytes:
    header = RpcResponseHeaderProto(
        callId=call_id % 2**32, status=RpcResponseHeaderProto.SUCCESS, clientId=client_id
    )
    parts = delimited(header.SerializeToString())
    return length_prefixed(parts if body is None else parts + delimited(body))


def client_raises_remote(client: ClientConnection, data: bytes) -> RemoteProtocolError:
    with pytest.raises(RemoteProtocolError) as caught:
        client.receive_data(data)
    assert client.state is ConnectionState.ERROR
    return caught.value


def test_client_rejects_response_for_unknown_call() -> None:
    client, _ = connected_pair()
    client_raises_remote(client, response_frame(99))


def test_client_rejects_another_clients_id() -> None:
    client, _ = connected_pair()
    call_id, _ = client.send_call("mkdirs", b"")
    client_raises_remote(client, response_frame(call_id, client_id=b"y" * 16))


def test_client_rejects_response_length_mismatch() -> None:
    client, _ = connected_pair()
    call_id, _ = client.send_call("mkdirs", b"")
    header = RpcResponseHeaderProto(callId=call_id, status=RpcResponseHeaderProto.SUCCESS)
    # The body declares 5 bytes; the frame ends after 2 of them.
    client_raises_remote(client, length_prefixed(delimited(header.SerializeToString()) + b"\x05\x08\x01"))


def test_client_rejects_trailing_bytes_after_error_header() -> None:
    client, _ = connected_pair()
    call_id, _ = client.send_call("mkdirs", b"")
    header = RpcResponseHeaderProto(
        callId=call_id, status=RpcResponseHeaderProto.ERROR, exceptionClassName="E", errorMsg="m"
    )
    client_raises_remote(client, length_prefixed(delimited(header.SerializeToString()) + b"\x00"))


def test_client_rejects_frames_before_start() -> None:
    client = ClientConnection(effective_user="alice", client_id=CLIENT_ID)
    client_raises_remote(client, response_frame(0))


def test_client_rejects_non_sasl_response_during_sasl() -> None:
    client = ClientConnection(effective_user="alice", client_id=CLIENT_ID, auth_protocol=AuthProtocol.SASL)
    client.start()
    client_raises_remote(client, response_frame(0))


def test_client_rejects_a_server_that_demands_real_sasl() -> None:
    client = ClientConnection(effective_user="alice", client_id=CLIENT_ID, auth_protocol=AuthProtocol.SASL)
    client.start()
    offer = RpcSaslProto(
        state=RpcSaslProto.NEGOTIATE, auths=[RpcSaslProto.SaslAuth(method="KERBEROS", mechanism="GSSAPI")]
    )
    error = client_raises_remote(client, response_frame(-33, client_id=b"", body=offer.SerializeToString()))
    assert error.error_detail == errors.FATAL_UNAUTHORIZED


def test_client_treats_a_sasl_error_as_fatal() -> None:
    client = ClientConnection(effective_user="alice", client_id=CLIENT_ID, auth_protocol=AuthProtocol.SASL)
    client.start()
    header = RpcResponseHeaderProto(
        callId=(-33) % 2**32, status=RpcResponseHeaderProto.ERROR, exceptionClassName="E", errorMsg="m"
    )
    [event] = client.receive_data(length_prefixed(delimited(header.SerializeToString())))
    assert isinstance(event, CallError)
    assert event.fatal
    assert client.state is ConnectionState.CLOSED


def test_client_reports_a_fatal_sasl_refusal() -> None:
    client = ClientConnection(effective_user="alice", client_id=CLIENT_ID, auth_protocol=AuthProtocol.SASL)
    client.start()
    header = RpcResponseHeaderProto(
        callId=(-33) % 2**32,
        status=RpcResponseHeaderProto.FATAL,
        exceptionClassName=errors.ACCESS_CONTROL_EXCEPTION,
        errorMsg="no",
    )
    [event] = client.receive_data(length_prefixed(delimited(header.SerializeToString())))
    assert event == CallError(-33, errors.ACCESS_CONTROL_EXCEPTION, "no", None, True)
    assert client.state is ConnectionState.CLOSED


# --- our own misuse (LocalProtocolError) ------------------------------------------------------------


def test_answering_an_unknown_call_is_local_error() -> None:
    server = ready_server()
    with pytest.raises(LocalProtocolError):
        server.success_response(5, b"")
    with pytest.raises(LocalProtocolError):
        server.error_response(5, "java.io.IOException", "x")


def test_answering_twice_is_local_error() -> None:
    server = ready_server()
    server.receive_data(call_frame(1))
    server.success_response(1, b"")
    with pytest.raises(LocalProtocolError):
        server.success_response(1, b"")


def test_responding_before_ready_is_local_error() -> None:
    with pytest.raises(LocalProtocolError):
        ServerConnection().success_response(0, b"")


def test_calling_before_start_or_starting_twice_is_local_error() -> None:
    client = ClientConnection(effective_user="alice")
    with pytest.raises(LocalProtocolError):
        client.send_call("getFileInfo", b"")
    with pytest.raises(LocalProtocolError):
        client.send_ping()
    client.start()
    with pytest.raises(LocalProtocolError):
        client.start()
    with pytest.raises(LocalProtocolError):
        client.send_connection_context()


def test_receiving_after_error_or_close_is_local_error() -> None:
    server = ServerConnection()
    raises_remote(server, b"xxxxxxx")
    with pytest.raises(LocalProtocolError):
        server.receive_data(b"more")
    server.close()
    assert server.state is ConnectionState.CLOSED
    with pytest.raises(LocalProtocolError):
        server.receive_data(b"more")
    server.close()  # idempotent


def test_unknown_error_detail_is_local_error() -> None:
    server = ready_server()
    server.receive_data(call_frame(1))
    with pytest.raises(LocalProtocolError):
        server.error_response(1, "java.io.IOException", "x", error_detail=99)
    assert server.calls_in_flight == 1


def test_oversized_response_is_local_error_and_call_stays_answerable() -> None:
    client = ClientConnection(effective_user="alice", client_id=CLIENT_ID)
    server = ServerConnection(frame_size_bytes_max=2048, setup_frame_size_bytes_max=1024)
    server.receive_data(client.start())
    server.receive_data(call_frame(1))
    with pytest.raises(LocalProtocolError):
        server.success_response(1, b"\x00" * 4096)
    assert server.error_response(1, "java.io.IOException", "response too large")


def test_huge_error_messages_are_truncated_not_refused() -> None:
    client = ClientConnection(effective_user="alice", client_id=CLIENT_ID)
    server = ServerConnection()
    server.receive_data(client.start())
    call_id, frame = client.send_call("mkdirs", b"")
    server.receive_data(frame)
    answer = server.error_response(call_id, "java.io.IOException", "x" * (ERROR_MESSAGE_CHARS_MAX + 1000))
    [event] = client.receive_data(answer)
    assert isinstance(event, CallError)
    assert len(event.message) == ERROR_MESSAGE_CHARS_MAX


def test_message_missing_required_fields_is_local_error() -> None:
    server = ready_server()
    server.receive_data(call_frame(1))
    with pytest.raises(LocalProtocolError):
        server.success_response(1, client_namenode_protocol_pb2.MkdirsResponseProto())


def test_invalid_state_transition_is_local_error() -> None:
    server = ServerConnection()
    with pytest.raises(LocalProtocolError):
        server._set_state(ConnectionState.READY)


def test_inconsistent_limits_are_local_errors() -> None:
    with pytest.raises(LocalProtocolError):
        ServerConnection(frame_size_bytes_max=100, setup_frame_size_bytes_max=200)
    with pytest.raises(LocalProtocolError):
        ServerConnection(frame_size_bytes_max=2**31)
    with pytest.raises(LocalProtocolError):
        ServerConnection(calls_in_flight_max=0)
    with pytest.raises(LocalProtocolError):
        ClientConnection(effective_user="alice", client_id=b"z" * 17)


def test_invalid_arguments_are_local_errors() -> None:
    with pytest.raises(LocalProtocolError):
        ClientConnection(effective_user="alice", calls_in_flight_max=0)
    with pytest.raises(LocalProtocolError):
        ServerConnection(buffered_bytes_max=6)
    with pytest.raises(LocalProtocolError):
        ipc_wire.encode_preamble(5)
    with pytest.raises(LocalProtocolError):
        ipc_wire.encode_preamble(ipc_wire.AUTH_PROTOCOL_NONE, service_class=256)
    with pytest.raises(LocalProtocolError):
        ipc_wire.call_id_to_wire(2**31)
    client, _ = connected_pair()
    with pytest.raises(LocalProtocolError):
        client.send_call("msync", b"", call_id=-5)


def test_client_call_ids_wrap_and_skip_ids_in_flight() -> None:
    client, _ = connected_pair()
    client._next_call_id = ipc_wire.CALL_ID_MAX
    first, _ = client.send_call("msync", b"")
    second, _ = client.send_call("msync", b"")
    assert (first, second) == (ipc_wire.CALL_ID_MAX, 0)
    client._next_call_id = 0
    third, _ = client.send_call("msync", b"")
    assert third == 1
    with pytest.raises(LocalProtocolError):
        client.send_call("msync", b"", call_id=1)


def test_client_bounds_calls_in_flight() -> None:
    client = ClientConnection(effective_user="alice", calls_in_flight_max=1)
    client.start()
    client.send_call("msync", b"")
    with pytest.raises(LocalProtocolError):
        client.send_call("msync", b"")


# --- wire helpers and generated code ----------------------------------------------------------------


@pytest.mark.parametrize("value", [0, 1, 127, 128, 300, 2**31 - 1, 2**32 - 1])
def test_varint_round_trip(value: int) -> None:
    encoded = ipc_wire.encode_varint(value)
    assert ipc_wire.decode_varint32(encoded, 0, len(encoded), "test") == (value, len(encoded))


def test_varint_over_32_bits_is_rejected() -> None:
    encoded = ipc_wire.encode_varint(2**32)
    with pytest.raises(RemoteProtocolError):
        ipc_wire.decode_varint32(encoded, 0, len(encoded), "test")
    with pytest.raises(LocalProtocolError):
        ipc_wire.encode_varint(-1)


@pytest.mark.parametrize("call_id", [0, 7, -1, -3, -4, -33, 2**31 - 1, -(2**31)])
def test_call_id_wire_round_trip(call_id: int) -> None:
    assert ipc_wire.call_id_from_wire(ipc_wire.call_id_to_wire(call_id)) == call_id


def test_proto_packages_and_field_numbers_match_hadoop() -> None:
    assert RpcRequestHeaderProto.DESCRIPTOR.full_name == "hadoop.common.RpcRequestHeaderProto"
    assert RpcRequestHeaderProto.DESCRIPTOR.fields_by_name["stateId"].number == 8
    assert RpcResponseHeaderProto.DESCRIPTOR.fields_by_name["stateId"].number == 9
    assert RpcResponseHeaderProto.DESCRIPTOR.fields_by_name["clientId"].number == 7
    context = ipc_connection_context_pb2.IpcConnectionContextProto.DESCRIPTOR
    assert context.fields_by_name["userInfo"].number == 2
    status = hdfs_pb2.HdfsFileStatusProto.DESCRIPTOR
    assert status.full_name == "hadoop.hdfs.HdfsFileStatusProto"
    assert (status.fields_by_name["fileId"].number, status.fields_by_name["flags"].number) == (13, 18)
    assert xattr_pb2.XAttrProto.DESCRIPTOR.full_name == "hadoop.hdfs.XAttrProto"


def test_service_lists_every_method_we_serve() -> None:
    service = client_namenode_protocol_pb2.DESCRIPTOR.services_by_name["ClientNamenodeProtocol"]
    expected = {
        "getFileInfo": "GetFileInfoRequestProto",
        "getListing": "GetListingRequestProto",
        "mkdirs": "MkdirsRequestProto",
        "rename": "RenameRequestProto",
        "rename2": "Rename2RequestProto",
        "delete": "DeleteRequestProto",
        "setPermission": "SetPermissionRequestProto",
        "setOwner": "SetOwnerRequestProto",
        "setTimes": "SetTimesRequestProto",
        "setReplication": "SetReplicationRequestProto",
        "getContentSummary": "GetContentSummaryRequestProto",
        "getServerDefaults": "GetServerDefaultsRequestProto",
        "getFsStats": "GetFsStatusRequestProto",
        "setXAttr": "SetXAttrRequestProto",
        "getXAttrs": "GetXAttrsRequestProto",
        "listXAttrs": "ListXAttrsRequestProto",
        "removeXAttr": "RemoveXAttrRequestProto",
        "createSymlink": "CreateSymlinkRequestProto",
        "getLinkTarget": "GetLinkTargetRequestProto",
        "msync": "MsyncRequestProto",
        "create": "CreateRequestProto",
        "complete": "CompleteRequestProto",
        "renewLease": "RenewLeaseRequestProto",
        "addBlock": "AddBlockRequestProto",
        "getBlockLocations": "GetBlockLocationsRequestProto",
        "abandonBlock": "AbandonBlockRequestProto",
        "append": "AppendRequestProto",
        "truncate": "TruncateRequestProto",
        "isFileClosed": "IsFileClosedRequestProto",
        "fsync": "FsyncRequestProto",
        "getFileLinkInfo": "GetFileLinkInfoRequestProto",
        "updateBlockForPipeline": "UpdateBlockForPipelineRequestProto",
        "updatePipeline": "UpdatePipelineRequestProto",
        "getAdditionalDatanode": "GetAdditionalDatanodeRequestProto",
        "reportBadBlocks": "ReportBadBlocksRequestProto",
        "recoverLease": "RecoverLeaseRequestProto",
    }
    served = {method.name: method.input_type.name for method in service.methods}
    assert served == expected


def test_generated_modules_use_package_imports() -> None:
    proto_dir = Path(client_namenode_protocol_pb2.__file__).parent
    generated = sorted(proto_dir.glob("*_pb2.py")) + sorted(proto_dir.glob("*_pb2.pyi"))
    assert len(generated) == 2 * len(list(proto_dir.glob("*.proto")))
    for path in generated:
        for line in path.read_text().splitlines():
            assert not (line.startswith("import ") and "_pb2" in line), f"{path.name}: {line}"
