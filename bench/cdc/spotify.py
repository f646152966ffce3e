"""CDC lag under the bench harness's Spotify mix: `python -m bench.cdc --load spotify`.

A cluster as `hopsfs up` runs it (`hopsfs.cli.cluster.LocalCluster`: namenodes and the CDC service;
no datanodes, the mix's files are 0 bytes) on a freshly formatted store. The harness's own client
processes (`bench.harness.pool.ClientPool` running the `spotify` workload) build their trees and
warm up untimed, then run the mix for `duration_s`. During the mix:

- a subscriber process (`hopsfs.cdc.subscribe` from the end of the log) notes when each event
  arrives (wall clock, one clock for every process on the machine);
- a marker thread here makes one directory every `marker_interval_s` through the native client and
  notes when the call returned, i.e. after its commit: marker arrival - that instant is the commit
  -> subscriber lag, measured exactly (a few dozen rows a second, nothing next to the mix);
- every event carries time_ms (the namenode's clock when its transaction began) and captured_ms
  (when the service appended it to its own log): arrival - time_ms bounds the commit lag from above
  for every change the mix makes, captured_ms - time_ms is the capture's share of it.

Rates over the mix window: change-log rows the namenodes committed (time_ms in the window), rows
captured (captured_ms in it) and delivered (arrival in it), per second. Capture keeps up when the
captured rate equals the committed rate and the capture lag stays flat.

READ events are left out of every lag: reads are aggregated per file and flushed every 2 s
(namenode/engine/read_provenance.py), so their time_ms is the window's first read by design. They
count in the rates, since they are change-log rows the service captures like any other.
"""

from __future__ import annotations

import multiprocessing
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, NamedTuple

import hopsfs.cdc
from bench.cdc.run import percentile
from bench.harness import distributions as mix
from bench.harness.cluster import format_store
from bench.harness.pool import ClientPool
from bench.harness.results import PhaseResult, merge_outcomes
from bench.harness.runner import run_name
from bench.harness.targets import join_path, parse_target
from bench.harness.worker import ClientTask
from bench.harness.workloads import WORKLOADS, WorkloadSettings
from bench.harness.workloads.spotify import MIX_PHASE, SpotifyWorkload
from hopsfs.cli.cluster import ClusterOptions, LocalCluster
from hopsfs.client import connect
from hopsfs.invariants import check

READ_OPERATION = "READ"
MARKERS = "/bench-cdc-markers"
SENTINEL = "/bench-cdc-spotify-sentinel"
SUBSCRIBER_CONNECT_S = 1.0  # the subscriber is connected and waiting before the mix starts
SUBSCRIBER_IDLE_TIMEOUT_S = 120.0
SUBSCRIBER_RESULT_TIMEOUT_S = 300.0
CLIENT_CALL_TIMEOUT_S = 60.0
# The mix's operations that change the namespace (each commits one or more change-log rows).
WRITE_OPERATIONS = frozenset(
    {
        mix.CREATE_FILE,
        mix.RENAME,
        mix.DELETE,
        mix.CHOWN_DIRECTORY,
        mix.SET_REPLICATION,
        mix.MKDIR,
        mix.CHMOD_FILE,
        mix.CHMOD_DIRECTORY,
    }
)
check(WRITE_OPERATIONS.issubset(name for name, _ in mix.SPOTIFY_MIX), "write operations are of the mix")


@dataclass(frozen=True, slots=True)
class SpotifySettings:
    duration_s: float = 25.0  # the timed mix
    clients: int = 4  # harness client processes
    namenodes: int = 2  # as `hopsfs up`
    marker_interval_s: float = 0.02
    warmup_ops: int = 50  # per client, untimed

    def __post_init__(self) -> None:
        check(self.duration_s > 0, "the mix runs for a positive time")
        check(self.clients >= 1 and self.namenodes >= 1, "at least one client and one namenode")
        check(self.marker_interval_s > 0, "markers come at a positive interval")


