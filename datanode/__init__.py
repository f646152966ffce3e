"""datanode: block storage on local volumes, the DataTransferProtocol server, and the link to the namenodes.

Packages: `storage` (replicas on disk), `server` (DataTransferProtocol on asyncio), `namenode_link`
(gRPC registration, heartbeats, reports, commands); `scanner` verifies stored replicas in the
background; `process` runs it all as `hopsfs datanode`.
"""
