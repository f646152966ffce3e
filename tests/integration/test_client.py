"""The hopsfs client against real namenode processes: every call, errors as hopsfs error classes,
several namenodes on one database, failover, retries, timeouts and the at-most-once rule."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator

import pytest
from support.cluster import NamenodeProcess, StartNamenodes

import hopsfs
from hopsfs.client import AsyncClient
from hopsfs.errors import (
    DirectoryNotEmpty,
    FileAlreadyExists,
    FileNotFound,
    InvalidArgument,
    LeaseConflict,
    NamenodeUnavailable,
    OutcomeUnknown,
    PermissionDenied,
    RemoteError,
)
from hopsfs.types import InodeKind, XAttrSetFlag


@pytest.fixture(name="superuser_client")
def superuser_client_fixture(namenode_any_backend: NamenodeProcess) -> Iterator[hopsfs.Client]:
    with hopsfs.connect(namenode_any_backend.url, user="hdfs") as client:
        yield client


def test_every_namespace_call_round_trips(superuser_client: hopsfs.Client) -> None:
    client = superuser_client
    assert client.mkdirs("/data/raw") is True
    status = client.stat("/data/raw")
    assert status.kind is InodeKind.DIRECTORY and status.permission == 0o755 and status.owner == "hdfs"
    touched = client.touch("/data/raw/part-0", replication=2, block_size=1024 * 1024)
    assert (touched.size, touched.replication, touched.block_size) == (0, 2, 1024 * 1024)
    assert touched.permission == 0o644 and not touched.under_construction
    assert [entry.name for entry in client.list("/data")] == ["raw"]
    assert [entry.path for entry in client.list("/data/raw/part-0")] == ["/data/raw/part-0"]
    assert [entry.path for entry in client.walk("/data")] == ["/data/raw", "/data/raw/part-0"]

    client.set_permission("/data/raw/part-0", 0o600)
    client.set_owner("/data/raw/part-0", "alice", "analysts")
    client.set_times("/data/raw/part-0", 1_000, 2_000)
    assert client.set_replication("/data/raw/part-0", 1) is True
    changed = client.stat("/data/raw/part-0")
    assert (changed.permission, changed.owner, changed.group) == (0o600, "alice", "analysts")
    assert (changed.modification_time_ms, changed.access_time_ms, changed.replication) == (1_000, 2_000, 1)
    client.set_times("/data/raw/part-0", -1, 5_000)
    assert client.stat("/data/raw/part-0").modification_time_ms == 1_000

    client.set_xattr("/data/raw", "user.schema", b"v1", XAttrSetFlag.CREATE)
    client.set_xattr("/data/raw", "trusted.origin", b"\x00\xff")
    assert client.get_xattrs("/data/raw") == {"user.schema": b"v1", "trusted.origin": b"\x00\xff"}
    assert client.get_xattrs("/data/raw", ["user.schema"]) == {"user.schema": b"v1"}
    assert sorted(client.list_xattrs("/data/raw")) == ["trusted.origin", "user.schema"]
    with pytest.raises(FileAlreadyExists):
        client.set_xattr("/data/raw", "user.schema", b"v2", XAttrSetFlag.CREATE)
    client.remove_xattr("/data/raw", "user.schema")
    # HDFS reports a missing xattr as a plain IOException; the message says what happened.
    with pytest.raises(RemoteError, match="No matching attributes found"):
        client.remove_xattr("/data/raw", "user.schema")

    client.create_symlink("/data/raw/part-0", "/data/latest")
    assert client.link_target("/data/latest") == "/data/raw/part-0"
    assert client.stat("/data/latest").is_symlink

    summary = client.content_summary("/data")
    assert (summary.directory_count, summary.file_count, summary.quota) == (2, 2, -1)

    client.rename("/data/raw", "/data/cooked")
    assert not client.exists("/data/raw") and client.exists("/data/cooked/part-0")
    client.mkdirs("/archive")
    assert client.rename_legacy("/data/cooked", "/archive") is True
    assert client.exists("/archive/cooked/part-0")
    assert client.rename_legacy("/nowhere", "/archive") is False

    with pytest.raises(DirectoryNotEmpty):
        client.delete("/archive")
    assert client.delete("/archive", recursive=True) is True
    assert client.delete("/archive", recursive=True) is False

    defaults = client.server_defaults()
    assert defaults["bytes_per_checksum"] == 512 and defaults["replication"] == 3
    assert client.fs_stats()["capacity"] == 0
    client.msync()
    client.renew_lease()


def test_errors_come_back_as_hopsfs_error_classes(superuser_client: hopsfs.Client) -> None:
    client = superuser_client
    with pytest.raises(FileNotFound, match="/missing"):
        client.stat("/missing")
    with pytest.raises(FileNotFound):
        client.list("/missing")
    client.touch("/file")
    with pytest.raises(FileAlreadyExists):
        client.touch("/file")
    client.touch("/file", overwrite=True)
    with pytest.raises(FileAlreadyExists):
        client.mkdirs("/file")
    with pytest.raises(InvalidArgument):
        client.set_xattr("/file", "nonamespace", b"x")
    with pytest.raises(InvalidArgument):
        client.set_replication("/file", 0)


def test_permissions_follow_the_connecting_user(namenode: NamenodeProcess) -> None:
    with (
        hopsfs.connect(namenode.url, user="hdfs") as admin,
        hopsfs.connect(namenode.url, user="mallory") as other,
    ):
        admin.mkdirs("/private")
        admin.set_permission("/private", 0o700)
        with pytest.raises(PermissionDenied):
            other.list("/private")
        with pytest.raises(PermissionDenied):
            other.mkdirs("/private/x")
        admin.mkdirs("/shared", 0o777)
        admin.set_permission("/shared", 0o777)
        other.touch("/shared/mine")
        assert admin.stat("/shared/mine").owner == "mallory"


def test_user_defaults_to_hadoop_user_name(
    namenode: NamenodeProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HADOOP_USER_NAME", "carol")
    with hopsfs.connect(namenode.url, user="hdfs") as admin:
        admin.mkdirs("/tmp", 0o777)
        admin.set_permission("/tmp", 0o1777)
    with hopsfs.connect(namenode.url) as client:
        assert client.user == "carol"
        client.mkdirs("/tmp/carol")
        assert client.stat("/tmp/carol").owner == "carol"


def test_an_open_file_belongs_to_its_writer(namenode: NamenodeProcess) -> None:
    """create leaves the file open under the client's lease until complete; others may not take it."""
    from hopsfs.protocol import hdfs_values
    from hopsfs.protocol.proto import client_namenode_protocol_pb2 as pb

    async def scenario() -> None:
        async with (
            AsyncClient(namenode.url, user="hdfs") as writer,
            AsyncClient(namenode.url, user="hdfs") as other,
        ):
            create = pb.CreateRequestProto(
                src="/open",
                masked=hdfs_values.permission(0o644),
                clientName=writer.client_name,
                createFlag=pb.CREATE,
                createParent=True,
                replication=1,
                blockSize=1024 * 1024,
            )
            created = await writer._call("create", create, pb.CreateResponseProto)
            locations = pb.GetBlockLocationsRequestProto(src="/open", offset=0, length=1)
            located = await writer._call("getBlockLocations", locations, pb.GetBlockLocationsResponseProto)
            assert located.locations.underConstruction  # the wire's only under-construction flag
            with pytest.raises(LeaseConflict):
                await other.touch("/open", overwrite=True)
            complete = pb.CompleteRequestProto(
                src="/open", clientName=writer.client_name, fileId=created.fs.fileId
            )
            assert (await writer._call("complete", complete, pb.CompleteResponseProto)).result
            located = await writer._call("getBlockLocations", locations, pb.GetBlockLocationsResponseProto)
            assert not located.locations.underConstruction
            await other.touch("/open", overwrite=True)

    asyncio.run(scenario())


