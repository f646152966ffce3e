"""The namenode's Hadoop IPC server against clients that break the protocol, stall, or vanish.

Most cases run raw sockets against one real namenode process shared by the module, so every case also
checks that the abuse before it left the server healthy: a well-behaved client connected before the
bad one and another connected after it both get correct answers, the process is alive, and its log
holds no traceback. The module ends by stopping the process (exit code 0) and checking the namespace
with fsck. Timeouts, the connection limit and write backpressure run on an in-process NamenodeServer
with small limits, so no test sleeps for the production timeouts.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path

import pytest
from support import databases
from support.cluster import NamenodeProcess, format_store, wait_until
from support.fsck import assert_consistent
from support.inprocess_namenode import InProcessNamenode, format_sqlite_store, running_namenode
from support.raw_ipc import ERROR, FATAL, SUCCESS, RawIpcClient, Response, method_frame

from hopsfs.protocol.ipc_codec import AuthProtocol, ClientConnection
from hopsfs.protocol.ipc_wire import FRAME_SIZE_BYTES_MAX, SETUP_FRAME_SIZE_BYTES_MAX, delimited, encode_frame
from hopsfs.protocol.proto import client_namenode_protocol_pb2 as pb
from hopsfs.protocol.proto import hdfs_pb2
from hopsfs.protocol.proto.rpc_header_pb2 import RpcRequestHeaderProto, RpcResponseHeaderProto, RpcSaslProto
from namenode.ipc import server as server_module

Code = RpcResponseHeaderProto
RPC_SERVER_EXCEPTION = "org.apache.hadoop.ipc.RpcServerException"
VERSION_MISMATCH = "org.apache.hadoop.ipc.RPC$VersionMismatch"
NO_SUCH_METHOD = "org.apache.hadoop.ipc.RpcNoSuchMethodException"
NO_SUCH_PROTOCOL = "org.apache.hadoop.ipc.RpcNoSuchProtocolException"
ACCESS_CONTROL = "org.apache.hadoop.security.AccessControlException"
INVALID_PATH = "org.apache.hadoop.fs.InvalidPathException"
PREAMBLE = b"hrpc\x09\x00\x00"
PREAMBLE_SASL = b"hrpc\x09\x00\xdf"
CALL_ID_NONE = -1
CALL_ID_SASL = -33
CALL_ID_CONTEXT = -3
TREE_DIRECTORIES = 1000
TREE_GROUP_SIZE = 100
FAST_CALLS = 30

# -- the shared namenode process ----------------------------------------------------------------


@pytest.fixture(scope="module", name="shared_namenode")
def shared_namenode_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NamenodeProcess]:
    url = databases.sqlite_url(tmp_path_factory.mktemp("ipc-robustness"))
    format_store(url)
    process = NamenodeProcess.start(url)
    try:
        yield process
    finally:
        exit_code = process.stop()
    # Runs only when the module's tests are done with the process: it must have survived them all.
    assert exit_code == 0, "\n".join(process.output_lines)
    assert _settles(lambda: len(process.output_lines))  # the reader thread has drained the pipe
    _assert_clean_log(process.output_lines)
    assert_consistent(url)


@pytest.fixture(autouse=True)
def _server_healthy_after_each_case(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "shared_namenode" not in request.fixturenames:
        return
    process: NamenodeProcess = request.getfixturevalue("shared_namenode")
    assert process.alive(), "\n".join(process.output_lines)
    _assert_clean_log(process.output_lines)


@pytest.fixture(autouse=True)
def _no_error_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """In-process servers log into this process: no errors, no exceptions."""
    caplog.set_level(logging.WARNING)
    yield
    bad = [record for record in caplog.records if record.levelno >= logging.ERROR or record.exc_info]
    assert not bad, [record.getMessage() for record in bad]


def _assert_clean_log(lines: list[str]) -> None:
    bad = [line for line in lines if "Traceback" in line or " ERROR " in line or " CRITICAL " in line]
    assert not bad, "namenode logged an unhandled exception:\n" + "\n".join(lines)


def _settles(value: Callable[[], int], quiet_s: float = 0.3, timeout_s: float = 10.0) -> bool:
    """Wait until `value()` stops changing for `quiet_s`; False if it still changes after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    last = value()
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(quiet_s / 6)
        current = value()
        if current != last:
            last, quiet_since = current, time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_s:
            return True
    return False


