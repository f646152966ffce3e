"""Change data capture (ePipe): the metadata store's change log, in commit order, as a durable,
subscribable stream, and the sinks built on it (search index, provenance and lineage).

`capture/` reads the change log (SQLite: by rowid; MariaDB: from the binlog) into `log.py`, the
service's own RocksDB log, and trims what it captured; `sinks/` keep derived views; `service/` is the
`hopsfs cdc` process (gRPC subscriptions, queries, /metrics, retention). The only look inside the
namenode: `namenode.schema` and `namenode.dal.connection` (an import-linter contract). See the CDC
section of docs/architecture.md.
"""