def test_many_calls_share_one_connection(namenode: NamenodeProcess) -> None:
    async def scenario() -> None:
        async with AsyncClient(namenode.url, user="hdfs") as client:
            await asyncio.gather(*(client.mkdirs(f"/many/d{index:03d}") for index in range(100)))
            statuses = await asyncio.gather(*(client.stat(f"/many/d{index:03d}") for index in range(100)))
            assert [status.name for status in statuses] == [f"d{index:03d}" for index in range(100)]
            assert len(client._connections) == 1

    asyncio.run(scenario())


def test_listing_pages_through_large_directories(namenode: NamenodeProcess) -> None:
    async def scenario() -> None:
        async with AsyncClient(namenode.url, user="hdfs") as client:
            await client.mkdirs("/big")
            names = [f"f{index:05d}" for index in range(2_345)]
            for start in range(0, len(names), 200):
                await asyncio.gather(*(client.touch(f"/big/{name}") for name in names[start : start + 200]))
            pages = [page async for page in client.list_pages("/big")]
            assert [len(page) for page in pages] == [1000, 1000, 345]
            assert [entry.name for page in pages for entry in page] == names

    asyncio.run(scenario())


def test_concurrent_clients_in_threads_create_in_one_directory(namenode: NamenodeProcess) -> None:
    with hopsfs.connect(namenode.url, user="hdfs") as admin:
        admin.mkdirs("/race", 0o777)
        admin.set_permission("/race", 0o777)
    failures: list[BaseException] = []

    def writer(index: int) -> None:
        try:
            with hopsfs.connect(namenode.url, user=f"user{index}") as client:
                for item in range(25):
                    client.touch(f"/race/u{index}-{item:02d}")
                    client.mkdirs(f"/race/shared-{item:02d}")  # every writer makes the same dirs
        except BaseException as error:  # reported by the main thread
            failures.append(error)

    threads = [threading.Thread(target=writer, args=(index,)) for index in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with hopsfs.connect(namenode.url, user="hdfs") as admin:
        names = {entry.name for entry in admin.list("/race")}
    expected = {f"u{index}-{item:02d}" for index in range(6) for item in range(25)}
    expected |= {f"shared-{item:02d}" for item in range(25)}
    assert names == expected


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)])
def test_two_namenodes_on_one_database_see_each_others_changes_at_once(
    backend: str, request: pytest.FixtureRequest, start_namenodes: StartNamenodes
) -> None:
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "mysql_url")
    first, second = start_namenodes(url, 2)
    with hopsfs.connect(first.url, user="hdfs") as a, hopsfs.connect(second.url, user="hdfs") as b:
        a.mkdirs("/x/y")
        assert b.stat("/x/y").is_directory  # b caches the path's inode ids here
        a.rename("/x", "/z")
        with pytest.raises(FileNotFound):
            b.stat("/x/y")
        assert b.stat("/z/y").is_directory
        old_id = b.stat("/z/y").inode_id
        b.delete("/z/y")
        b.mkdirs("/z/y")
        assert a.stat("/z/y").inode_id != old_id
        a.set_permission("/z/y", 0o700)
        assert b.stat("/z/y").permission == 0o700
        b.touch("/z/y/f")
        assert [entry.name for entry in a.list("/z/y")] == ["f"]