def _connected(address: tuple[str, int], auth_protocol: AuthProtocol = AuthProtocol.NONE) -> RawIpcClient:
    client = RawIpcClient(address, auth_protocol=auth_protocol)
    client.handshake()
    return client


def _assert_serves(client: RawIpcClient) -> None:
    """A read and a write with exact answers: the connection and the server both work."""
    root = client.file_info("/")
    assert root.fs.fileType == hdfs_pb2.HdfsFileStatusProto.IS_DIR
    path = f"/probe-{uuid.uuid4().hex}"
    made = client.call("mkdirs", _mkdirs_request(path)).message(pb.MkdirsResponseProto)
    assert made.result is True
    status = client.file_info(path).fs
    assert (status.fileType, status.owner, status.permission.perm) == (
        hdfs_pb2.HdfsFileStatusProto.IS_DIR,
        "hdfs",
        0o755,
    )


@contextmanager
def _bystanders(address: tuple[str, int]) -> Iterator[None]:
    """A client connected before the block and one connected after it must both be served."""
    with _connected(address) as before:
        _assert_serves(before)
        yield
        _assert_serves(before)
    with _connected(address) as after:
        _assert_serves(after)


def _mkdirs_request(path: str) -> pb.MkdirsRequestProto:
    return pb.MkdirsRequestProto(src=path, masked=hdfs_pb2.FsPermissionProto(perm=0o755), createParent=True)


def _assert_fatal_then_closed(
    client: RawIpcClient, exception_class: str, error_detail: int, call_id: int = CALL_ID_NONE
) -> Response:
    responses = client.read_until_closed()
    assert len(responses) == 1, responses
    (fatal,) = responses
    assert (fatal.status, fatal.call_id) == (FATAL, call_id), fatal
    assert (fatal.exception_class_name, fatal.error_detail) == (exception_class, error_detail), fatal
    assert fatal.body == b""
    return fatal


def _assert_error(response: Response, call_id: int, exception_class: str, error_detail: int) -> None:
    assert (response.status, response.call_id) == (ERROR, call_id), response
    assert (response.exception_class_name, response.error_detail) == (exception_class, error_detail), response


def _request_header(call_id: int, client_id: bytes) -> bytes:
    header = RpcRequestHeaderProto(
        rpcKind=2, rpcOp=RpcRequestHeaderProto.RPC_FINAL_PACKET, callId=call_id, clientId=client_id
    )
    return header.SerializeToString()


# -- handshake and framing: FATAL, then the server hangs up ------------------------------------


@pytest.mark.parametrize(
    ("sent", "exception_class", "error_detail", "message_part"),
    [
        pytest.param(
            b"xrpc\x09\x00\x00", RPC_SERVER_EXCEPTION, Code.FATAL_INVALID_RPC_HEADER, "preamble", id="magic"
        ),
        pytest.param(
            b"hrpc\x08\x00\x00", VERSION_MISMATCH, Code.FATAL_VERSION_MISMATCH, "version 8", id="version"
        ),
        pytest.param(
            b"hrpc\x09\x00\x07", RPC_SERVER_EXCEPTION, Code.FATAL_INVALID_RPC_HEADER, "auth", id="auth"
        ),
        pytest.param(
            PREAMBLE + b"GET / HTTP/1.1\r\n\r\n",
            RPC_SERVER_EXCEPTION,
            Code.FATAL_INVALID_RPC_HEADER,
            "exceeds the 1048576-byte maximum",
            id="garbage-after-preamble",
        ),
        pytest.param(
            PREAMBLE + b"\x7f\xff\xff\xff",
            RPC_SERVER_EXCEPTION,
            Code.FATAL_INVALID_RPC_HEADER,
            "frame of 2147483647 bytes",
            id="2GiB-setup-frame",
        ),
        pytest.param(
            PREAMBLE + (SETUP_FRAME_SIZE_BYTES_MAX + 1).to_bytes(4, "big"),
            RPC_SERVER_EXCEPTION,
            Code.FATAL_INVALID_RPC_HEADER,
            f"frame of {SETUP_FRAME_SIZE_BYTES_MAX + 1} bytes",
            id="setup-frame-over-limit",
        ),
        pytest.param(
            PREAMBLE + b"\x00\x00\x00\x00",
            RPC_SERVER_EXCEPTION,
            Code.FATAL_INVALID_RPC_HEADER,
            "invalid frame length 0",
            id="empty-frame",
        ),
    ],
)
def test_broken_handshake_gets_one_fatal_response_then_close(
    shared_namenode: NamenodeProcess, sent: bytes, exception_class: str, error_detail: int, message_part: str
) -> None:
    with _bystanders(shared_namenode.address), RawIpcClient(shared_namenode.address) as bad:
        bad.send_raw(sent)
        fatal = _assert_fatal_then_closed(bad, exception_class, error_detail)
        assert message_part in fatal.error_message


