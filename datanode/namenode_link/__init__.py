"""The datanode's side of the datanode -> namenode gRPC protocol (datanode_namenode.proto).

`link.NamenodeLink` calls any of the namenodes, failing over on UNAVAILABLE; `service.NamenodeService`
registers, heartbeats and sends full block reports; `reports.IncrementalReporter` batches replica
events; `commands.CommandExecutor` runs the commands heartbeat replies carry.
"""