def test_client_fails_over_between_namenodes(sqlite_url: str, start_namenodes: StartNamenodes) -> None:
    first, second = start_namenodes(sqlite_url, 2)
    url = f"hopsfs://127.0.0.1:{first.port},127.0.0.1:{second.port}"
    with hopsfs.connect(url, user="hdfs") as client:
        client.mkdirs("/before")
        first.kill()  # the namenode the client is connected to
        assert client.stat("/before").is_directory
        client.mkdirs("/after")
        with hopsfs.connect(second.url, user="hdfs") as direct:
            assert direct.exists("/after")


def test_a_dead_address_in_the_list_is_skipped(namenode: NamenodeProcess) -> None:
    dead_port = _free_port()
    with hopsfs.connect(
        f"hopsfs://127.0.0.1:{dead_port},{namenode.host}:{namenode.port}", user="hdfs"
    ) as client:
        assert client.stat("/").is_directory


def test_no_namenode_reachable_is_one_clear_error() -> None:
    with (
        hopsfs.connect(f"hopsfs://127.0.0.1:{_free_port()}", attempts_max=2) as client,
        pytest.raises(NamenodeUnavailable, match="getFileInfo failed on every namenode"),
    ):
        client.stat("/")


def test_a_lost_connection_resends_every_call_under_its_own_call_id() -> None:
    """A server that reads a call and hangs up: each attempt carries the same call id and a growing
    retry count; when all fail, a read is NamenodeUnavailable, an at-most-once write OutcomeUnknown."""
    with _DroppingServer() as server, hopsfs.connect(server.url, attempts_max=3) as client:
        with pytest.raises(NamenodeUnavailable):
            client.stat("/")
        with pytest.raises(OutcomeUnknown, match="create may or may not have run"):
            client.touch("/f")
    stats, creates = server.calls[:3], server.calls[3:]
    assert [(method, retry) for method, _, retry in stats] == [
        ("getFileInfo", 0),
        ("getFileInfo", 1),
        ("getFileInfo", 2),
    ]
    assert [(method, retry) for method, _, retry in creates] == [("create", 0), ("create", 1), ("create", 2)]
    assert len({call_id for _, call_id, _ in stats}) == 1 and len({call_id for _, call_id, _ in creates}) == 1
    assert stats[0][1] != creates[0][1]


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)])
def test_a_resent_at_most_once_call_gets_its_first_answer_from_any_namenode(
    backend: str, request: pytest.FixtureRequest, start_namenodes: StartNamenodes
) -> None:
    """The retry cache: create, rename, delete re-sent (same client id and call id, retry count 1) to
    another namenode return what the first attempt returned instead of running again."""
    from hopsfs.client.rpc import RpcConnection
    from hopsfs.protocol import hdfs_values
    from hopsfs.protocol.proto import client_namenode_protocol_pb2 as pb

    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "mysql_url")
    first, second = start_namenodes(url, 2)
    client_id = bytes(range(16))

    async def scenario() -> None:
        a = await RpcConnection.open(first.address, user="hdfs", client_id=client_id, timeout_s=5)
        b = await RpcConnection.open(second.address, user="hdfs", client_id=client_id, timeout_s=5)
        create = pb.CreateRequestProto(
            src="/once",
            masked=hdfs_values.permission(0o644),
            clientName="DFSClient_test",
            createFlag=pb.CREATE,
            createParent=True,
            replication=1,
            blockSize=1024 * 1024,
        )
        created = await a.call("create", create, pb.CreateResponseProto, 10, call_id=7)
        again = await b.call("create", create, pb.CreateResponseProto, 10, call_id=7, retry_count=1)
        assert again.fs.fileId == created.fs.fileId  # the first answer: the create did not run again
        # Running it again would be refused: the holder may not re-create the file it has open.
        with pytest.raises(LeaseConflict):  # another call id: a new create
            await b.call("create", create, pb.CreateResponseProto, 10, call_id=8, retry_count=1)
        with pytest.raises(LeaseConflict):  # a first attempt always runs, whatever its id
            await b.call("create", create, pb.CreateResponseProto, 10, call_id=7)

        rename = pb.Rename2RequestProto(src="/once", dst="/moved", overwriteDest=False)
        await a.call("rename2", rename, pb.Rename2ResponseProto, 10, call_id=9)
        await b.call("rename2", rename, pb.Rename2ResponseProto, 10, call_id=9, retry_count=2)

        delete = pb.DeleteRequestProto(src="/moved", recursive=False)
        assert (await a.call("delete", delete, pb.DeleteResponseProto, 10, call_id=10)).result
        assert (await b.call("delete", delete, pb.DeleteResponseProto, 10, call_id=10, retry_count=1)).result
        assert not (
            await b.call("delete", delete, pb.DeleteResponseProto, 10, call_id=11, retry_count=1)
        ).result
        a.close()
        b.close()

    asyncio.run(scenario())
    with hopsfs.connect(first.url, user="hdfs") as check:
        assert check.list("/") == []