@dataclass(slots=True)
class SpotifyCdcResult:
    backend: str
    clients: int
    namenodes: int
    duration_s: float  # the mix window, from its common start to the last client's last call
    harness_ops_per_s: float  # every successful operation of the mix, all clients
    harness_write_ops_per_s: float  # its namespace changes (create, rename, delete, mkdir, chmod, ...)
    events: int  # change-log rows of the window that reached the subscriber
    read_events: int  # of which aggregated READ rows
    committed_events_per_s: float  # time_ms in the window: the namenodes' change-log write rate
    captured_events_per_s: float  # captured_ms in the window
    delivered_events_per_s: float  # arrived at the subscriber in the window
    markers: int
    lag_ms_p50: float  # marker commit (its call returned) -> subscriber
    lag_ms_p99: float
    lag_ms_max: float
    event_lag_ms_p50: float  # transaction start (time_ms) -> subscriber, every non-READ event
    event_lag_ms_p99: float
    capture_lag_ms_p50: float  # transaction start -> captured, every non-READ event
    capture_lag_ms_p99: float
    operations: dict[str, int]  # events of the window per operation

    def record(self) -> dict[str, Any]:
        return {"load": "spotify", **asdict(self)}


class Arrival(NamedTuple):
    operation: str
    path: str
    arrived_s: float  # time.time() when the subscriber got it
    time_ms: int
    captured_ms: int


@dataclass(frozen=True, slots=True)
class MixWindow:
    start_s: float  # wall clock
    end_s: float

    def holds(self, instant_s: float) -> bool:
        return self.start_s <= instant_s <= self.end_s

    @property
    def length_s(self) -> float:
        return self.end_s - self.start_s


def run_spotify_backend(backend: str, metadata_url: str, settings: SpotifySettings) -> SpotifyCdcResult:
    """Start a cluster on `metadata_url` (an empty store: it is formatted here), run the mix, measure."""
    with tempfile.TemporaryDirectory(prefix="bench-cdc-spotify-") as directory:
        data_directory = Path(directory)
        format_store(metadata_url, data_directory)
        cluster = LocalCluster(
            ClusterOptions(
                data_dir=data_directory,
                metadata_url=metadata_url,
                port=0,
                namenodes=settings.namenodes,
                datanodes=0,
                cdc=True,
            )
        )
        try:
            url = cluster.start()
            check(cluster.cdc_url is not None, "the cluster runs its CDC service")
            return _measure(backend, url, str(cluster.cdc_url), settings)
        finally:
            cluster.stop()


def _measure(backend: str, url: str, cdc_url: str, settings: SpotifySettings) -> SpotifyCdcResult:
    start_position = hopsfs.cdc.status(cdc_url).last_position + 1
    receiver, sender = multiprocessing.Pipe(duplex=False)
    subscriber = multiprocessing.get_context("spawn").Process(
        target=subscriber_main, args=(cdc_url, start_position, sender), daemon=True
    )
    subscriber.start()
    time.sleep(SUBSCRIBER_CONNECT_S)
    client = connect(url, call_timeout_s=CLIENT_CALL_TIMEOUT_S)
    try:
        phase, window, commits = _run_mix(url, client, settings)
        client.mkdirs(f"{SENTINEL}-{time.monotonic_ns()}")
    finally:
        client.close()
    check(receiver.poll(SUBSCRIBER_RESULT_TIMEOUT_S), "the subscriber reports within its timeout")
    arrivals: list[Arrival] = receiver.recv()
    subscriber.join(30)
    return _result(backend, settings, phase, window, arrivals, commits)


