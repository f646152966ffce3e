"""The metadata schema, declared once with SQLAlchemy Core.

Layout follows HopsFS (hops-metadata-dal-impl-ndb):
- `inodes` is keyed by (partition_id, parent_id, name). partition_id equals parent_id except for the
  root (0) and the root's children, which are spread over ROOT_CHILD_PARTITIONS hash buckets (negative
  ids, so they never collide with an inode id). A listing is therefore one range scan of the primary key,
  and a sharded engine can PARTITION BY KEY(partition_id) to co-locate a directory's children.
- There is no UNIQUE constraint on inode id (sharded engines cannot enforce one); ids come from the
  batch allocator on `id_counters`, and `ix_inodes_id` is a plain index.
- Tables that hang off a file (blocks, replicas, inline data, xattrs) are keyed by inode_id first.
- `change_log` is written in the same transaction as each change; the CDC service reads it in
  commit order and trims it.

Names are compared byte-wise (utf8mb4_bin on MySQL, BINARY on SQLite), so listings sort the same on
every backend and "A" and "a" are different files.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects import mysql

from hopsfs import limits
from hopsfs.invariants import check

SCHEMA_VERSION = 4
ROOT_INODE_ID = 1
ROOT_PARTITION_ID = 0
ROOT_PARENT_ID = 0
ROOT_NAME = ""
ROOT_CHILD_PARTITIONS = 64
FIRST_ALLOCATED_INODE_ID = 16  # ids below are reserved for the root and future system inodes
SUBTREE_OWNER_BYTES_MAX = 128

metadata = MetaData()


def _name_type(length: int) -> String:
    """Case-sensitive, byte-ordered text: MySQL's default collations would fold case."""
    return String(length).with_variant(
        mysql.VARCHAR(length, charset="utf8mb4", collation="utf8mb4_bin"), "mysql", "mariadb"
    )


def _blob_type() -> LargeBinary:
    return LargeBinary().with_variant(mysql.MEDIUMBLOB(), "mysql", "mariadb")


_TABLE_OPTIONS = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin", "mysql_engine": "InnoDB"}