@pytest.mark.parametrize(
    ("prefix", "message_part"),
    [
        pytest.param(b"\x7f\xff\xff\xff", "frame of 2147483647 bytes exceeds", id="2GiB"),
        pytest.param(b"\x80\x00\x00\x00", "invalid frame length -2147483648", id="negative"),
        pytest.param(
            (FRAME_SIZE_BYTES_MAX + 1).to_bytes(4, "big"),
            f"frame of {FRAME_SIZE_BYTES_MAX + 1} bytes",
            id="limit+1",
        ),
    ],
)
def test_oversized_frame_is_refused_from_its_length_prefix(
    shared_namenode: NamenodeProcess, prefix: bytes, message_part: str
) -> None:
    # Only the 4-byte prefix is sent: the FATAL answer proves the server judged the length alone and
    # never waited to buffer the body.
    with _bystanders(shared_namenode.address), _connected(shared_namenode.address) as bad:
        _assert_serves(bad)
        bad.send_raw(prefix)
        fatal = _assert_fatal_then_closed(bad, RPC_SERVER_EXCEPTION, Code.FATAL_INVALID_RPC_HEADER)
        assert message_part in fatal.error_message


@pytest.mark.parametrize(
    "frame_body",
    [
        pytest.param(b"\x02\xff\xff", id="corrupt-protobuf"),
        pytest.param(b"\x0a\x01\x02", id="header-longer-than-frame"),
        pytest.param(b"\xff\xff\xff\xff\xff\xff", id="bad-varint"),
    ],
)
def test_malformed_request_header_is_fatal(shared_namenode: NamenodeProcess, frame_body: bytes) -> None:
    with _bystanders(shared_namenode.address), _connected(shared_namenode.address) as bad:
        bad.send_raw(len(frame_body).to_bytes(4, "big") + frame_body)
        _assert_fatal_then_closed(bad, RPC_SERVER_EXCEPTION, Code.FATAL_INVALID_RPC_HEADER)


def test_call_before_the_connection_context_is_fatal(shared_namenode: NamenodeProcess) -> None:
    with _bystanders(shared_namenode.address), RawIpcClient(shared_namenode.address) as bad:
        request = pb.GetFileInfoRequestProto(src="/").SerializeToString()
        bad.send_raw(PREAMBLE + method_frame(0, "getFileInfo", request, client_id=bad.codec.client_id))
        fatal = _assert_fatal_then_closed(bad, RPC_SERVER_EXCEPTION, Code.FATAL_INVALID_RPC_HEADER, call_id=0)
        assert "before the connection context" in fatal.error_message


def test_unknown_protocol_in_the_connection_context_is_fatal(shared_namenode: NamenodeProcess) -> None:
    with _bystanders(shared_namenode.address), RawIpcClient(shared_namenode.address) as bad:
        bad.codec = ClientConnection(effective_user="hdfs", protocol_name="org.example.NotHdfs")
        bad.handshake()
        fatal = _assert_fatal_then_closed(bad, NO_SUCH_PROTOCOL, Code.FATAL_UNKNOWN)
        assert "org.example.NotHdfs" in fatal.error_message


