"""The namenode's gRPC service for datanodes (hopsfs/protocol/proto/datanode_namenode.proto)."""
