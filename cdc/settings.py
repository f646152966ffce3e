"""Named bounds and intervals of the CDC service (units last). Relations between them are checked here."""

from __future__ import annotations

from hopsfs.invariants import check

# Capture.
CAPTURE_BATCH_ROWS_MAX = 5000  # change-log rows read (SQLite) or events appended in one step
SQLITE_POLL_INTERVAL_MS = 10  # idle wait between change-log polls: half of it is added to mean lag
BINLOG_HEARTBEAT_S = 0.5  # the server's heartbeat on an idle binlog stream: how soon capture notices a stop
BINLOG_READ_TIMEOUT_S = 30.0  # no byte (not even a heartbeat) for this long: the connection is dead
CHECKPOINT_ONLY_INTERVAL_S = 1.0  # how often capture saves its binlog position across unrelated traffic
LAG_PROBE_INTERVAL_S = 1.0  # how often capture measures what it has not read yet
LAG_PROBE_ROWS_MAX = 1_000_000  # the lag count stops here (a bounded query)

# Trimming captured rows from the metadata store's change_log.
TRIM_INTERVAL_S = 1.0
TRIM_BATCH_ROWS = 2000  # rows per DELETE transaction: short, so namenode writers barely wait

# Retention of the durable log (defaults; `hopsfs cdc --retention-events/--retention-age-s`).
RETENTION_EVENTS_DEFAULT = 10_000_000
RETENTION_AGE_S_DEFAULT = 7 * 24 * 3600
RETENTION_INTERVAL_S = 1.0
RETENTION_REMOVE_BATCH_EVENTS = 100_000

# Subscriptions.
SUBSCRIBE_BATCH_EVENTS_DEFAULT = 500
SUBSCRIBE_BATCH_EVENTS_MAX = 5000
SUBSCRIBE_WAIT_S = 1.0  # a subscriber idle this long re-checks for cancellation and retention
SUBSCRIBERS_MAX = 256

# Sinks.
SINK_BATCH_EVENTS_MAX = 2000
SINK_COMMIT_INTERVAL_S = 0.05  # a sink commits (search index, provenance store) at most this often
SEARCH_WRITER_HEAP_BYTES = 64 * 1024 * 1024
SEARCH_RESULTS_MAX = 1000
SEARCH_RESULTS_DEFAULT = 20
SEARCH_ATTRIBUTE_READ_IDS_MAX = 500  # inode ids per attribute query to the metadata store
SEARCH_RENAME_DOCUMENTS_PAGE = 10_000  # descendants re-pathed per page after a directory rename
LINEAGE_DEPTH_DEFAULT = 4
LINEAGE_DEPTH_MAX = 32
LINEAGE_EDGES_MAX = 10_000
PROVENANCE_RECORDS_DEFAULT = 100
PROVENANCE_RECORDS_MAX = 10_000

# Paths.
DIRECTORY_CACHE_ENTRIES_MAX = 200_000
PATH_DEPTH_MAX = 1000  # hopsfs.limits.PATH_DEPTH_MAX; a deeper walk means a cycle in the map: a bug

check(SUBSCRIBE_BATCH_EVENTS_DEFAULT <= SUBSCRIBE_BATCH_EVENTS_MAX, "default batch within the maximum")
check(SEARCH_RESULTS_DEFAULT <= SEARCH_RESULTS_MAX, "default result count within the maximum")
check(LINEAGE_DEPTH_DEFAULT <= LINEAGE_DEPTH_MAX, "default lineage depth within the maximum")
check(BINLOG_HEARTBEAT_S * 4 < BINLOG_READ_TIMEOUT_S, "several heartbeats fit in the read timeout")
check(TRIM_BATCH_ROWS <= CAPTURE_BATCH_ROWS_MAX, "a trim step is no larger than a capture step")