@pytest.mark.parametrize(
    ("context_bytes", "exception_class", "error_detail", "call_id"),
    [
        pytest.param(b"", ACCESS_CONTROL, Code.FATAL_UNAUTHORIZED, CALL_ID_NONE, id="no-user"),
        pytest.param(
            b"\x12\x06\x0a\x04\xff\xfe\xfd\xfc",
            RPC_SERVER_EXCEPTION,
            Code.FATAL_INVALID_RPC_HEADER,
            CALL_ID_NONE,
            id="user-not-utf8",
        ),
        # A context that does not parse is answered on its own call id (-3), like Hadoop does.
        pytest.param(
            b"\x12\x02\x0a",
            RPC_SERVER_EXCEPTION,
            Code.FATAL_INVALID_RPC_HEADER,
            CALL_ID_CONTEXT,
            id="truncated",
        ),
    ],
)
def test_bad_connection_context_is_fatal(
    shared_namenode: NamenodeProcess,
    context_bytes: bytes,
    exception_class: str,
    error_detail: int,
    call_id: int,
) -> None:
    header = delimited(_request_header(CALL_ID_CONTEXT, bytes(16)))
    with _bystanders(shared_namenode.address), RawIpcClient(shared_namenode.address) as bad:
        bad.send_raw(PREAMBLE + encode_frame([header, delimited(context_bytes)]))
        _assert_fatal_then_closed(bad, exception_class, error_detail, call_id=call_id)


def test_invalid_utf8_method_name_is_fatal_and_echoes_the_call(shared_namenode: NamenodeProcess) -> None:
    with _bystanders(shared_namenode.address), _connected(shared_namenode.address) as bad:
        method_header = b"\x0a\x02\xff\xfe\x12\x04abcd\x18\x01"
        header = delimited(_request_header(5, bad.codec.client_id))
        bad.send_raw(encode_frame([header, delimited(method_header), delimited(b"")]))
        fatal = _assert_fatal_then_closed(bad, RPC_SERVER_EXCEPTION, Code.FATAL_INVALID_RPC_HEADER, call_id=5)
        assert fatal.client_id == bad.codec.client_id


# -- bad calls: an ERROR answer, and the connection stays usable -------------------------------


def test_unknown_method_is_answered_and_the_connection_stays_usable(shared_namenode: NamenodeProcess) -> None:
    with _bystanders(shared_namenode.address), _connected(shared_namenode.address) as client:
        response = client.call("formatTheDisk", pb.GetFileInfoRequestProto(src="/"))
        _assert_error(response, response.call_id, NO_SUCH_METHOD, Code.ERROR_NO_SUCH_METHOD)
        assert "formatTheDisk" in response.error_message
        _assert_serves(client)


def test_unknown_protocol_in_a_call_is_answered_and_the_connection_stays_usable(
    shared_namenode: NamenodeProcess,
) -> None:
    with _bystanders(shared_namenode.address), _connected(shared_namenode.address) as client:
        request = pb.GetFileInfoRequestProto(src="/").SerializeToString()
        frame = method_frame(
            77, "getFileInfo", request, client_id=client.codec.client_id, protocol_name="org.example.Other"
        )
        client.send_raw(frame)
        _assert_error(client.read_response(), 77, NO_SUCH_PROTOCOL, Code.ERROR_NO_SUCH_PROTOCOL)
        _assert_serves(client)


@pytest.mark.parametrize(
    ("method", "request_bytes", "message_part"),
    [
        pytest.param("getFileInfo", b"\xff\xff\xff", "malformed getFileInfo request", id="garbage"),
        pytest.param("getFileInfo", b"\x08\x01", "missing required fields: src", id="wrong-wire-type"),
        pytest.param("getFileInfo", b"", "missing required fields: src", id="empty"),
        pytest.param(
            "mkdirs",
            pb.MkdirsRequestProto(src="/missing-fields").SerializePartialToString(),
            "missing required fields",
            id="mkdirs-missing-masked",
        ),
        pytest.param(
            "rename2",
            pb.GetFileInfoRequestProto(src="/x").SerializeToString(),
            "missing required fields: dst",
            id="another-methods-message",
        ),
    ],
)
def test_bad_request_body_is_answered_and_the_connection_stays_usable(
    shared_namenode: NamenodeProcess, method: str, request_bytes: bytes, message_part: str
) -> None:
    with _bystanders(shared_namenode.address), _connected(shared_namenode.address) as client:
        client.send_raw(method_frame(9, method, request_bytes, client_id=client.codec.client_id))
        response = client.read_response()
        _assert_error(response, 9, RPC_SERVER_EXCEPTION, Code.ERROR_RPC_SERVER)
        assert message_part in response.error_message
        assert client.file_info("/missing-fields").HasField("fs") is False
        _assert_serves(client)


