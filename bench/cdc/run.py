"""One backend's CDC measurement: steady-state lag under write load, then capture catch-up speed.

Steady: writer threads drive the engine in-process (a write-heavy mix: create, mkdir, rename,
xattr, chmod, delete) for `duration_s` while a real `hopsfs cdc` process captures and a subscriber
in another process measures, for every event, now - event.time_ms. time_ms is the namenode's clock
when the operation's transaction started, so the lag is commit -> subscriber plus the transaction's
own run time: an upper bound of the commit lag.

Catch-up: with the service stopped, writers commit `backlog_operations` more; the service starts
again and the time until its log holds them all gives the capture rate; one subscriber reading the
whole backlog gives the delivery rate.
"""

from __future__ import annotations

import multiprocessing
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import hopsfs.cdc
from hopsfs.announce import CDC_READY
from hopsfs.cli.cluster import ManagedProcess
from hopsfs.errors import HopsFSError
from hopsfs.types import Caller
from namenode.dal.store import MetadataStore
from namenode.engine.namespace import Namespace

SUPERUSER = Caller("root", (), app_id="bench-cdc")
START_TIMEOUT_S = 120.0
SENTINEL = "/bench-cdc-sentinel"


@dataclass(frozen=True, slots=True)
class CdcSettings:
    duration_s: float = 10.0
    writers: int = 2
    backlog_operations: int = 20_000


@dataclass(slots=True)
class CdcResult:
    backend: str
    writers: int
    duration_s: float
    operations: int
    write_ops_per_s: float
    events: int
    delivered_events_per_s: float
    lag_ms_p50: float  # commit (the create call returned) -> subscriber, CREATE events
    lag_ms_p99: float
    lag_ms_max: float
    start_lag_ms_p50: float  # transaction start (event.time_ms) -> subscriber, every event
    start_lag_ms_p99: float
    backlog_events: int
    capture_events_per_s: float
    catch_up_delivered_events_per_s: float

    def record(self) -> dict[str, Any]:
        return asdict(self)


def run_backend(backend: str, url: str, settings: CdcSettings) -> CdcResult:
    store = MetadataStore(url)
    store.format(
        superuser=SUPERUSER.user, supergroup="supergroup", now_ms=int(time.time() * 1000), force=True
    )
    namespace = Namespace(store)
    with tempfile.TemporaryDirectory(prefix="bench-cdc-") as state:
        service = _start_service(url, Path(state))
        try:
            steady = _steady(namespace, _url_of(service), settings)
            backlog_first = hopsfs.cdc.status(_url_of(service)).last_position + 1
        finally:
            service.stop()
        # The service is down: this backlog waits in change_log until it starts again.
        operations = _write_operations(namespace, settings.backlog_operations, settings.writers)
        service = _start_service(url, Path(state))
        try:
            catch_up = _catch_up(namespace, _url_of(service), backlog_first)
        finally:
            service.stop()
    namespace.close()
    return CdcResult(
        backend=backend, writers=settings.writers, **steady, **catch_up, backlog_events=operations
    )


# -- steady state ----------------------------------------------------------------------------------


