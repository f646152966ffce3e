"""Capture: read the metadata store's change log in commit order into the CDC service's durable log.

SQLite (`sqlite_source`): rows by sequence, the rowid, which is commit order because SQLite runs one
writer at a time. MySQL family (`binlog_source`): the binlog's row events for change_log, which the
server writes in commit order. `bootstrap` handles the first start; `loop` runs capture, trimming and
the lag probe on one thread.
"""