@pytest.mark.parametrize(
    ("method", "request_bytes"),
    [
        pytest.param("getFileInfo", b"\x0a\x03/\xff\xfe", id="getFileInfo"),
        pytest.param("mkdirs", b"\x0a\x03/\xc3\x28\x12\x03\x08\xed\x03\x18\x01", id="mkdirs"),
        pytest.param("delete", b"\x0a\x02/\x80\x10\x01", id="delete"),
        pytest.param("rename2", b"\x0a\x02/a\x12\x03/\xed\xa0\x18\x00", id="rename2-target"),
    ],
)
def test_invalid_utf8_path_is_an_invalid_path_error(
    shared_namenode: NamenodeProcess, method: str, request_bytes: bytes
) -> None:
    with _bystanders(shared_namenode.address), _connected(shared_namenode.address) as client:
        before = client.call(
            "getListing", pb.GetListingRequestProto(src="/", startAfter=b"", needLocation=False)
        )
        client.send_raw(method_frame(3, method, request_bytes, client_id=client.codec.client_id))
        response = client.read_response()
        _assert_error(response, 3, INVALID_PATH, Code.ERROR_APPLICATION)
        after = client.call(
            "getListing", pb.GetListingRequestProto(src="/", startAfter=b"", needLocation=False)
        )
        assert after.body == before.body, "a refused call must not change the namespace"
        _assert_serves(client)


# -- connections that stop half-way -------------------------------------------------------------


@pytest.mark.parametrize(
    ("after_handshake", "partial"),
    [
        pytest.param(False, b"hrp", id="half-preamble"),
        pytest.param(True, b"\x00\x00", id="half-length-prefix"),
        pytest.param(True, b"\x00\x00\x01\x00" + b"\x0a" * 100, id="half-frame"),
    ],
)
def test_half_sent_frame_then_close(
    shared_namenode: NamenodeProcess, after_handshake: bool, partial: bytes
) -> None:
    with _bystanders(shared_namenode.address):
        bad = (
            _connected(shared_namenode.address) if after_handshake else RawIpcClient(shared_namenode.address)
        )
        with bad:
            bad.send_raw(partial)
            bad.sock.shutdown(socket.SHUT_WR)
            assert bad.read_until_closed() == []


def test_half_sent_frames_then_silence_do_not_block_other_clients(shared_namenode: NamenodeProcess) -> None:
    with _bystanders(shared_namenode.address):
        silent = [
            RawIpcClient(shared_namenode.address),
            RawIpcClient(shared_namenode.address),
            _connected(shared_namenode.address),
        ]
        silent[0].send_raw(b"hr")
        silent[1].send_raw(PREAMBLE + b"\x00\x00\x00\x40" + b"\x00" * 10)
        silent[2].send_raw(b"\x00\x00\x10\x00" + b"\x0a" * 1000)
        # Every stalled connection is still open and unanswered while the others are served.
        with _connected(shared_namenode.address) as during:
            _assert_serves(during)
        for client in silent:
            client.sock.settimeout(0.2)
            with pytest.raises(TimeoutError):
                client.sock.recv(1)
            client.close()


@pytest.mark.parametrize("delay_s", [0.0, 0.005, 0.05])
def test_reset_with_calls_in_flight(shared_namenode: NamenodeProcess, delay_s: float) -> None:
    with _bystanders(shared_namenode.address):
        client = _connected(shared_namenode.address)
        base = f"/reset-{uuid.uuid4().hex}"
        frames = [
            client.codec.send_call("mkdirs", _mkdirs_request(f"{base}/d{index}"))[1] for index in range(300)
        ]
        frames += [
            client.codec.send_call("getContentSummary", pb.GetContentSummaryRequestProto(path="/"))[1]
            for _ in range(20)
        ]
        frames += [
            client.codec.send_call("getFileInfo", pb.GetFileInfoRequestProto(src="/"))[1] for _ in range(20)
        ]
        client.send_raw(b"".join(frames))
        time.sleep(delay_s)
        client.abort()


# -- pipelining, SASL, pings --------------------------------------------------------------------