inodes = Table(
    "inodes",
    metadata,
    Column("partition_id", BigInteger, primary_key=True, autoincrement=False),
    Column("parent_id", BigInteger, primary_key=True, autoincrement=False),
    Column("name", _name_type(limits.PATH_COMPONENT_BYTES_MAX), primary_key=True),
    Column("id", BigInteger, nullable=False),
    Column("kind", SmallInteger, nullable=False),
    Column("permission", Integer, nullable=False),
    Column("owner", _name_type(limits.USER_NAME_BYTES_MAX), nullable=False),
    Column("group_name", _name_type(limits.USER_NAME_BYTES_MAX), nullable=False),
    Column("modification_time", BigInteger, nullable=False),
    Column("access_time", BigInteger, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("replication", SmallInteger, nullable=False),
    Column("block_size", BigInteger, nullable=False),
    # HopsFS children_num: kept exact so "is empty" and childrenNum need no scan.
    Column("children_count", Integer, nullable=False),
    # Per-inode logical clock (ePipe): bumped by every change, copied into its change-log row.
    Column("logical_time", BigInteger, nullable=False),
    Column("storage_policy", SmallInteger, nullable=False),
    Column("under_construction", SmallInteger, nullable=False),
    Column("file_stored_in_db", SmallInteger, nullable=False),
    Column("xattr_count", SmallInteger, nullable=False),
    Column("symlink_target", Text, nullable=True),
    Column("client_name", String(255), nullable=True),
    # Subtree protocol: the operation (namenode id + operation token) running a large subtree
    # operation rooted here, until the expiry it renews.
    Column("subtree_lock_owner", String(SUBTREE_OWNER_BYTES_MAX), nullable=True),
    Column("subtree_lock_expiry_ms", BigInteger, nullable=True),
    Index("ix_inodes_id", "id"),
    sqlite_with_rowid=False,
    **_TABLE_OPTIONS,
)

# Column order of `inodes`, the order DAL statements read and write rows in.
INODE_COLUMNS: tuple[str, ...] = tuple(column.name for column in inodes.columns)

blocks = Table(
    "blocks",
    metadata,
    Column("inode_id", BigInteger, primary_key=True, autoincrement=False),
    Column("block_id", BigInteger, primary_key=True, autoincrement=False),
    Column("block_index", Integer, nullable=False),
    Column("num_bytes", BigInteger, nullable=False),
    Column("generation_stamp", BigInteger, nullable=False),
    Column("state", SmallInteger, nullable=False),
    sqlite_with_rowid=False,
    **_TABLE_OPTIONS,
)

# HopsFS hdfs_block_lookup_table: a datanode reports block ids; this finds their file.
block_lookup = Table(
    "block_lookup",
    metadata,
    Column("block_id", BigInteger, primary_key=True, autoincrement=False),
    Column("inode_id", BigInteger, nullable=False),
    sqlite_with_rowid=False,
    **_TABLE_OPTIONS,
)

replicas = Table(
    "replicas",
    metadata,
    Column("inode_id", BigInteger, primary_key=True, autoincrement=False),
    Column("block_id", BigInteger, primary_key=True, autoincrement=False),
    Column("storage_id", String(64), primary_key=True),
    Column("state", SmallInteger, nullable=False),
    # HopsFS hash bucket (block_id % buckets) for incremental block-report comparison.
    Column("bucket_id", Integer, nullable=False),
    # A full block report and dead-datanode handling read one storage's replicas (schema v3 adds it).
    Index("ix_replicas_storage", "storage_id", "block_id"),
    sqlite_with_rowid=False,
    **_TABLE_OPTIONS,
)

# ---- Small files in the metadata store (schema v4) ------------------------------------------------
# A file flagged `file_stored_in_db` keeps its bytes here instead of in blocks, written in the same
# transaction as its inode. Size tiers as in HopsFS ("Size Matters"): a file's size alone says which
# table holds it, so a read is one primary-key lookup. Up to 4000 bytes: one row in the smallest tier
# that fits (fixed-width VARBINARY rows stay in the InnoDB page); larger: INLINE_CHUNK_BYTES chunks in
# `inline_data` (the v1 table, never written before v4). An empty inline file has no row at all.
INLINE_TIER_BYTES_MAX = (1024, 2000, 4000)
INLINE_CHUNK_BYTES = 8000
INLINE_FILE_BYTES_DEFAULT = 64 * 1024  # the threshold where no directory sets one (HopsFS default)
INLINE_FILE_BYTES_MAX = 1024 * 1024  # the largest threshold a directory may set

check(tuple(sorted(INLINE_TIER_BYTES_MAX)) == INLINE_TIER_BYTES_MAX, "tiers must grow")
check(INLINE_TIER_BYTES_MAX[-1] < INLINE_CHUNK_BYTES, "chunks must be larger than the largest tier")
check(INLINE_FILE_BYTES_DEFAULT <= INLINE_FILE_BYTES_MAX, "the default threshold must be allowed")


def _tier_table(name: str, bytes_max: int) -> Table:
    data_type = LargeBinary(bytes_max).with_variant(mysql.VARBINARY(bytes_max), "mysql", "mariadb")
    return Table(
        name,
        metadata,
        Column("inode_id", BigInteger, primary_key=True, autoincrement=False),
        Column("data", data_type, nullable=False),
        sqlite_with_rowid=False,
        **_TABLE_OPTIONS,
    )


inline_tier_tables = tuple(
    _tier_table(name, bytes_max)
    for name, bytes_max in zip(
        ("inline_data_1k", "inline_data_2k", "inline_data_4k"), INLINE_TIER_BYTES_MAX, strict=True
    )
)

inline_data = Table(
    "inline_data",
    metadata,
    Column("inode_id", BigInteger, primary_key=True, autoincrement=False),
    Column("chunk_index", Integer, primary_key=True, autoincrement=False),
    Column("data", _blob_type(), nullable=False),
    sqlite_with_rowid=False,
    **_TABLE_OPTIONS,
)

# The small-file storage policy of a directory: files created below it with at most threshold_bytes
# are stored inline (0: never; the block path). Inherited: the nearest ancestor with a row decides,
# else INLINE_FILE_BYTES_DEFAULT. A table rather than an inode column, so inodes keep their shape
# and a policy costs nothing where none is set; resolution already knows every ancestor's id.
inline_policies = Table(
    "inline_policies",
    metadata,
    Column("inode_id", BigInteger, primary_key=True, autoincrement=False),
    Column("threshold_bytes", Integer, nullable=False),
    sqlite_with_rowid=False,
    **_TABLE_OPTIONS,
)

INLINE_TABLES = (*inline_tier_tables, inline_data, inline_policies)

xattrs = Table(
    "xattrs",
    metadata,
    Column("inode_id", BigInteger, primary_key=True, autoincrement=False),
    Column("namespace", SmallInteger, primary_key=True, autoincrement=False),
    Column("name", _name_type(limits.PATH_COMPONENT_BYTES_MAX), primary_key=True),
    Column("value", _blob_type(), nullable=False),
    sqlite_with_rowid=False,
    **_TABLE_OPTIONS,
)

leases = Table(
    "leases",
    metadata,
    Column("holder", String(255), primary_key=True),
    Column("last_renewed_ms", BigInteger, nullable=False),
    sqlite_with_rowid=False,
    **_TABLE_OPTIONS,
)

lease_paths = Table(
    "lease_paths",
    metadata,
    Column("inode_id", BigInteger, primary_key=True, autoincrement=False),
    Column("holder", String(255), nullable=False),
    Index("ix_lease_paths_holder", "holder"),
    sqlite_with_rowid=False,
    **_TABLE_OPTIONS,
)

change_log = Table(
    "change_log",
    metadata,
    # On SQLite this is the rowid, which is commit order because writers are serialized.
    Column(
        "sequence",
        BigInteger().with_variant(Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    Column("operation", String(16), nullable=False),
    Column("inode_id", BigInteger, nullable=False),
    Column("logical_time", BigInteger, nullable=False),
    Column("parent_id", BigInteger, nullable=False),
    Column("name", _name_type(limits.PATH_COMPONENT_BYTES_MAX), nullable=False),
    Column("previous_parent_id", BigInteger, nullable=True),
    Column("previous_name", _name_type(limits.PATH_COMPONENT_BYTES_MAX), nullable=True),
    Column("kind", SmallInteger, nullable=False),
    Column("user_name", _name_type(limits.USER_NAME_BYTES_MAX), nullable=False),
    Column("time_ms", BigInteger, nullable=False),
    Column("app_id", String(128), nullable=True),
    **_TABLE_OPTIONS,
)

id_counters = Table(
    "id_counters",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("next_value", BigInteger, nullable=False),
    **_TABLE_OPTIONS,
)

namenodes = Table(
    "namenodes",
    metadata,
    Column("namenode_id", String(64), primary_key=True),
    Column("address", String(255), nullable=False),
    Column("started_ms", BigInteger, nullable=False),
    Column("last_seen_ms", BigInteger, nullable=False),
    Column("heartbeat_counter", BigInteger, nullable=False),
    **_TABLE_OPTIONS,
)

subtree_operations = Table(
    "subtree_operations",
    metadata,
    Column("inode_id", BigInteger, primary_key=True, autoincrement=False),
    Column("path", Text, nullable=False),
    Column("operation", String(16), nullable=False),
    Column("owner", String(SUBTREE_OWNER_BYTES_MAX), nullable=False),
    Column("started_ms", BigInteger, nullable=False),
    **_TABLE_OPTIONS,
)

# Answers to at-most-once calls (create, rename, delete, ...) keyed by the client's (client id, call id),
# written in the same transaction as the change: a client that lost its connection re-sends the call,
# to any namenode, and gets the first answer instead of running it twice (HopsFS retry_cache_entry).
retry_cache = Table(
    "retry_cache",
    metadata,
    Column(
        "client_id",
        LargeBinary(limits.RETRY_CLIENT_ID_BYTES).with_variant(
            mysql.VARBINARY(limits.RETRY_CLIENT_ID_BYTES), "mysql", "mariadb"
        ),
        primary_key=True,
    ),
    Column("call_id", Integer, primary_key=True, autoincrement=False),
    Column("result", _blob_type(), nullable=False),
    Column("expiry_ms", BigInteger, nullable=False),
    Index("ix_retry_cache_expiry", "expiry_ms"),
    sqlite_with_rowid=False,
    **_TABLE_OPTIONS,
)

# ---- Block manager (schema v3) -------------------------------------------------------------------
# Values of blocks.state.
BLOCK_UNDER_CONSTRUCTION = 1  # being written; locations come from replicas_under_construction
BLOCK_COMMITTED = 2  # the writer declared its length; not yet enough finalized replicas reported
BLOCK_COMPLETE = 3  # length final, at least the minimum number of finalized replicas
BLOCK_UNDER_RECOVERY = 4  # lease recovery is agreeing on the length of the last block

# Values of replicas.state (replicas a datanode reported).
REPLICA_FINALIZED = 1
REPLICA_RBW = 2

# Values of datanodes.state.
DATANODE_LIVE = 1
DATANODE_DEAD = 2

# Values of under_replicated_blocks.priority, most urgent first (HDFS LowRedundancyBlocks levels).
QUEUE_HIGHEST = 0  # one good replica left
QUEUE_VERY_UNDER = 1  # good replicas * 3 < replication
QUEUE_UNDER = 2
QUEUE_MISSING = 3  # no good replica at all: nothing to copy from (a missing block)
QUEUE_RECHECK = 4  # count again: may be fine, under- or over-replicated

# Values of datanode_commands.kind (the same numbers as DatanodeCommandProto.Kind).
COMMAND_TRANSFER = 1
COMMAND_INVALIDATE = 2
COMMAND_RECOVER = 3
COMMAND_FINALIZE_RECOVERED = 4

# Every registered datanode; liveness is last_heartbeat_ms. One storage per datanode.
datanodes = Table(
    "datanodes",
    metadata,
    Column("datanode_uuid", String(64), primary_key=True),
    Column("storage_id", String(64), nullable=False),
    Column("host_name", String(255), nullable=False),
    Column("transfer_port", Integer, nullable=False),
    Column("info_port", Integer, nullable=False),
    Column("capacity_bytes", BigInteger, nullable=False),
    Column("used_bytes", BigInteger, nullable=False),
    Column("remaining_bytes", BigInteger, nullable=False),
    Column("active_transfers", Integer, nullable=False),
    Column("registered_ms", BigInteger, nullable=False),
    Column("last_heartbeat_ms", BigInteger, nullable=False),
    Column("last_block_report_ms", BigInteger, nullable=False),
    Column("state", SmallInteger, nullable=False),
    Column("software_version", String(64), nullable=False),
    Index("ix_datanodes_storage", "storage_id"),
    **_TABLE_OPTIONS,
)

# Values of replicas_under_construction.reported_state: what the datanode last said about its replica.
REPORTED_NOTHING = 0  # expected location only (pipeline target, or recovery not answered yet)
REPORTED_FINALIZED = 1  # finalized before the writer committed the block's length
REPORTED_RBW = 2  # being written
REPORTED_RECOVERED = 3  # answered a lease-recovery RECOVER command

# Where the pipeline of a block being written (or recovered) was sent: the expected locations of a block
# that is under construction, committed or under recovery (HopsFS replica_under_constructions); deleted
# once the block is COMPLETE (its good replicas are then in `replicas`). generation_stamp/num_bytes hold
# what the datanode last reported (-1: nothing yet; once lease recovery began, the stamp before it, the
# lowest its replica may be at); recovery_started_ms when lease recovery sent RECOVER.
replicas_under_construction = Table(
    "replicas_under_construction",
    metadata,
    Column("inode_id", BigInteger, primary_key=True, autoincrement=False),
    Column("block_id", BigInteger, primary_key=True, autoincrement=False),
    Column("storage_id", String(64), primary_key=True),
    Column("pipeline_index", SmallInteger, nullable=False),
    Column("generation_stamp", BigInteger, nullable=False),
    Column("num_bytes", BigInteger, nullable=False),
    Column("reported_state", SmallInteger, nullable=False),
    Column("recovery_started_ms", BigInteger, nullable=False),
    sqlite_with_rowid=False,
    **_TABLE_OPTIONS,
)

# Replicas known to be bad (reported by a reader, the block scanner, or a block report that disagrees
# with the namenode's length or stamp). Never handed to readers; replaced, then deleted.
corrupt_replicas = Table(
    "corrupt_replicas",
    metadata,
    Column("inode_id", BigInteger, primary_key=True, autoincrement=False),
    Column("block_id", BigInteger, primary_key=True, autoincrement=False),
    Column("storage_id", String(64), primary_key=True),
    Column("reason", String(32), nullable=False),
    Column("reported_ms", BigInteger, nullable=False),
    Index("ix_corrupt_replicas_storage", "storage_id"),
    sqlite_with_rowid=False,
    **_TABLE_OPTIONS,
)

# Blocks with fewer live, good replicas than their file's replication (HopsFS under_replicated_blocks),
# plus blocks waiting for a recount (priority QUEUE_RECHECK: a file just closed, a replication factor
# changed, a replica more than needed arrived). priority 0 is most urgent (one replica left); a row is
# not looked at before queued_ms (a just-closed file's replicas are still being reported).
under_replicated_blocks = Table(
    "under_replicated_blocks",
    metadata,
    Column("inode_id", BigInteger, primary_key=True, autoincrement=False),
    Column("block_id", BigInteger, primary_key=True, autoincrement=False),
    Column("priority", SmallInteger, nullable=False),
    Column("queued_ms", BigInteger, nullable=False),
    Index("ix_under_replicated_priority", "priority", "queued_ms"),
    sqlite_with_rowid=False,
    **_TABLE_OPTIONS,
)

# Copies scheduled and not yet reported by their target (HopsFS pending_blocks); they time out.
pending_replications = Table(
    "pending_replications",
    metadata,
    Column("inode_id", BigInteger, primary_key=True, autoincrement=False),
    Column("block_id", BigInteger, primary_key=True, autoincrement=False),
    Column("storage_id", String(64), primary_key=True),
    Column("scheduled_ms", BigInteger, nullable=False),
    Index("ix_pending_replications_scheduled", "scheduled_ms"),
    sqlite_with_rowid=False,
    **_TABLE_OPTIONS,
)

# Work waiting for a datanode, handed out (and deleted) by the heartbeat that collects it.
# targets: comma-separated datanode uuids (TRANSFER).
datanode_commands = Table(
    "datanode_commands",
    metadata,
    Column("datanode_uuid", String(64), primary_key=True),
    Column("command_id", BigInteger, primary_key=True, autoincrement=False),
    Column("kind", SmallInteger, nullable=False),
    Column("block_id", BigInteger, nullable=False),
    Column("generation_stamp", BigInteger, nullable=False),
    Column("num_bytes", BigInteger, nullable=False),
    Column("new_generation_stamp", BigInteger, nullable=False),
    Column("targets", Text, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    sqlite_with_rowid=False,
    **_TABLE_OPTIONS,
)

LEADER_LEASE_HOUSEKEEPING = "housekeeping"

# Which namenode runs leader-only housekeeping: the holder keeps renewing expires_ms; anyone may take
# an expired lease in a transaction that reads the row FOR UPDATE. epoch counts changes of leader.
leader_lease = Table(
    "leader_lease",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("holder", String(64), nullable=False),
    Column("expires_ms", BigInteger, nullable=False),
    Column("epoch", BigInteger, nullable=False),
    **_TABLE_OPTIONS,
)

# Version 4: a truncate inside a block (namenode/ops/truncate.py) recovers that block to a length no
# datanode reports, so the length waits here, one row per file, until the recovery closes the file.
# file_size is the truncate's new length: a re-sent truncate of the same length is told "in progress".
block_truncations = Table(
    "block_truncations",
    metadata,
    Column("inode_id", BigInteger, primary_key=True, autoincrement=False),
    Column("block_id", BigInteger, nullable=False),
    Column("num_bytes", BigInteger, nullable=False),
    Column("file_size", BigInteger, nullable=False),
    sqlite_with_rowid=False,
    **_TABLE_OPTIONS,
)

BLOCK_MANAGER_TABLES = (
    datanodes,
    replicas_under_construction,
    corrupt_replicas,
    under_replicated_blocks,
    pending_replications,
    datanode_commands,
    leader_lease,
)

settings = Table(
    "settings",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
    **_TABLE_OPTIONS,
)

ID_COUNTER_NAMES = ("inode", "block", "generation_stamp", "datanode_command")
