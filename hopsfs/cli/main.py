"""`hopsfs`: format a metadata store, bring a local filesystem up, check it.

Every failure prints one line naming what went wrong and exits non-zero; no tracebacks for
errors a user can act on.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from hopsfs import __version__
from hopsfs.cli import bench_command
from hopsfs.config import DEFAULT_SUPERGROUP, NodeConfig, current_user, resolve_config
from hopsfs.errors import HopsFSError, InvalidArgument

if TYPE_CHECKING:
    from namenode.dal.store import MetadataStore

EXIT_FAILURE = 1
EXIT_USAGE = 2


def main(argv: Sequence[str] | None = None) -> int:
    from hopsfs.cli.cluster import die_with_parent

    die_with_parent()
    arguments_list = list(sys.argv[1:] if argv is None else argv)
    if arguments_list[:1] == ["dfs"]:
        # `hopsfs dfs -ls /` takes Hadoop-style options that argparse would read as its own.
        from hopsfs.cli.dfs import main as dfs_main

        return dfs_main(arguments_list[1:])
    if arguments_list[:1] == ["bench"]:
        # The harness parses its own options (python -m bench harness --help).
        from hopsfs.cli.bench_command import main as bench_main

        return bench_main(arguments_list[1:])
    parser = _parser()
    arguments = parser.parse_args(arguments_list)
    if not getattr(arguments, "handler", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(arguments.handler(arguments))
    except HopsFSError as error:
        print(f"hopsfs: {type(error).__name__}: {error}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hopsfs", description="A HopsFS-style distributed filesystem.")
    parser.add_argument("--version", action="version", version=f"hopsfs {__version__}")
    commands = parser.add_subparsers(title="commands")

    format_command = commands.add_parser("format", help="create an empty namespace in the metadata store")
    _add_store_options(format_command)
    format_command.add_argument("--force", action="store_true", help="erase an existing namespace first")
    format_command.add_argument("--superuser", default=None, help="the superuser (default: the current user)")
    format_command.add_argument("--supergroup", default=DEFAULT_SUPERGROUP)
    format_command.set_defaults(handler=_format)

    up_command = commands.add_parser("up", help="start hopsfs on this machine (embedded SQLite by default)")
    _add_store_options(up_command)
    up_command.add_argument("--host", default="127.0.0.1", help="address the namenodes listen on")
    up_command.add_argument("--port", type=int, default=8020, help="namenode port (0: any free port)")
    up_command.add_argument(
        "--namenodes", type=int, default=2, help="namenode processes sharing the port (default 2)"
    )
    up_command.add_argument("--datanodes", type=int, default=3, help="datanode processes (default 3)")
    up_command.set_defaults(handler=_up)

    upgrade_command = commands.add_parser(
        "upgrade", help="bring a metadata store written by an older hopsfs to this version's schema"
    )
    _add_store_options(upgrade_command)
    upgrade_command.set_defaults(handler=_upgrade)

    namenode_command = commands.add_parser(
        "namenode", help="run one namenode process in the foreground (Hadoop IPC on --port)"
    )
    _add_store_options(namenode_command)
    namenode_command.add_argument("--host", default="127.0.0.1", help="address to listen on")
    namenode_command.add_argument("--port", type=int, default=8020, help="port (0: any free port)")
    namenode_command.add_argument(
        "--reuse-port",
        action="store_true",
        help="share the port with other namenode processes on this host (SO_REUSEPORT)",
    )
    namenode_command.add_argument("--handler-threads", type=int, default=8, help="threads running calls")
    namenode_command.add_argument(
        "--inline-reads",
        choices=("auto", "always", "never"),
        default="auto",
        help="run point reads on the event loop instead of a handler thread "
        "(auto: with SQLite; always saves ~95 us of CPU per read on MariaDB, at the cost of "
        "other connections waiting during each database round trip)",
    )
    namenode_command.add_argument(
        "--format", action="store_true", help="format the metadata store first if it is empty"
    )
    namenode_command.add_argument(
        "--metrics-port", type=int, default=None, help="serve Prometheus text at /metrics (0: a free port)"
    )
    _add_block_manager_options(namenode_command)
    namenode_command.set_defaults(handler=_namenode)

    from datanode.cli import add_datanode_command  # argparse only; the datanode loads when it runs

    add_datanode_command(commands)

    commands.add_parser("dfs", help="filesystem commands like `hdfs dfs` (hopsfs dfs -help)", add_help=False)
    bench_command.register(commands)

    fsck_command = commands.add_parser("fsck", help="check the namespace's invariants in the metadata store")
    _add_store_options(fsck_command)
    fsck_command.set_defaults(handler=_fsck)

    from hopsfs.cli.cdc_commands import register as register_cdc_commands

    register_cdc_commands(commands)
    return parser


def _add_store_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--data-dir", default=None, help="state directory (default ~/.hopsfs)")
    command.add_argument(
        "--metadata-url",
        default=None,
        help="SQLAlchemy URL of the metadata store (default sqlite:///DATA_DIR/metadata.db); "
        "e.g. mysql+pymysql://user:password@host:3306/hopsfs",
    )


def _config(arguments: argparse.Namespace) -> NodeConfig:
    config = resolve_config(arguments.data_dir, arguments.metadata_url)
    config.data_dir.mkdir(parents=True, exist_ok=True)
    return config


@contextmanager
def _opened_store(config: NodeConfig) -> Iterator[MetadataStore]:
    """The metadata store `config` names, released when the command is done with it."""
    from namenode.dal.store import MetadataStore

    store = MetadataStore(config.metadata_url)
    try:
        yield store
    finally:
        store.dispose()


def _format(arguments: argparse.Namespace) -> int:
    config = _config(arguments)
    with _opened_store(config) as store:
        settings = store.format(
            superuser=arguments.superuser or current_user(),
            supergroup=arguments.supergroup,
            now_ms=int(time.time() * 1000),
            force=arguments.force,
        )
    print(
        f"formatted {_shown(config.metadata_url)}: cluster {settings['cluster_id']}, "
        f"superuser {settings['superuser']}"
    )
    return 0


def _up(arguments: argparse.Namespace) -> int:
    """Format on first use, then run the local cluster in the foreground until Ctrl-C or SIGTERM."""
    from hopsfs.cli.cluster import ClusterOptions, run_cluster

    if arguments.namenodes < 1:
        raise InvalidArgument("--namenodes must be at least 1")
    config = _config(arguments)
    with _opened_store(config) as store:
        now_ms = int(time.time() * 1000)
        settings = store.format_if_empty(
            superuser=current_user(), supergroup=DEFAULT_SUPERGROUP, now_ms=now_ms
        )
        if settings is None:
            store.open_settings()  # refuses a store of another schema version before anything starts
        else:
            print(
                f"hopsfs up: formatted a new namespace in {_shown(config.metadata_url)} "
                f"(cluster {settings['cluster_id']}, superuser {settings['superuser']})",
                flush=True,
            )
    if arguments.datanodes < 0:
        raise InvalidArgument("--datanodes must be at least 0")
    return run_cluster(
        ClusterOptions(
            data_dir=config.data_dir,
            metadata_url=config.metadata_url,
            host=arguments.host,
            port=arguments.port,
            namenodes=arguments.namenodes,
            datanodes=arguments.datanodes,
        )
    )


def _upgrade(arguments: argparse.Namespace) -> int:
    config = _config(arguments)
    with _opened_store(config) as store:
        found, now = store.upgrade()
    if found == now:
        print(f"{_shown(config.metadata_url)} is already at schema version {now}")
    else:
        print(f"upgraded {_shown(config.metadata_url)} from schema version {found} to {now}")
    return 0


def _add_block_manager_options(command: argparse.ArgumentParser) -> None:
    """Datanode service and housekeeping timings (defaults follow HDFS; tests shorten them)."""
    command.add_argument(
        "--datanode-port",
        type=int,
        default=None,
        help="gRPC port datanodes register and report to (default: --port + 2, as HDFS's 8022 for 8020; "
        "a free port when --port is 0)",
    )
    command.add_argument(
        "--transfer-port",
        type=int,
        default=None,
        help="DataTransferProtocol port where HDFS clients read small files stored in the metadata store "
        "(default: --port + 4; a free port when --port is 0)",
    )
    command.add_argument("--heartbeat-interval-ms", type=int, default=3_000, help="datanode heartbeat period")
    command.add_argument(
        "--dead-datanode-ms", type=int, default=630_000, help="silence after which a datanode is dead"
    )
    command.add_argument(
        "--housekeeping-interval-ms", type=int, default=1_000, help="period of leader-only housekeeping"
    )
    command.add_argument(
        "--pending-replication-timeout-ms",
        type=int,
        default=300_000,
        help="a scheduled copy not reported by then is scheduled again",
    )
    command.add_argument(
        "--lease-hard-limit-ms",
        type=int,
        default=3_600_000,
        help="a writer silent this long loses its file to lease recovery",
    )
    command.add_argument(
        "--recovery-timeout-ms",
        type=int,
        default=60_000,
        help="how long lease recovery waits for every replica holder to answer",
    )


def _port_beside(asked: int | None, client_port: int, offset: int) -> int:
    """A namenode service's port: as asked, else `offset` above the client port (0 stays 0: free)."""
    if asked is not None:
        return asked
    return client_port + offset if client_port else 0