def _make_tree(client: RawIpcClient, root: str) -> None:
    """TREE_DIRECTORIES directories in groups under `root`, created by pipelined calls."""
    paths = [f"{root}/g{index // TREE_GROUP_SIZE}/d{index}" for index in range(TREE_DIRECTORIES)]
    call_ids = {client.send_call("mkdirs", _mkdirs_request(path)): path for path in paths}
    # More calls than the connection lets run at once: reading pauses and resumes along the way.
    responses = [client.read_response() for _ in paths]
    assert sorted(response.call_id for response in responses) == sorted(call_ids)
    assert all(response.message(pb.MkdirsResponseProto).result for response in responses)


def test_pipelined_calls_are_answered_as_they_finish_and_matched_by_call_id(
    shared_namenode: NamenodeProcess,
) -> None:
    base = f"/pipelined-{uuid.uuid4().hex}"
    with _bystanders(shared_namenode.address), _connected(shared_namenode.address) as client:
        _make_tree(client, f"{base}/summed")
        _make_tree(client, f"{base}/deleted")
        summary_id, summary_frame = client.codec.send_call(
            "getContentSummary", pb.GetContentSummaryRequestProto(path=f"{base}/summed")
        )
        delete_id, delete_frame = client.codec.send_call(
            "delete", pb.DeleteRequestProto(src=f"{base}/deleted", recursive=True)
        )
        # Even indexes name directories of the tree, odd ones paths that do not exist: each answer
        # must go to its own call.
        stat_paths = [
            f"{base}/summed/g0/{'d' if index % 2 == 0 else 'missing'}{index}" for index in range(FAST_CALLS)
        ]
        stat_calls = [
            client.codec.send_call("getFileInfo", pb.GetFileInfoRequestProto(src=path)) for path in stat_paths
        ]
        client.send_raw(summary_frame + delete_frame + b"".join(frame for _, frame in stat_calls))
        responses = [client.read_response() for _ in range(FAST_CALLS + 2)]
        # Both slow calls were sent first and are answered last: the fast ones did not wait for them.
        assert [response.call_id for response in responses[:FAST_CALLS]] == [
            call_id for call_id, _ in stat_calls
        ]
        assert {response.call_id for response in responses[FAST_CALLS:]} == {summary_id, delete_id}
        by_id = {response.call_id: response for response in responses}
        for index, (call_id, _) in enumerate(stat_calls):
            assert by_id[call_id].message(pb.GetFileInfoResponseProto).HasField("fs") is (index % 2 == 0)
        summary = by_id[summary_id].message(pb.GetContentSummaryResponseProto).summary
        groups = TREE_DIRECTORIES // TREE_GROUP_SIZE
        assert (summary.directoryCount, summary.fileCount) == (1 + groups + TREE_DIRECTORIES, 0)
        assert by_id[delete_id].message(pb.DeleteResponseProto).result is True
        assert client.file_info(f"{base}/deleted").HasField("fs") is False
        _assert_serves(client)


def test_sasl_negotiate_is_answered_success_then_calls_work(shared_namenode: NamenodeProcess) -> None:
    with (
        _bystanders(shared_namenode.address),
        _connected(shared_namenode.address, auth_protocol=AuthProtocol.SASL) as client,
    ):
        _assert_serves(client)


def _sasl_frame(state: int) -> bytes:
    header = delimited(_request_header(CALL_ID_SASL, b""))
    return encode_frame([header, delimited(RpcSaslProto(state=state).SerializeToString())])


@pytest.mark.parametrize("state", [RpcSaslProto.INITIATE, RpcSaslProto.RESPONSE, RpcSaslProto.WRAP])
def test_sasl_authentication_is_refused_with_access_control_exception(
    shared_namenode: NamenodeProcess, state: int
) -> None:
    with _bystanders(shared_namenode.address), RawIpcClient(shared_namenode.address) as bad:
        bad.send_raw(PREAMBLE_SASL + _sasl_frame(state))
        fatal = _assert_fatal_then_closed(bad, ACCESS_CONTROL, Code.FATAL_UNAUTHORIZED, call_id=CALL_ID_SASL)
        assert RpcSaslProto.SaslState.Name(state) in fatal.error_message


