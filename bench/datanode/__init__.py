"""Datanode throughput: one client's sequential block writes and reads over DataTransferProtocol."""