def test_a_silent_server_times_out() -> None:
    with (
        _DroppingServer(answer=False) as server,
        hopsfs.connect(server.url, attempts_max=1, call_timeout_s=0.3) as client,
    ):
        with pytest.raises(NamenodeUnavailable, match="timed out"):
            client.stat("/")
        with pytest.raises(OutcomeUnknown, match="timed out"):
            client.delete("/x")


def test_bad_urls_are_refused() -> None:
    for url in ("http://host:1", "hopsfs://", "hopsfs://host:notaport", "hopsfs://host:70000"):
        with pytest.raises(InvalidArgument):
            AsyncClient(url)


class _DroppingServer:
    """Accepts connections, reads one call frame after the handshake, then closes (or stays silent)."""

    def __init__(self, *, answer: bool = True) -> None:
        self._close_after_call = answer
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"hopsfs://127.0.0.1:{self._listener.getsockname()[1]}"
        self.calls: list[tuple[str, int, int]] = []  # (method, call id, retry count) as received
        self._open: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> _DroppingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._listener.close()
        for connection in self._open:
            connection.close()

    def _serve(self) -> None:
        from hopsfs.protocol.ipc_codec import Call, ServerConnection

        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            self._open.append(connection)
            codec = ServerConnection()
            with_call = False
            while not with_call:
                data = connection.recv(65536)
                if not data:
                    break
                for event in codec.receive_data(data):
                    if isinstance(event, Call):
                        self.calls.append((event.method_name, event.call_id, event.retry_count))
                        with_call = True
            if self._close_after_call:
                connection.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_application_id_reaches_the_change_log(db_url: str, start_namenodes: StartNamenodes) -> None:
    """HOPSFS_APP_ID travels as Hadoop's caller context and is recorded with each change (provenance)."""
    from namenode.engine.namespace import Namespace

    namenode = start_namenodes(db_url)[0]
    long_id = "application_1700000000000_0042-" + "x" * 200
    with hopsfs.connect(namenode.url, user="hdfs", app_id=long_id) as tagged:
        tagged.mkdirs("/tagged")
    with hopsfs.connect(namenode.url, user="hdfs", app_id="") as untagged:
        untagged.mkdirs("/untagged")
    namespace = Namespace.open(db_url)
    try:
        by_name = {event.name: event for event in namespace.read_changes()}
    finally:
        namespace.close()
    assert by_name["tagged"].app_id == long_id[:128]
    assert by_name["untagged"].app_id is None
