"""A datanode stopped with SIGTERM and started again on a real cluster: idle client connections are
closed at once (not waited on as if they were transfers), and the datanode comes back under its own
identity with every replica, reports them, and serves them."""

from __future__ import annotations

from datanode_harness import DtpClient, read_request
from support.data_cluster import EVENTUAL_TIMEOUT_S, DataCluster, payload, wait_until, write_file


def test_a_stopped_datanode_closes_idle_connections_and_comes_back_with_its_replicas(
    sqlite_data_cluster: DataCluster,
) -> None:
    # Catches: a stop that counts a connection idle between operations as a running transfer (it
    # waits out the whole grace period, then "aborts" it), and a restart that loses replicas, changes
    # the datanode's identity, or reports less than it holds.
    cluster = sqlite_data_cluster
    data = payload(2_500_000, seed=11)
    with cluster.connect() as client:
        write_file(client, "/kept", data)
    assert wait_until(lambda: cluster.fully_replicated("/kept", 3), EVENTUAL_TIMEOUT_S)
    first = cluster.blocks("/kept")[0].block
    uuid = cluster.datanode_uuid(2)
    with DtpClient(cluster.datanode_port(2)) as reader:
        request = read_request(first.block_id, first.generation_stamp, 0, 1000)
        request.header.baseHeader.block.poolId = cluster.engine().block_pool_id
        assert reader.read(request).data[:1000] == data[:1000]
        # The read ends when the datanode has taken the reader's CHECKSUM_OK: until then the operation
        # is still running (and a stop rightly waits for it). Stop only once it is between operations.
        assert wait_until(lambda: cluster.datanode_metrics(2)["hopsfs_datanode_active_transfers"] == 0)
        cluster.restart_datanode(2)  # SIGTERM while this connection waits for its next operation
        assert reader.sock.recv(1) == b""  # closed by the stopping datanode
    assert cluster.datanode_uuid(2) == uuid

    def report_after_restart() -> str:
        return cluster.datanode_log(2).rsplit("registered with", 1)[1]

    assert wait_until(lambda: "full block report sent:" in report_after_restart())
    assert "full block report sent: 3 replicas" in report_after_restart()
    assert "aborted" not in cluster.datanode_log(2)
    assert all(2 in nodes for nodes in cluster.holders("/kept"))
    cluster.kill_datanode(1)
    cluster.kill_datanode(3)
    with cluster.connect() as client:
        assert client.read_bytes("/kept") == data  # only datanode-2 can serve it now
