"""`hopsfs cdc`: the CDC service in the foreground.

Threads: capture (cdc/capture/loop.py), one per sink (search, provenance); the asyncio (uvloop) loop
serves gRPC, /metrics and retention. The state lives in STATE_DIR (default DATA_DIR/cdc): `log/`
(the durable log, RocksDB), `search/` (tantivy), `provenance.db` (SQLite). Once capture has started
(a first start has taken its snapshot) and gRPC listens, it prints
`hopsfs cdc serving grpc://HOST:PORT (pid N)` (hopsfs/announce.py), after the metrics line when
--metrics-port is given. SIGINT/SIGTERM stop it cleanly (exit 0); a fatal capture or sink error stops
it with exit 1 (a supervisor restarts it: capture resumes from its checkpoint). kill -9 loses nothing:
see cdc/log.py.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import grpc

from cdc.capture.loop import CaptureLoop
from cdc.log import DurableLog, destroy_log
from cdc.metadata import MetadataReader
from cdc.service.grpc_service import ChangeStreamService
from cdc.service.metrics import Metric, render
from cdc.service.retention import RetentionPolicy, apply_retention
from cdc.settings import RETENTION_AGE_S_DEFAULT, RETENTION_EVENTS_DEFAULT, RETENTION_INTERVAL_S
from cdc.sinks.provenance import ProvenanceSink
from cdc.sinks.runner import SinkRunner
from cdc.sinks.search import SearchSink
from hopsfs.announce import cdc_metrics_line, cdc_ready_line
from hopsfs.errors import HopsFSError
from hopsfs.metrics_http import serve_metrics
from hopsfs.protocol.proto import cdc_pb2, cdc_pb2_grpc

log = logging.getLogger("hopsfs.cdc")

CDC_PORT_DEFAULT = 8021
_STOP_POLL_S = 0.2
_THREAD_JOIN_S = 15.0
_GRPC_GRACE_S = 2.0


@dataclass(frozen=True, slots=True)
class CdcOptions:
    metadata_url: str
    state_dir: Path
    host: str = "127.0.0.1"
    port: int = CDC_PORT_DEFAULT
    metrics_port: int | None = None  # None: no /metrics; 0: any free port
    retention_events: int = RETENTION_EVENTS_DEFAULT
    retention_age_s: float = RETENTION_AGE_S_DEFAULT


class CdcService:
    """Everything one `hopsfs cdc` process runs, wired together (also used in-process by tests)."""

    def __init__(self, options: CdcOptions) -> None:
        self.options = options
        self.stop = threading.Event()
        self.reader = MetadataReader(options.metadata_url)
        self.log = _open_log(options.state_dir / "log")
        self.capture = CaptureLoop(self.reader, self.log, self.stop)
        self.search = SearchSink(options.state_dir / "search", self.reader)
        self.provenance = ProvenanceSink(options.state_dir / "provenance.db")
        self.sinks = [SinkRunner(sink, self.log, self.stop) for sink in (self.search, self.provenance)]
        self.retention = RetentionPolicy(options.retention_events, options.retention_age_s)
        self.events_removed = 0
        self._threads: list[threading.Thread] = []

    def start_threads(self) -> None:
        """Start capture and wait for its first start (bootstrap), then the sinks."""
        capture = threading.Thread(target=self.capture.run, name="cdc-capture", daemon=True)
        capture.start()
        self._threads.append(capture)
        self.capture.ready.wait()
        for runner in self.sinks:
            thread = threading.Thread(target=runner.run, name=f"cdc-sink-{runner.sink.name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def failure(self) -> BaseException | None:
        return self.capture.failure or next((r.failure for r in self.sinks if r.failure is not None), None)

    def sink_positions(self) -> dict[str, int]:
        return {runner.sink.name: runner.position for runner in self.sinks}

    def status(self) -> cdc_pb2.StatusResponse:
        return cdc_pb2.StatusResponse(
            log_id=self.log.log_id,
            first_position=self.log.first_position,
            last_position=self.log.last_position,
            capture_lag_events=self.capture.lag.events,
            capture_lag_seconds=self.capture.lag.seconds,
            sink_positions=self.sink_positions(),
        )

    def apply_retention(self) -> int:
        floor = min([self.log.trimmed_position(), *self.sink_positions().values()]) + 1
        removed = apply_retention(self.log, self.retention, floor, time.time())
        self.events_removed += removed
        return removed

    def metrics(self, service: ChangeStreamService) -> str:
        counters = self.capture.capturer.counters
        values: dict[str, float] = {
            "lag_seconds": self.capture.lag.seconds,
            "lag_events": self.capture.lag.events,
            "events_captured_total": counters.events,
            "events_delivered_total": service.counters.events_delivered,
            "subscribers": service.counters.subscribers,
            "out_of_range_total": service.counters.out_of_range_total,
            "log_first_position": self.log.first_position,
            "log_last_position": self.log.last_position,
            "events_removed_total": self.events_removed,
            "change_log_rows_trimmed_total": self.capture.lag.trimmed_rows,
            "logical_time_regressions_total": counters.logical_time_regressions,
            "logical_time_gaps_total": counters.logical_time_gaps,
            "unresolved_paths_total": self.capture.capturer.unresolved_paths,
        }
        found = [Metric(name, value) for name, value in values.items()]
        for runner in self.sinks:
            labels = (("sink", runner.sink.name),)
            found.append(Metric("sink_position", runner.position, labels))
            found.append(Metric("sink_lag_events", self.log.last_position - runner.position, labels))
        return render(found)

    def close(self) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(_THREAD_JOIN_S)
        self.search.close()
        self.provenance.close()
        self.log.close()
        self.reader.close()


def run_cdc(options: CdcOptions) -> int:
    """Serve until a stop signal (exit 0) or a fatal capture/sink error (exit 1)."""
    _use_uvloop()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        service = CdcService(options)
    except HopsFSError as error:
        print(f"hopsfs cdc: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    try:
        service.start_threads()
        if service.failure() is not None:
            print(f"hopsfs cdc: capture failed: {service.failure()}", file=sys.stderr)
            return 1
        asyncio.run(_serve(service))
    except OSError as error:
        print(f"hopsfs cdc: cannot serve on {options.host}:{options.port}: {error}", file=sys.stderr)
        return 1
    finally:
        service.close()
    failure = service.failure()
    if failure is not None:
        print(f"hopsfs cdc: stopped by {type(failure).__name__}: {failure}", file=sys.stderr)
        return 1
    return 0


async def _serve(service: CdcService) -> None:
    options = service.options
    server = grpc.aio.server()
    servicer = ChangeStreamService(
        service.log, service.search, service.provenance, service.sink_positions, service.status
    )
    cdc_pb2_grpc.add_ChangeStreamServicer_to_server(servicer, server)
    port = server.add_insecure_port(f"{_grpc_host(options.host)}:{options.port}")
    if port == 0:
        raise OSError(f"gRPC could not bind {options.host}:{options.port}")
    await server.start()
    metrics_server = None
    if options.metrics_port is not None:
        metrics_server = await serve_metrics(
            options.host, options.metrics_port, lambda: service.metrics(servicer)
        )
        print(cdc_metrics_line(options.host, metrics_server.sockets[0].getsockname()[1]), flush=True)
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, service.stop.set)
    print(cdc_ready_line(options.host, port, os.getpid()), flush=True)
    next_retention_s = 0.0
    while not service.stop.is_set():
        if time.monotonic() >= next_retention_s:
            next_retention_s = time.monotonic() + RETENTION_INTERVAL_S
            await asyncio.to_thread(service.apply_retention)
        await asyncio.sleep(_STOP_POLL_S)
    if metrics_server is not None:
        metrics_server.close()
    await server.stop(_GRPC_GRACE_S)


def _open_log(path: Path) -> DurableLog:
    """The durable log; one left by a first start that died before its checkpoint starts over."""
    durable_log = DurableLog(path)
    if durable_log.checkpoint() is None and durable_log.last_position > 0:
        log.warning(
            "the log at %s has events but no checkpoint (first start interrupted): starting over", path
        )
        durable_log.close()
        destroy_log(path)
        durable_log = DurableLog(path)
    return durable_log


def _grpc_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _use_uvloop() -> None:
    try:
        import uvloop
    except ImportError:
        log.warning("uvloop is not installed: using the asyncio loop")
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
