"""Load generator processes: concurrent callers of getFileInfo or getListing, each on its own connection.

A `LoadPool` spawns its worker processes once (spawn: no inherited sockets or database handles) and
hands them one `LoadTask` per measurement, in two steps so that every worker's window is the same:
`prepare` (each worker opens its callers' connections and runs WARMUP_CALLS untimed calls per caller,
then reports ready) and `start(start_at)` (each worker sleeps until the shared `time.monotonic()`
instant, which is system-wide on Linux, runs its callers closed-loop until start_at + duration_s and
returns the latency of every call that started and finished inside the window).

Two kinds of caller, chosen per task:
- `hopsfs`: the project's `AsyncClient` (one per caller, so one connection each): what an application
  gets, including the client library's futures, timeouts, retries and FileStatus decoding;
- `lean`: the sans-I/O codec (`ClientConnection`) in an `asyncio.Protocol` that sends the next call
  from `data_received`: no coroutine, future or timer per call, so the load generator takes as little
  of the shared CPU as a Python client can and the servers get the rest.
Both run on uvloop, parse every response and check it (a stat answers with a status, a listing page
holds `entries_expected` entries); a wrong answer fails the task.

Bounds: READY_TIMEOUT_S for connecting and warming up, duration_s + RESULT_TIMEOUT_S for the window;
one call in flight per caller; CALLERS_PER_PROCESS_MAX callers per process.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import time
import traceback
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, cast

from hopsfs.client import AsyncClient
from hopsfs.errors import HopsFSError
from hopsfs.invariants import check
from hopsfs.protocol.errors import RemoteProtocolError
from hopsfs.protocol.ipc_codec import CallError, CallResult, ClientConnection, ConnectionClosed
from hopsfs.protocol.proto import client_namenode_protocol_pb2 as pb
from hopsfs.types import FileStatus

GET_FILE_INFO = "getFileInfo"
GET_LISTING = "getListing"
OPERATIONS = (GET_FILE_INFO, GET_LISTING)
HOPSFS_CLIENT = "hopsfs"
LEAN_CLIENT = "lean"
CLIENT_KINDS = (HOPSFS_CLIENT, LEAN_CLIENT)
WARMUP_CALLS = 20
READY_TIMEOUT_S = 60.0
RESULT_TIMEOUT_S = 60.0
CALLERS_PER_PROCESS_MAX = 256
PROCESSES_MAX = 16
CONNECT_TIMEOUT_S = 10.0
CALL_TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True)
class LoadTask:
    """One worker's share of a measurement: its callers, each with the address it connects to."""

    client_kind: str
    operation: str
    caller_addresses: list[tuple[str, int]]
    caller_offsets: list[int]  # where in `paths` each caller starts, so callers ask different paths
    paths: list[str]
    user: str
    duration_s: float
    entries_expected: int  # of a getListing page
    warmup_calls: int = WARMUP_CALLS  # per caller, untimed, after connecting


@dataclass(frozen=True, slots=True)
class LoadOutcome:
    latencies_ns: list[int]
    calls_outside_window: int  # warm-up and calls straddling an edge of the window


class LoadPool:
    """`processes` spawned load workers; a context manager that ends them on exit."""

    def __init__(self, processes: int) -> None:
        check(1 <= processes <= PROCESSES_MAX, "between 1 and PROCESSES_MAX load processes")
        context = multiprocessing.get_context("spawn")
        self._pipes: list[Connection] = []
        self._workers: list[Any] = []
        for index in range(processes):
            ours, theirs = context.Pipe(duplex=True)
            worker = context.Process(
                target=_worker_main, args=(theirs,), name=f"rpc-load-{index}", daemon=True
            )
            worker.start()
            theirs.close()
            self._pipes.append(ours)
            self._workers.append(worker)
        self._busy = 0

    def __enter__(self) -> LoadPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def size(self) -> int:
        return len(self._workers)

    @property
    def pids(self) -> list[int]:
        return [int(worker.pid) for worker in self._workers]

    def prepare(self, tasks: list[LoadTask]) -> None:
        """Hand task i to worker i; returns once every one has connected and warmed up."""
        check(0 < len(tasks) <= self.size, "one task per load process at most")
        check(self._busy == 0, "the previous measurement was collected")
        for pipe, task in zip(self._pipes, tasks, strict=False):
            pipe.send(("task", task))
        self._busy = len(tasks)
        for pipe in self._pipes[: self._busy]:
            self._expect(pipe, "ready", READY_TIMEOUT_S)

    def start(self, start_at: float) -> None:
        """Tell the prepared workers when their window opens (a `time.monotonic()` instant)."""
        check(self._busy > 0, "start follows prepare")
        for pipe in self._pipes[: self._busy]:
            pipe.send(("start", start_at))

    def collect(self, duration_s: float) -> list[LoadOutcome]:
        busy, self._busy = self._busy, 0
        outcomes = []
        for pipe in self._pipes[:busy]:
            outcome = self._expect(pipe, "outcome", duration_s + RESULT_TIMEOUT_S)
            check(isinstance(outcome, LoadOutcome), "a load worker's outcome is a LoadOutcome")
            assert isinstance(outcome, LoadOutcome)
            outcomes.append(outcome)
        return outcomes

    def close(self) -> None:
        for pipe in self._pipes:
            with contextlib.suppress(OSError):
                pipe.send(("quit", None))
        for worker in self._workers:
            worker.join(timeout=10)
            if worker.is_alive():
                worker.terminate()
                worker.join(timeout=10)
        for pipe in self._pipes:
            pipe.close()

    def _expect(self, pipe: Connection, kind: str, timeout_s: float) -> object:
        if not pipe.poll(timeout_s):
            raise RuntimeError(f"a load worker sent no {kind} within {timeout_s:.0f} s")
        received, payload = pipe.recv()
        if received != kind:
            raise RuntimeError(f"a load worker failed (expected {kind}): {payload}")
        return payload


