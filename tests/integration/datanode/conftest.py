"""Fixtures: a fake namenode (real gRPC service), datanodes in-process or as processes, all stopped
when the test ends."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from datanode_harness import DatanodeProcess, InProcessDatanode
from support.fake_namenode_grpc import FakeNamenode


@pytest.fixture
def fake_namenode() -> Iterator[FakeNamenode]:
    namenode = FakeNamenode()
    namenode.start()
    yield namenode
    namenode.stop()


@pytest.fixture
def start_inprocess(
    tmp_path: Path, fake_namenode: FakeNamenode
) -> Iterator[Callable[..., InProcessDatanode]]:
    """start(name="dn0", **kwargs): an in-process datanode with its data under tmp_path/name."""
    started: list[InProcessDatanode] = []

    def start(name: str = "dn0", **kwargs: Any) -> InProcessDatanode:
        node = InProcessDatanode.start(tmp_path / name, fake_namenode, **kwargs)
        started.append(node)
        return node

    yield start
    for node in reversed(started):
        node.stop()


@pytest.fixture
def datanode(start_inprocess: Callable[..., InProcessDatanode]) -> InProcessDatanode:
    return start_inprocess()


@pytest.fixture
def start_process(tmp_path: Path, fake_namenode: FakeNamenode) -> Iterator[Callable[..., DatanodeProcess]]:
    """start(name, *extra_arguments): `hopsfs datanode` processes registered with the fake namenode."""
    started: list[DatanodeProcess] = []

    def start(name: str, *extra_arguments: str) -> DatanodeProcess:
        process = DatanodeProcess.start(tmp_path / name, fake_namenode.address, extra_arguments)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()
