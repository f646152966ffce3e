"""`hopsfs cdc` (the CDC service, and `tail`, `provenance`, `status` against it), `hopsfs search`,
`hopsfs lineage`: registered on the main parser by `register`.

The client commands find the service at --url, else HOPSFS_CDC_URL, else grpc://127.0.0.1:8021.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from hopsfs.cdc_events import ChangeRecord
from hopsfs.config import resolve_config
from hopsfs.errors import InvalidArgument

TAIL_COUNT_UNLIMITED = 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cdc_command = commands.add_parser(
        "cdc", help="run the change-data-capture service (or: hopsfs cdc tail|provenance|status)"
    )
    cdc_command.add_argument("--data-dir", default=None, help="state directory (default ~/.hopsfs)")
    cdc_command.add_argument("--metadata-url", default=None, help="the metadata store (as for namenode)")
    cdc_command.add_argument(
        "--state-dir", default=None, help="the service's own state (default DATA_DIR/cdc)"
    )
    cdc_command.add_argument("--host", default="127.0.0.1", help="address to listen on")
    cdc_command.add_argument("--port", type=int, default=8021, help="gRPC port (0: any free port)")
    cdc_command.add_argument(
        "--metrics-port", type=int, default=None, help="serve Prometheus text at /metrics (0: a free port)"
    )
    cdc_command.add_argument("--retention-events", type=int, default=None, help="keep at most N events")
    cdc_command.add_argument("--retention-age-s", type=float, default=None, help="keep events this long")
    cdc_command.set_defaults(handler=_serve)
    actions = cdc_command.add_subparsers(title="client commands")

    tail_command = actions.add_parser("tail", help="print the change stream as it happens")
    _add_url_option(tail_command)
    tail_command.add_argument(
        "--from",
        dest="from_position",
        type=int,
        default=None,
        help="first position (0: oldest; default: now)",
    )
    tail_command.add_argument("--prefix", default=None, help="only events at or below this path")
    tail_command.add_argument("--operation", action="append", default=[], help="only this operation (repeat)")
    tail_command.add_argument("--count", type=int, default=TAIL_COUNT_UNLIMITED, help="stop after N events")
    tail_command.add_argument("--json", action="store_true", help="one JSON object per event")
    tail_command.set_defaults(handler=_tail)

    provenance_command = actions.add_parser("provenance", help="who created, changed, read, deleted PATH")
    _add_url_option(provenance_command)
    provenance_command.add_argument("path")
    provenance_command.add_argument("--limit", type=int, default=0)
    provenance_command.set_defaults(handler=_provenance)

    status_command = actions.add_parser("status", help="the service's log positions, lag and sinks")
    _add_url_option(status_command)
    status_command.set_defaults(handler=_status)

    search_command = commands.add_parser("search", help="search file and directory metadata (CDC index)")
    _add_url_option(search_command)
    search_command.add_argument(
        "query", help='tantivy query, e.g. "report", "owner:alice AND size:[1 TO 100]"'
    )
    search_command.add_argument("--prefix", default=None, help="only at or below this path")
    search_command.add_argument("--limit", type=int, default=20)
    search_command.set_defaults(handler=_search)

    lineage_command = commands.add_parser(
        "lineage", help="what PATH was derived from, or what derives from it"
    )
    _add_url_option(lineage_command)
    lineage_command.add_argument("path")
    direction = lineage_command.add_mutually_exclusive_group()
    direction.add_argument("--upstream", dest="upstream", action="store_true", default=True)
    direction.add_argument("--downstream", dest="upstream", action="store_false")
    lineage_command.add_argument("--depth", type=int, default=0, help="hops to follow (default 4)")
    lineage_command.set_defaults(handler=_lineage)


def _add_url_option(command: argparse.ArgumentParser) -> None:
    command.add_argument("--url", default=None, help="the CDC service (default $HOPSFS_CDC_URL or port 8021)")


def _serve(arguments: argparse.Namespace) -> int:
    from cdc.service.process import CdcOptions, run_cdc
    from cdc.settings import RETENTION_AGE_S_DEFAULT, RETENTION_EVENTS_DEFAULT

    config = resolve_config(arguments.data_dir, arguments.metadata_url)
    state_dir = Path(arguments.state_dir).expanduser() if arguments.state_dir else config.data_dir / "cdc"
    return run_cdc(
        CdcOptions(
            metadata_url=config.metadata_url,
            state_dir=state_dir,
            host=arguments.host,
            port=arguments.port,
            metrics_port=arguments.metrics_port,
            retention_events=arguments.retention_events or RETENTION_EVENTS_DEFAULT,
            retention_age_s=arguments.retention_age_s or RETENTION_AGE_S_DEFAULT,
        )
    )


def _tail(arguments: argparse.Namespace) -> int:
    import hopsfs.cdc

    if arguments.count < 0:
        raise InvalidArgument("--count is not negative")
    subscription = hopsfs.cdc.subscribe(
        arguments.url, arguments.from_position, arguments.prefix, arguments.operation
    )
    shown = 0
    try:
        for event in subscription:
            print(_event_json(event) if arguments.json else _event_line(event), flush=True)
            shown += 1
            if arguments.count and shown >= arguments.count:
                break
    except BrokenPipeError:
        sys.stderr.close()  # the reader (head, grep -m) is gone: not an error
    finally:
        subscription.close()
    return 0


def _event_line(event: ChangeRecord) -> str:
    where = f"{event.previous_path} -> {event.path}" if event.previous_path else event.path
    app = f" app={event.app_id}" if event.app_id else ""
    reads = f" reads={event.read_count}" if event.read_count else ""
    return (
        f"{event.position} {_clock(event.time_ms)} {event.operation} {where} "
        f"inode={event.inode_id} t={event.logical_time} user={event.user}{app}{reads}"
    )


def _event_json(event: ChangeRecord) -> str:
    values = {name: getattr(event, name) for name in event.__slots__}  # type: ignore[attr-defined]
    values["ancestor_ids"] = list(event.ancestor_ids)
    return json.dumps(values, sort_keys=True)


def _provenance(arguments: argparse.Namespace) -> int:
    import hopsfs.cdc

    for entry in hopsfs.cdc.provenance(arguments.url, arguments.path, arguments.limit):
        app = f" app={entry.app_id}" if entry.app_id else ""
        reads = f" reads={entry.read_count}" if entry.read_count else ""
        when = _clock(entry.time_ms)
        print(f"{entry.position} {when} {entry.operation} {entry.path} user={entry.user}{app}{reads}")
    return 0


def _status(arguments: argparse.Namespace) -> int:
    import hopsfs.cdc

    found = hopsfs.cdc.status(arguments.url)
    print(f"log {found.log_id}: positions {found.first_position}..{found.last_position}")
    print(f"capture lag: {found.capture_lag_events} events, {found.capture_lag_seconds:.3f} s")
    for name, position in sorted(found.sink_positions.items()):
        print(f"sink {name}: at {position} ({found.last_position - position} behind)")
    return 0


def _search(arguments: argparse.Namespace) -> int:
    import hopsfs.cdc

    for hit in hopsfs.cdc.search(arguments.url, arguments.query, arguments.prefix, arguments.limit):
        kind = {1: "-", 2: "d", 3: "l"}.get(hit.kind, "?")
        when = _clock(hit.modification_time)
        print(f"{kind} {hit.owner:<10} {hit.group:<10} {hit.size:>12} {when} {hit.path}")
    return 0


def _lineage(arguments: argparse.Namespace) -> int:
    import hopsfs.cdc

    edges = hopsfs.cdc.lineage(
        arguments.url, arguments.path, upstream=arguments.upstream, depth_max=arguments.depth
    )
    for edge in edges:
        indent = "  " * (edge.depth - 1)
        if arguments.upstream:
            print(f"{indent}{edge.target_path} <- {edge.source_path} (app {edge.app_id})")
        else:
            print(f"{indent}{edge.source_path} -> {edge.target_path} (app {edge.app_id})")
    if not edges:
        print(f"{arguments.path}: no {'upstream' if arguments.upstream else 'downstream'} lineage recorded")
    return 0


def _clock(time_ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(time_ms / 1000)) + f".{time_ms % 1000:03d}"
