"""Datanodes: registration, heartbeats (which carry commands back), liveness, reports for operators.

A datanode is live while it heartbeats within the dead timeout; housekeeping declares a silent one
DEAD (datanode_liveness.py). A heartbeat from a datanode the namenode does not know asks it to register
again; one from a DEAD datanode makes it LIVE and asks for a full block report (its replicas were
forgotten when it died). Commands are handed out once: the heartbeat that returns them deletes them.

Lock set: the datanode's row, then its command rows.
"""

from __future__ import annotations

from hopsfs.errors import InvalidArgument
from namenode import schema
from namenode.block_entities import (
    Block,
    ClusterStats,
    CommandKind,
    DatanodeCommand,
    DatanodeInfo,
    DatanodeRegistration,
    DatanodeReportKind,
    HeartbeatResult,
    StorageReport,
)
from namenode.block_rows import CommandRow, DatanodeRow
from namenode.engine.txn import Transaction
from namenode.ops.block_state import DatanodeView, datanode_info

IDENTIFIER_BYTES_MAX = 64  # datanodes.datanode_uuid / storage_id columns
HOST_NAME_BYTES_MAX = 255


def register(
    transaction: Transaction, registration: DatanodeRegistration, storage: StorageReport
) -> str | None:
    """Record (or update) a datanode; returns the storage id it used before, when that changed (its
    old replicas are gone and must be forgotten)."""
    _check_registration(registration, storage)
    session = transaction.session
    existing = session.read_datanode_for_update(registration.uuid)
    view = DatanodeView.load(transaction)
    claimed = view.by_storage(registration.storage_id)
    if claimed is not None and claimed.datanode_uuid != registration.uuid:
        raise InvalidArgument(
            f"storage {registration.storage_id} is registered to datanode {claimed.datanode_uuid}, "
            f"not {registration.uuid}: a copied volume?"
        )
    now_ms = transaction.now_ms
    row = DatanodeRow(
        datanode_uuid=registration.uuid,
        storage_id=registration.storage_id,
        host_name=registration.host_name,
        transfer_port=registration.transfer_port,
        info_port=registration.info_port,
        capacity_bytes=storage.capacity,
        used_bytes=storage.used,
        remaining_bytes=storage.remaining,
        active_transfers=0,
        registered_ms=now_ms,
        last_heartbeat_ms=now_ms,
        last_block_report_ms=existing.last_block_report_ms if existing is not None else 0,
        state=schema.DATANODE_LIVE,
        software_version=registration.software_version[:IDENTIFIER_BYTES_MAX],
    )
    transaction.stage_upsert(row)
    if existing is not None and existing.storage_id != registration.storage_id:
        return existing.storage_id
    return None


def heartbeat(
    transaction: Transaction, datanode_uuid: str, storage: StorageReport, active_transfers: int
) -> HeartbeatResult:
    _check_storage(storage)
    if active_transfers < 0:
        raise InvalidArgument(f"active transfers cannot be negative: {active_transfers}")
    row = transaction.session.read_datanode_for_update(datanode_uuid)
    if row is None:
        return HeartbeatResult(commands=[], reregister=True)
    came_back = row.state == schema.DATANODE_DEAD
    row.capacity_bytes, row.used_bytes, row.remaining_bytes = (
        storage.capacity,
        storage.used,
        storage.remaining,
    )
    row.active_transfers = active_transfers
    row.last_heartbeat_ms = transaction.now_ms
    row.state = schema.DATANODE_LIVE
    transaction.stage_update(row)
    if came_back:
        return HeartbeatResult(commands=[], full_report_requested=True)
    return HeartbeatResult(commands=hand_out_commands(transaction, datanode_uuid))


def finish_block_report(transaction: Transaction, datanode_uuid: str) -> list[DatanodeCommand]:
    """Note the full report's time and hand the datanode its queued commands (those the report
    produced among them)."""
    row = transaction.session.read_datanode_for_update(datanode_uuid)
    if row is None:
        return []
    row.last_block_report_ms = transaction.now_ms
    transaction.stage_update(row)
    if row.state != schema.DATANODE_LIVE:
        return []
    return hand_out_commands(transaction, datanode_uuid)


