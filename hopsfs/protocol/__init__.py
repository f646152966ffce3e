"""Wire protocols hopsfs speaks, as sans-I/O codecs: bytes in, events out; messages in, bytes out.

`ipc_codec` is the Hadoop IPC codec (client-namenode RPC); `proto/` holds our own `.proto` subset of
Hadoop's messages and the Python modules generated from it (see scripts/gen-protos.sh). Nothing in this
package opens a socket, reads a clock or imports asyncio: transports live with the servers and clients.
"""