def _steady(namespace: Namespace, url: str, settings: CdcSettings) -> dict[str, Any]:
    start_position = hopsfs.cdc.status(url).last_position + 1
    receiver, sender = multiprocessing.Pipe(duplex=False)
    subscriber = multiprocessing.get_context("spawn").Process(
        target=_subscriber, args=(url, start_position, sender), daemon=True
    )
    subscriber.start()
    time.sleep(1.0)  # the subscriber is connected and waiting
    stop = threading.Event()
    counts = [0] * settings.writers
    commits: dict[int, float] = {}  # inode id -> when its create returned (committed)
    threads = [
        threading.Thread(target=_writer, args=(namespace, index, stop, counts, commits))
        for index in range(settings.writers)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    time.sleep(settings.duration_s)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    namespace.mkdirs(SUPERUSER, f"{SENTINEL}-{time.monotonic_ns()}")
    received, delivered_per_s = receiver.recv()
    subscriber.join(30)
    commit_lags = sorted(
        (arrived_s - commits[inode_id]) * 1000
        for operation, inode_id, arrived_s, _ in received
        if operation == "CREATE" and inode_id in commits
    )
    start_lags = sorted(arrived_s * 1000 - time_ms for _, _, arrived_s, time_ms in received)
    return {
        "duration_s": round(elapsed, 2),
        "operations": sum(counts),
        "write_ops_per_s": round(sum(counts) / elapsed, 1),
        "events": len(received),
        "delivered_events_per_s": round(delivered_per_s, 1),
        "lag_ms_p50": round(percentile(commit_lags, 0.50), 1),
        "lag_ms_p99": round(percentile(commit_lags, 0.99), 1),
        "lag_ms_max": round(commit_lags[-1] if commit_lags else 0.0, 1),
        "start_lag_ms_p50": round(percentile(start_lags, 0.50), 1),
        "start_lag_ms_p99": round(percentile(start_lags, 0.99), 1),
    }


def _subscriber(url: str, start_position: int, results: Connection) -> None:
    """Child process: read from `start_position` until a sentinel; send what arrived when, and the
    delivery rate."""
    received: list[tuple[str, int, float, int]] = []
    first_s = last_s = 0.0
    for event in hopsfs.cdc.subscribe(url, start_position, idle_timeout_s=120):
        received.append((event.operation, event.inode_id, time.time(), event.time_ms))
        if len(received) == 1:
            first_s = time.monotonic()
        last_s = time.monotonic()
        if event.path.startswith(SENTINEL):
            break
    rate = len(received) / (last_s - first_s) if last_s > first_s else 0.0
    results.send((received, rate))


def _writer(
    namespace: Namespace, index: int, stop: threading.Event, counts: list[int], commits: dict[int, float]
) -> None:
    """A write-heavy mix on the writer's own subtree; every operation is one committed change."""
    home = f"/bench/w{index}-{time.monotonic_ns()}"
    namespace.mkdirs(SUPERUSER, home)
    files: list[str] = []
    step = 0
    while not stop.is_set():
        step += 1
        try:
            _write_step(namespace, home, step, files, commits)
        except HopsFSError as error:
            print(f"writer {index}: {type(error).__name__}: {error}", file=sys.stderr)
        counts[index] += 1


def _write_step(
    namespace: Namespace, home: str, step: int, files: list[str], commits: dict[int, float]
) -> None:
    choice = step % 20
    if choice < 9 or not files:  # 45% create
        path = f"{home}/d{step % 16}/f{step}"
        status = namespace.create(SUPERUSER, path, create_parent=True)
        commits[status.inode_id] = time.time()
        files.append(path)
    elif choice < 11:
        namespace.mkdirs(SUPERUSER, f"{home}/m{step}")
    elif choice < 14:
        source = files.pop(0)
        target = f"{source.rsplit('/', 1)[0]}/r{step}"
        namespace.rename(SUPERUSER, source, target)
        files.append(target)
    elif choice < 17:
        namespace.set_xattr(SUPERUSER, files[-1], "user.step", str(step).encode())
    elif choice < 18:
        namespace.set_permission(SUPERUSER, files[-1], 0o640)
    else:
        namespace.delete(SUPERUSER, files.pop(0))


def _write_operations(namespace: Namespace, count: int, writers: int) -> int:
    """Commit about `count` operations as fast as `writers` threads can; returns how many."""
    counts = [0] * writers
    stop = threading.Event()
    commits: dict[int, float] = {}
    threads = [
        threading.Thread(target=_writer, args=(namespace, index, stop, counts, commits))
        for index in range(writers)
    ]
    for thread in threads:
        thread.start()
    while sum(counts) < count:
        time.sleep(0.01)
    stop.set()
    for thread in threads:
        thread.join()
    return sum(counts)


# -- catch-up --------------------------------------------------------------------------------------


def _catch_up(namespace: Namespace, url: str, first_position: int) -> dict[str, Any]:
    """The service just started on a backlog after `first_position - 1`: capture rate from the
    events' own capture times, delivery rate from one subscriber reading the whole backlog."""
    sentinel = f"{SENTINEL}-{time.monotonic_ns()}"
    namespace.mkdirs(SUPERUSER, sentinel)
    read_started = time.monotonic()
    captured_ms: list[int] = []
    for event in hopsfs.cdc.subscribe(url, first_position, batch_events_max=5000, idle_timeout_s=120):
        captured_ms.append(event.captured_ms)
        if event.path == sentinel:
            break
    read_s = time.monotonic() - read_started
    span_s = (captured_ms[-2] - captured_ms[0]) / 1000 if len(captured_ms) > 2 else 0.0
    return {
        "capture_events_per_s": round((len(captured_ms) - 1) / span_s, 1) if span_s > 0 else 0.0,
        "catch_up_delivered_events_per_s": round(len(captured_ms) / read_s, 1) if read_s > 0 else 0.0,
    }


# -- the service -----------------------------------------------------------------------------------


def _start_service(url: str, state: Path) -> ManagedProcess:
    command = [
        sys.executable,
        "-m",
        "hopsfs.cli.main",
        "cdc",
        "--metadata-url",
        url,
        "--state-dir",
        str(state),
    ]
    command += ["--port", "0"]
    service = ManagedProcess("cdc", command, log_path=state / "cdc-service.log")
    service.start(CDC_READY, START_TIMEOUT_S)
    return service


def _url_of(service: ManagedProcess) -> str:
    assert service.ready_match is not None
    return f"grpc://{service.ready_match.group(1)}:{service.ready_match.group(2)}"


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=1000, method="inclusive")[min(998, int(fraction * 1000) - 1)]
