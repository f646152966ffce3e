"""The DataTransferProtocol server of a datanode (asyncio; disk work in a thread pool).

`server.DataTransferServer` accepts connections; `connection` runs operations one after another;
`read_block`, `write_block` (with `replica_setup`, `mirror`, `pipeline`) and `transfer_block` serve
them; `replica_sender` copies a replica to other datanodes; `statuses` maps errors to statuses.
"""