def _run_mix(
    url: str, client: Any, settings: SpotifySettings
) -> tuple[PhaseResult, MixWindow, dict[str, float]]:
    """The harness's Spotify workload on `settings.clients` processes; markers during its timed mix."""
    spec = parse_target(url, label="hopsfs")
    workload_settings = WorkloadSettings(duration_s=settings.duration_s, warmup_ops=settings.warmup_ops)
    root = join_path(spec.base_path, run_name(), f"{SpotifyWorkload.name}-{settings.clients}c")
    tasks = [
        ClientTask(spec, SpotifyWorkload.name, workload_settings, root, index, settings.clients)
        for index in range(settings.clients)
    ]
    client.mkdirs(MARKERS)
    commits: dict[str, float] = {}  # marker path -> wall time its mkdirs returned (committed)
    stop = threading.Event()
    marker_thread = threading.Thread(
        target=_make_markers, args=(client, settings.marker_interval_s, stop, commits), daemon=True
    )
    with ClientPool(settings.clients) as pool:
        pool.prepare(tasks)  # trees built and warmed up, untimed
        wall_minus_monotonic_s = time.time() - time.monotonic()
        marker_thread.start()
        try:
            start_ns, outcomes = pool.run_phase(settings.clients, MIX_PHASE, settings.duration_s)
        finally:
            stop.set()
            marker_thread.join()
        phase = merge_outcomes(
            MIX_PHASE, start_ns, outcomes, WORKLOADS[SpotifyWorkload.name].expected_shares(MIX_PHASE)
        )
        pool.finish(settings.clients, shared=False)
    window_start_s = start_ns / 1e9 + wall_minus_monotonic_s
    return phase, MixWindow(window_start_s, window_start_s + phase.elapsed_s), commits


def _make_markers(client: Any, interval_s: float, stop: threading.Event, commits: dict[str, float]) -> None:
    """One directory every `interval_s` until `stop`; each path -> the instant its call returned."""
    count = 0
    while not stop.wait(interval_s):
        count += 1
        path = f"{MARKERS}/m{count}"
        client.mkdirs(path)
        commits[path] = time.time()


def subscriber_main(url: str, start_position: int, results: Connection) -> None:
    """Child process: every event from `start_position` to the sentinel, with when it arrived."""
    arrivals: list[Arrival] = []
    for event in hopsfs.cdc.subscribe(url, start_position, idle_timeout_s=SUBSCRIBER_IDLE_TIMEOUT_S):
        arrivals.append(Arrival(event.operation, event.path, time.time(), event.time_ms, event.captured_ms))
        if event.path.startswith(SENTINEL):
            break
    results.send(arrivals)


def _result(
    backend: str,
    settings: SpotifySettings,
    phase: PhaseResult,
    window: MixWindow,
    arrivals: list[Arrival],
    commits: dict[str, float],
) -> SpotifyCdcResult:
    check(window.length_s > 0, "the mix ran for a positive time")
    in_window = [arrival for arrival in arrivals if window.holds(arrival.time_ms / 1000)]
    changes = [arrival for arrival in in_window if arrival.operation != READ_OPERATION]
    marker_lags = sorted(
        (arrival.arrived_s - commits[arrival.path]) * 1000 for arrival in arrivals if arrival.path in commits
    )
    event_lags = sorted(arrival.arrived_s * 1000 - arrival.time_ms for arrival in changes)
    capture_lags = sorted(float(arrival.captured_ms - arrival.time_ms) for arrival in changes)
    total = phase.total()
    write_ops = sum(tally.ops for name, tally in phase.tallies.items() if name in WRITE_OPERATIONS)

    def rate(count: int) -> float:
        return round(count / window.length_s, 1)

    return SpotifyCdcResult(
        backend=backend,
        clients=settings.clients,
        namenodes=settings.namenodes,
        duration_s=round(window.length_s, 2),
        harness_ops_per_s=round(phase.ops_per_s(total), 1),
        harness_write_ops_per_s=rate(write_ops),
        events=len(in_window),
        read_events=len(in_window) - len(changes),
        committed_events_per_s=rate(len(in_window)),
        captured_events_per_s=rate(sum(window.holds(a.captured_ms / 1000) for a in arrivals)),
        delivered_events_per_s=rate(sum(window.holds(a.arrived_s) for a in arrivals)),
        markers=len(marker_lags),
        lag_ms_p50=round(percentile(marker_lags, 0.50), 1),
        lag_ms_p99=round(percentile(marker_lags, 0.99), 1),
        lag_ms_max=round(marker_lags[-1] if marker_lags else 0.0, 1),
        event_lag_ms_p50=round(percentile(event_lags, 0.50), 1),
        event_lag_ms_p99=round(percentile(event_lags, 0.99), 1),
        capture_lag_ms_p50=round(percentile(capture_lags, 0.50), 1),
        capture_lag_ms_p99=round(percentile(capture_lags, 0.99), 1),
        operations=dict(Counter(arrival.operation for arrival in in_window).most_common()),
    )