def test_sasl_message_on_a_simple_connection_is_fatal(shared_namenode: NamenodeProcess) -> None:
    with _bystanders(shared_namenode.address), _connected(shared_namenode.address) as bad:
        bad.send_raw(_sasl_frame(RpcSaslProto.NEGOTIATE))
        _assert_fatal_then_closed(
            bad, RPC_SERVER_EXCEPTION, Code.FATAL_INVALID_RPC_HEADER, call_id=CALL_ID_SASL
        )


def test_pings_get_no_answer(shared_namenode: NamenodeProcess) -> None:
    with _bystanders(shared_namenode.address), _connected(shared_namenode.address) as client:
        client.send_ping()
        first = client.send_call("getFileInfo", pb.GetFileInfoRequestProto(src="/"))
        client.send_raw(client.codec.send_ping() + client.codec.send_ping())
        second = client.send_call("getServerDefaults", pb.GetServerDefaultsRequestProto())
        client.send_ping()
        assert [client.read_response().call_id, client.read_response().call_id] == [first, second]
        client.sock.settimeout(0.2)
        with pytest.raises(TimeoutError):
            client.sock.recv(1)
        client.sock.settimeout(5.0)
        _assert_serves(client)


# -- in-process: timeouts, the connection limit, write backpressure ----------------------------

SWEEP_INTERVAL_TEST_S = 0.05
TIMEOUT_TEST_S = 0.4
CLOSE_WAIT_S_MAX = 5.0
LISTING_DIRECTORIES = 40
LISTING_CALLS = 1000
# Kernel buffers (2 x 64 KiB) plus the transport's 64 KiB high-water mark hold about 30 responses.
STARTED_WHILE_NOT_READING_MAX = 100
SOCKET_BUFFER_BYTES = 32 * 1024


@pytest.fixture(name="store_url")
def store_url_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(server_module, "_SWEEP_INTERVAL_S", SWEEP_INTERVAL_TEST_S)
    url = databases.sqlite_url(tmp_path)
    format_sqlite_store(url)
    return url


def _closed_within(client: RawIpcClient, seconds_min: float) -> float:
    """Seconds from now until the server closes `client` without a word."""
    started = time.monotonic()
    assert client.read_until_closed() == []
    elapsed = time.monotonic() - started
    assert seconds_min <= elapsed < CLOSE_WAIT_S_MAX, elapsed
    return elapsed


def _open_connections(namenode: InProcessNamenode) -> int:
    return namenode.call_in_loop(lambda: len(namenode.server.connections))


def test_handshake_timeout_closes_connections_that_never_finish_it(store_url: str) -> None:
    with (
        running_namenode(store_url, handshake_timeout_s=TIMEOUT_TEST_S, idle_timeout_s=60.0) as namenode,
        _connected(namenode.address) as ready,
        ExitStack() as stack,
    ):
        opened_at = time.monotonic()
        stalled = [
            stack.enter_context(RawIpcClient(namenode.address, timeout_s=CLOSE_WAIT_S_MAX)) for _ in range(4)
        ]
        stalled[1].send_raw(b"hrp")
        stalled[2].send_raw(PREAMBLE)
        stalled[3].send_raw(PREAMBLE_SASL + _sasl_frame(RpcSaslProto.NEGOTIATE))
        assert stalled[3].read_response().status == SUCCESS  # negotiated, but no context follows
        for client in stalled:
            _closed_within(client, TIMEOUT_TEST_S - (time.monotonic() - opened_at))
        assert wait_until(lambda: _open_connections(namenode) == 1)
        _assert_serves(ready)


def test_idle_timeout_closes_silent_connections_but_not_busy_ones(store_url: str) -> None:
    with (
        running_namenode(store_url, handshake_timeout_s=60.0, idle_timeout_s=TIMEOUT_TEST_S) as namenode,
        _connected(namenode.address) as busy,
        _connected(namenode.address) as idle,
        _connected(namenode.address) as half_frame,
    ):
        _assert_serves(idle)
        half_frame.send_raw(b"\x00\x00\x01\x00" + b"\x0a" * 10)
        stop = threading.Event()
        calls: list[bool] = []

        def keep_calling() -> None:
            while not stop.wait(TIMEOUT_TEST_S / 4):
                calls.append(busy.file_info("/").HasField("fs"))

        worker = threading.Thread(target=keep_calling)
        worker.start()
        try:
            _closed_within(idle, TIMEOUT_TEST_S / 2)
            _closed_within(half_frame, 0.0)
        finally:
            stop.set()
            worker.join()
        assert len(calls) >= 3 and all(calls)
        _assert_serves(busy)