def hand_out_commands(transaction: Transaction, datanode_uuid: str) -> list[DatanodeCommand]:
    """The datanode's oldest queued commands, deleted as they are handed out: at most
    commands_per_heartbeat_max rows, of which at most transfers_per_heartbeat_max copies."""
    config = transaction.context.block_config
    session = transaction.session
    transfer = int(CommandKind.TRANSFER)
    transfers = session.read_commands_for_update(
        datanode_uuid, transfer, of_kind=True, limit=config.transfers_per_heartbeat_max
    )
    others = session.read_commands_for_update(
        datanode_uuid, transfer, of_kind=False, limit=config.commands_per_heartbeat_max - len(transfers)
    )
    for row in (*transfers, *others):
        transaction.stage_delete(row)
    view = DatanodeView.load(transaction) if transfers else None
    commands = [_command(row, view) for row in (*transfers, *others) if row.kind != CommandKind.INVALIDATE]
    invalidations = [row for row in others if row.kind == CommandKind.INVALIDATE]
    if invalidations:
        # One command deletes many blocks (HDFS DNA_INVALIDATE carries a block list).
        blocks = [Block(row.block_id, row.generation_stamp, row.num_bytes) for row in invalidations]
        first_id = min(row.command_id for row in invalidations)
        commands.append(DatanodeCommand(first_id, CommandKind.INVALIDATE, blocks))
    return commands


def cluster_stats(transaction: Transaction) -> ClusterStats:
    view = DatanodeView.load(transaction)
    live = view.live_rows()
    by_priority = transaction.session.count_queue_by_priority()
    under = sum(count for priority, count in by_priority.items() if priority != schema.QUEUE_RECHECK)
    return ClusterStats(
        capacity=sum(row.capacity_bytes for row in live),
        used=sum(row.used_bytes for row in live),
        remaining=sum(row.remaining_bytes for row in live),
        under_replicated=under,
        corrupt_blocks=transaction.session.count_corrupt_blocks(),
        missing_blocks=by_priority.get(schema.QUEUE_MISSING, 0),
        live_datanodes=len(live),
        dead_datanodes=len(view.rows) - len(live),
    )


def datanode_report(transaction: Transaction, kind: DatanodeReportKind) -> list[DatanodeInfo]:
    view = DatanodeView.load(transaction)
    wanted = {
        DatanodeReportKind.ALL: lambda row: True,
        DatanodeReportKind.LIVE: view.is_live,
        DatanodeReportKind.DEAD: lambda row: not view.is_live(row),
    }[kind]
    return [datanode_info(row) for row in view.rows if wanted(row)]


def _command(row: CommandRow, view: DatanodeView | None) -> DatanodeCommand:
    targets: list[DatanodeInfo] = []
    if row.targets and view is not None:
        found = [view.by_uuid(uuid) for uuid in row.targets.split(",")]
        targets = [datanode_info(target) for target in found if target is not None]
    return DatanodeCommand(
        command_id=row.command_id,
        kind=CommandKind(row.kind),
        blocks=[Block(row.block_id, row.generation_stamp, row.num_bytes)],
        targets=targets,
        new_generation_stamp=row.new_generation_stamp,
        num_bytes=row.num_bytes,
    )


def _check_registration(registration: DatanodeRegistration, storage: StorageReport) -> None:
    for name, value in (("uuid", registration.uuid), ("storage id", registration.storage_id)):
        if not value or len(value.encode("utf-8")) > IDENTIFIER_BYTES_MAX or "," in value:
            raise InvalidArgument(f"datanode {name} must be 1 to {IDENTIFIER_BYTES_MAX} bytes without commas")
    if not registration.host_name or len(registration.host_name.encode("utf-8")) > HOST_NAME_BYTES_MAX:
        raise InvalidArgument(f"datanode host name must be 1 to {HOST_NAME_BYTES_MAX} bytes")
    if not 0 < registration.transfer_port < 65536 or not 0 <= registration.info_port < 65536:
        raise InvalidArgument(f"datanode ports out of range: {registration}")
    _check_storage(storage)


def _check_storage(storage: StorageReport) -> None:
    if min(storage.capacity, storage.used, storage.remaining) < 0:
        raise InvalidArgument(f"storage figures cannot be negative: {storage}")
