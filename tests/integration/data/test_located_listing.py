"""getListing with needLocation (Spark's listLocatedStatus) over Hadoop IPC, on a real cluster: the
page and every file's block locations come from one snapshot, so files deleted while a directory is
listed never fail the listing; and, as in HDFS, listing a directory is the permission its files'
locations need."""

from __future__ import annotations

import threading

import pytest
from support.data_cluster import DataCluster, payload, write_file
from support.raw_ipc import RawIpcClient

import hopsfs
from hopsfs.errors import PermissionDenied
from hopsfs.protocol.proto import client_namenode_protocol_pb2 as pb

CHURN_FILES = 60
LISTINGS = 40


def _address(cluster: DataCluster) -> tuple[str, int]:
    host, port = cluster.url.removeprefix("hopsfs://").rsplit(":", 1)
    return host, int(port)


def _located_listing(raw: RawIpcClient, path: str) -> pb.GetListingResponseProto:
    request = pb.GetListingRequestProto(src=path, startAfter=b"", needLocation=True)
    return raw.call("getListing", request).message(pb.GetListingResponseProto)


def test_files_deleted_while_listed_never_fail_the_listing(data_cluster: DataCluster) -> None:
    # Catches: locations read one file at a time after the page, so a file deleted in between
    # failed the whole listing with FileNotFoundException.
    with data_cluster.connect() as client:
        client.mkdirs("/churn")
        for index in range(CHURN_FILES):
            client.write_bytes(f"/churn/f{index:03d}", payload(100 + index, seed=index))
    stop = threading.Event()
    churned: list[int] = []

    def churn() -> None:
        with hopsfs.connect(data_cluster.url, user="hdfs") as churner:
            index = 0
            while not stop.is_set():
                name = f"/churn/f{index % CHURN_FILES:03d}"
                churner.delete(name)
                churner.write_bytes(name, payload(100 + index % CHURN_FILES, seed=index % CHURN_FILES))
                index += 1
            churned.append(index)

    worker = threading.Thread(target=churn)
    worker.start()
    try:
        with RawIpcClient(_address(data_cluster)) as raw:
            raw.handshake()
            for _ in range(LISTINGS):
                listing = _located_listing(raw, "/churn")
                for entry in listing.dirList.partialListing:
                    index = int(entry.path.decode()[1:])
                    assert entry.HasField("locations")
                    assert entry.locations.fileLength == entry.length == 100 + index
    finally:
        stop.set()
        worker.join(60)
    assert churned and churned[0] > 0


def test_a_listable_directory_locates_files_the_caller_cannot_read(data_cluster: DataCluster) -> None:
    data = payload(300_000, seed=9)
    with data_cluster.connect() as client:
        client.mkdirs("/shared")
        client.set_permission("/shared", 0o755)
        write_file(client, "/shared/secret", data)
        client.set_permission("/shared/secret", 0o600)
        client.write_bytes("/shared/small", b"inline bytes")
        client.set_permission("/shared/small", 0o600)
    with RawIpcClient(_address(data_cluster), user="alice") as raw:
        raw.handshake()
        listing = _located_listing(raw, "/shared")
    entries = {entry.path.decode(): entry for entry in listing.dirList.partialListing}
    assert sum(block.b.numBytes for block in entries["secret"].locations.blocks) == len(data)
    assert entries["small"].locations.fileLength == len(b"inline bytes")
    with hopsfs.connect(data_cluster.url, user="alice") as alice, pytest.raises(PermissionDenied):
        alice.read_bytes("/shared/secret")