def split_callers(
    callers: int, processes: int, addresses: list[tuple[str, int]]
) -> list[list[tuple[int, tuple[str, int]]]]:
    """Callers 0..callers-1 in contiguous blocks over at most `processes` processes; caller i connects
    to addresses[i % len(addresses)], so each process talks to every namenode when it has callers
    enough. Returns, per process, (caller index, address) pairs."""
    check(callers >= 1 and len(addresses) >= 1, "at least one caller and one address")
    used = min(processes, callers)
    shares: list[list[tuple[int, tuple[str, int]]]] = [[] for _ in range(used)]
    for caller in range(callers):
        shares[caller * used // callers].append((caller, addresses[caller % len(addresses)]))
    check(all(len(share) <= CALLERS_PER_PROCESS_MAX for share in shares), "callers per process bounded")
    return shares


# -- the worker process -------------------------------------------------------------------------------


def _worker_main(pipe: Connection) -> None:
    """Run tasks until told to quit (or the coordinator goes away)."""
    try:
        import uvloop

        runner: Callable[[Awaitable[None]], None] = uvloop.run  # type: ignore[assignment]
    except ImportError:  # pragma: no cover - uvloop is a dependency wherever it has wheels
        runner = asyncio.run  # type: ignore[assignment]
    while True:
        try:
            kind, payload = pipe.recv()
        except EOFError:
            return
        if kind != "task":
            return
        try:
            runner(_run_task(pipe, payload))
        except BaseException as error:  # report, then wait for the next task or quit
            detail = "".join(traceback.format_exception(error))
            with contextlib.suppress(OSError):
                pipe.send(("error", detail))


async def _run_task(pipe: Connection, task: LoadTask) -> None:
    check(task.operation in OPERATIONS, f"unknown operation {task.operation}")
    check(task.client_kind in CLIENT_KINDS, f"unknown client kind {task.client_kind}")
    callers: list[_Caller] = [
        _HopsfsCaller(task, address, offset)
        if task.client_kind == HOPSFS_CLIENT
        else _LeanCaller(task, address, offset)
        for address, offset in zip(task.caller_addresses, task.caller_offsets, strict=True)
    ]
    try:
        await asyncio.gather(*(caller.open() for caller in callers))
        await asyncio.gather(*(caller.run(task.warmup_calls, None) for caller in callers))
        pipe.send(("ready", None))
        if not pipe.poll(READY_TIMEOUT_S):
            raise RuntimeError("no start signal")
        kind, start_at = pipe.recv()
        check(kind == "start", "a prepared worker is told to start")
        await asyncio.sleep(max(0.0, start_at - time.monotonic()))
        start_ns = int(start_at * 1e9)
        end_ns = start_ns + int(task.duration_s * 1e9)
        await asyncio.gather(*(caller.run(None, (start_ns, end_ns)) for caller in callers))
    finally:
        for caller in callers:
            await caller.close()
    latencies = [latency for caller in callers for latency in caller.latencies_ns]
    outside = sum(caller.calls_outside_window for caller in callers)
    pipe.send(("outcome", LoadOutcome(latencies, outside)))


class _Caller:
    """One concurrent client: one connection, one call in flight."""

    def __init__(self, task: LoadTask, address: tuple[str, int], offset: int) -> None:
        self.task = task
        self.address = address
        self.next_path = offset
        self.latencies_ns: list[int] = []
        self.calls_outside_window = 0

    async def open(self) -> None:
        raise NotImplementedError

    async def run(self, calls: int | None, window_ns: tuple[int, int] | None) -> None:
        """`calls` untimed calls, or closed-loop calls until the window's end, timing those inside it."""
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    def take_path(self) -> str:
        paths = self.task.paths
        path = paths[self.next_path % len(paths)]
        self.next_path += 1
        return path

    def record(self, started_ns: int, finished_ns: int, window_ns: tuple[int, int] | None) -> None:
        if window_ns is not None and window_ns[0] <= started_ns and finished_ns <= window_ns[1]:
            self.latencies_ns.append(finished_ns - started_ns)
        else:
            self.calls_outside_window += 1


class _HopsfsCaller(_Caller):
    def __init__(self, task: LoadTask, address: tuple[str, int], offset: int) -> None:
        super().__init__(task, address, offset)
        host, port = address
        self.client = AsyncClient(
            f"hopsfs://{host}:{port}",
            user=task.user,
            connect_timeout_s=CONNECT_TIMEOUT_S,
            call_timeout_s=CALL_TIMEOUT_S,
        )

    async def open(self) -> None:
        await self.client.stat("/")  # opens the connection and does the handshake

    async def run(self, calls: int | None, window_ns: tuple[int, int] | None) -> None:
        one = self._stat if self.task.operation == GET_FILE_INFO else self._list_page
        clock = time.monotonic_ns
        done = 0
        while calls is None or done < calls:
            started = clock()
            if window_ns is not None and started >= window_ns[1]:
                return
            await one(self.take_path())
            self.record(started, clock(), window_ns)
            done += 1

    async def close(self) -> None:
        await self.client.close()

    async def _stat(self, path: str) -> None:
        status = await self.client.stat(path)
        check(status.is_file, "getFileInfo finds a file at each path asked")

    async def _list_page(self, path: str) -> None:
        # list_pages is an async generator: close it after the first page, so no second call goes out.
        pages = cast(AsyncGenerator[list[FileStatus], None], self.client.list_pages(path))
        async with contextlib.aclosing(pages):
            page = await anext(pages)
        check(len(page) == self.task.entries_expected, "a listing page holds the directory's entries")


class _LeanCaller(_Caller, asyncio.Protocol):
    """The codec on a transport; `data_received` records the answer and sends the next call."""

    def __init__(self, task: LoadTask, address: tuple[str, int], offset: int) -> None:
        super().__init__(task, address, offset)
        self.codec = ClientConnection(effective_user=task.user)
        self.transport: asyncio.Transport | None = None
        if task.operation == GET_FILE_INFO:
            self.requests = [pb.GetFileInfoRequestProto(src=path).SerializeToString() for path in task.paths]
        else:
            self.requests = [
                pb.GetListingRequestProto(src=path, startAfter=b"", needLocation=False).SerializeToString()
                for path in task.paths
            ]
        self.calls_left: int | None = None
        self.window_ns: tuple[int, int] | None = None
        self.sent_ns = 0
        self.finished: asyncio.Future[None] | None = None

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        host, port = self.address
        await asyncio.wait_for(loop.create_connection(lambda: self, host, port), CONNECT_TIMEOUT_S)

    async def run(self, calls: int | None, window_ns: tuple[int, int] | None) -> None:
        self.calls_left = calls
        self.window_ns = window_ns
        self.finished = asyncio.get_running_loop().create_future()
        if self._more_wanted(time.monotonic_ns()):
            self._send_next()
        else:
            self.finished.set_result(None)
        await asyncio.wait_for(self.finished, self.task.duration_s + CALL_TIMEOUT_S)

    async def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None

    # -- asyncio.Protocol -----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's transports are not subclasses
        self.transport.write(self.codec.start())  # type: ignore[union-attr]

    def data_received(self, data: bytes) -> None:
        try:
            events = self.codec.receive_data(data)
        except RemoteProtocolError as error:
            self._fail(RuntimeError(f"protocol error from the namenode: {error}"))
            return
        for event in events:
            if isinstance(event, CallResult):
                finished_ns = time.monotonic_ns()
                try:
                    self._check_answer(event.response_bytes)
                except Exception as wrong:  # a wrong answer fails the task, not just this callback
                    self._fail(wrong)
                    return
                self.record(self.sent_ns, finished_ns, self.window_ns)
                if self.calls_left is not None:
                    self.calls_left -= 1
                if self._more_wanted(finished_ns):
                    self._send_next()
                elif self.finished is not None and not self.finished.done():
                    self.finished.set_result(None)
            elif isinstance(event, CallError):
                self._fail(HopsFSError(f"{event.exception_class_name}: {event.message}"))
            elif isinstance(event, ConnectionClosed):
                self._fail(ConnectionError("the namenode closed the connection"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self._fail(ConnectionError(f"connection lost: {exc}"))

    # -- internals ------------------------------------------------------------------------------

    def _more_wanted(self, now_ns: int) -> bool:
        if self.calls_left is not None:
            return self.calls_left > 0
        return self.window_ns is not None and now_ns < self.window_ns[1]

    def _send_next(self) -> None:
        request = self.requests[self.next_path % len(self.requests)]
        self.next_path += 1
        _, frame = self.codec.send_call(self.task.operation, request)
        check(self.transport is not None, "a lean caller sends on an open connection")
        assert self.transport is not None
        self.sent_ns = time.monotonic_ns()
        self.transport.write(frame)

    def _check_answer(self, body: bytes) -> None:
        if self.task.operation == GET_FILE_INFO:
            info = pb.GetFileInfoResponseProto.FromString(body)
            check(info.HasField("fs"), "getFileInfo finds the file")
            return
        listing = pb.GetListingResponseProto.FromString(body)
        count = len(listing.dirList.partialListing)
        check(count == self.task.entries_expected, "a listing page holds the directory's entries")

    def _fail(self, error: BaseException) -> None:
        if self.finished is not None and not self.finished.done():
            self.finished.set_exception(error)
