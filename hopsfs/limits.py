"""Named bounds, units last. Values follow HDFS's defaults where HDFS has one.

Relations between them are checked at import so an inconsistent edit fails at once.
"""

from __future__ import annotations

from hopsfs.invariants import check

PATH_COMPONENT_BYTES_MAX = 255  # dfs.namenode.fs-limits.max-component-length
PATH_BYTES_MAX = 8000  # HDFS MAX_PATH_LENGTH
PATH_DEPTH_MAX = 1000  # HDFS MAX_PATH_DEPTH
DIRECTORY_ITEMS_MAX = 1024 * 1024  # dfs.namenode.fs-limits.max-directory-items
XATTRS_PER_INODE_MAX = 32  # dfs.namenode.fs-limits.max-xattrs-per-inode
XATTR_SIZE_BYTES_MAX = 16384  # dfs.namenode.fs-limits.max-xattr-size (name + value)
REPLICATION_MIN = 1
REPLICATION_MAX = 512  # dfs.replication.max
REPLICATION_DEFAULT = 3
BLOCK_SIZE_BYTES_DEFAULT = 128 * 1024 * 1024
BLOCK_SIZE_BYTES_MIN = 1024 * 1024  # dfs.namenode.fs-limits.min-block-size
LISTING_PAGE_ENTRIES_MAX = 1000  # dfs.ls.limit
USER_NAME_BYTES_MAX = 128
SYMLINK_TARGET_BYTES_MAX = PATH_BYTES_MAX

# Keys read in one batched primary-key statement; SQLite caps expression depth at 1000.
BATCH_READ_KEYS_MAX = 100
# Inodes one transaction may delete, move or visit; larger subtrees use the subtree protocol.
SUBTREE_TXN_INODES_MAX = 5000
SUBTREE_LOCK_LEASE_MS = 60_000
# HDFS's lease limits: after the soft limit another client may take over a file left open for
# writing; clients renew every ~30 s while they hold files open.
LEASE_SOFT_LIMIT_MS = 60_000
LEASE_CLIENT_NAME_BYTES_MAX = 255
# Hadoop's retry cache: 16-byte client ids, entries kept 10 minutes
# (dfs.namenode.retrycache.expirytime.millis).
RETRY_CLIENT_ID_BYTES = 16
RETRY_CACHE_EXPIRY_MS = 600_000
RETRY_CACHE_RESULT_BYTES_MAX = 64 * 1024
ID_ALLOCATION_BATCH = 1000
INODE_HINT_CACHE_ENTRIES_MAX = 100_000
TRANSACTION_RETRIES_MAX = 8
TRANSACTION_BACKOFF_MS_FIRST = 10
TRANSACTION_BACKOFF_MS_MAX = 500
STATEMENT_TIMEOUT_MS = 30_000
LOCK_WAIT_TIMEOUT_S = 10
SQLITE_BUSY_TIMEOUT_MS = 30_000

check(PATH_COMPONENT_BYTES_MAX <= PATH_BYTES_MAX, "a component cannot exceed the whole path")
check(BATCH_READ_KEYS_MAX <= 300, "batched key reads must stay under SQLite's expression depth")
check(REPLICATION_MIN <= REPLICATION_DEFAULT <= REPLICATION_MAX, "default replication out of range")
check(BLOCK_SIZE_BYTES_MIN <= BLOCK_SIZE_BYTES_DEFAULT, "default block size below the minimum")
check(ID_ALLOCATION_BATCH >= PATH_DEPTH_MAX, "one batch must cover a mkdirs of the deepest path")