def _namenode(arguments: argparse.Namespace) -> int:
    from namenode.engine.block_config import BlockManagerConfig
    from namenode.process import NamenodeOptions, run_namenode

    config = _config(arguments)
    block_config = BlockManagerConfig(
        dead_after_ms=arguments.dead_datanode_ms,
        heartbeat_interval_ms=arguments.heartbeat_interval_ms,
        pending_replication_timeout_ms=arguments.pending_replication_timeout_ms,
        lease_hard_limit_ms=arguments.lease_hard_limit_ms,
        recovery_timeout_ms=arguments.recovery_timeout_ms,
    )
    return run_namenode(
        NamenodeOptions(
            metadata_url=config.metadata_url,
            host=arguments.host,
            port=arguments.port,
            reuse_port=arguments.reuse_port,
            handler_threads=arguments.handler_threads,
            inline_reads={"auto": None, "always": True, "never": False}[arguments.inline_reads],
            format_if_empty=arguments.format,
            metrics_port=arguments.metrics_port,
            datanode_port=_port_beside(arguments.datanode_port, arguments.port, 2),
            transfer_port=_port_beside(arguments.transfer_port, arguments.port, 4),
            housekeeping_interval_ms=arguments.housekeeping_interval_ms,
            block_config=block_config,
        )
    )


def _fsck(arguments: argparse.Namespace) -> int:
    """Print every broken invariant; exit 1 if there is any. Live subtree operations are fine."""
    from namenode.dal.fsck import check_namespace

    config = _config(arguments)
    with _opened_store(config) as store:
        store.open_settings()
    problems = check_namespace(config.metadata_url, allow_subtree_flags=True)
    for problem in problems:
        print(problem)
    if problems:
        print(f"hopsfs fsck: {_shown(config.metadata_url)} has {len(problems)} problem(s)", file=sys.stderr)
        return EXIT_FAILURE
    print(f"hopsfs fsck: {_shown(config.metadata_url)} is healthy")
    return 0


def _shown(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


if __name__ == "__main__":
    raise SystemExit(main())