def test_connection_limit_refuses_extra_connections(store_url: str) -> None:
    with (
        running_namenode(store_url, connections_max=2) as namenode,
        _connected(namenode.address) as first,
        _connected(namenode.address) as second,
    ):
        _assert_serves(first)
        _assert_serves(second)
        with RawIpcClient(namenode.address) as refused:
            refused.send_raw(PREAMBLE)
            assert refused.read_until_closed() == []
        _assert_serves(first)
        second.close()
        assert wait_until(lambda: _open_connections(namenode) == 1)
        with _connected(namenode.address) as third:
            _assert_serves(third)


def _make_listed_directory(client: RawIpcClient) -> pb.GetListingRequestProto:
    """LISTING_DIRECTORIES entries with long names under /listed: every listing answer is ~6 KiB."""
    for index in range(LISTING_DIRECTORIES):
        client.call("mkdirs", _mkdirs_request(f"/listed/{'x' * 100}-{index}"))
    return pb.GetListingRequestProto(src="/listed", startAfter=b"", needLocation=False)


def _send_without_reading(
    namenode: InProcessNamenode, client: RawIpcClient, request: pb.GetListingRequestProto
) -> tuple[list[int], threading.Thread]:
    """Pipeline LISTING_CALLS listings from a thread; return once the server stopped starting calls."""
    calls = [client.codec.send_call("getListing", request) for _ in range(LISTING_CALLS)]
    calls_before = namenode.server.metrics.calls_started

    def send() -> None:
        with suppress(OSError):  # the server may close first: what it answered is checked by the caller
            client.send_raw(b"".join(frame for _, frame in calls))

    sender = threading.Thread(target=send)
    sender.start()
    # The server must stop starting calls once the socket buffers and the transport's write buffer
    # are full: without that, its memory grows with whatever the client sends.
    assert _settles(lambda: namenode.server.metrics.calls_started)
    started = namenode.server.metrics.calls_started - calls_before
    assert 0 < started <= STARTED_WHILE_NOT_READING_MAX
    return [call_id for call_id, _ in calls], sender


def test_client_that_does_not_read_cannot_make_the_server_buffer_without_bound(store_url: str) -> None:
    with running_namenode(store_url) as namenode, _connected(namenode.address) as bystander:
        request = _make_listed_directory(bystander)
        namenode.limit_send_buffer(SOCKET_BUFFER_BYTES)
        with RawIpcClient(namenode.address, receive_buffer_bytes=SOCKET_BUFFER_BYTES) as client:
            client.handshake()
            call_ids, sender = _send_without_reading(namenode, client, request)
            _assert_serves(bystander)
            # Once the client reads, the parked calls run and every one is answered.
            responses = [client.read_response() for _ in call_ids]
            sender.join()
            assert sorted(response.call_id for response in responses) == sorted(call_ids)
            entries = {
                len(response.message(pb.GetListingResponseProto).dirList.partialListing)
                for response in responses
            }
            assert entries == {LISTING_DIRECTORIES}
            _assert_serves(client)


def test_client_that_stops_reading_is_closed_after_the_idle_timeout(store_url: str) -> None:
    with running_namenode(store_url, idle_timeout_s=TIMEOUT_TEST_S) as namenode:
        with _connected(namenode.address) as setup:
            request = _make_listed_directory(setup)
        namenode.limit_send_buffer(SOCKET_BUFFER_BYTES)
        with RawIpcClient(namenode.address, receive_buffer_bytes=SOCKET_BUFFER_BYTES) as client:
            client.handshake()
            call_ids, sender = _send_without_reading(namenode, client, request)
            # Calls parked behind unread responses do not keep an abandoned connection open.
            assert wait_until(lambda: _open_connections(namenode) == 0, timeout_s=CLOSE_WAIT_S_MAX)
            # The server aborts (RST): responses still unread on our side may be dropped with it.
            responses = client.read_until_closed()
            sender.join()
            assert len(responses) < len(call_ids)
            assert all(response.status == SUCCESS for response in responses)
        with _connected(namenode.address) as after:
            _assert_serves(after)
