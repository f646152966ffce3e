"""A namenode's /metrics: Prometheus text that counts the calls it answered, by method and error."""

from __future__ import annotations

import re
import urllib.error
import urllib.request

import pytest
from support.cluster import NamenodeProcess, StartNamenodes

import hopsfs
from hopsfs.announce import last_metrics_url
from hopsfs.errors import FileAlreadyExists, FileNotFound

METRICS_ON = ("--metrics-port", "0")


def _metrics_url(namenode: NamenodeProcess) -> str:
    url = last_metrics_url(namenode.output_lines)
    assert url is not None, namenode.output_lines
    return url


def _sample(text: str, name: str, labels: str = "") -> float:
    pattern = "^" + re.escape(name + (f"{{{labels}}}" if labels else "")) + r" (\S+)$"
    match = re.search(pattern, text, re.MULTILINE)
    assert match, f"{name}{{{labels}}} not in:\n{text}"
    return float(match.group(1))


def test_metrics_count_calls_errors_and_connections(sqlite_url: str, start_namenodes: StartNamenodes) -> None:
    (namenode,) = start_namenodes(sqlite_url, extra_arguments=METRICS_ON)
    url = _metrics_url(namenode)
    with hopsfs.connect(namenode.url, user="hdfs") as client:
        client.mkdirs("/m")
        for _ in range(3):
            client.stat("/m")
        with pytest.raises(FileNotFound):
            client.list("/missing")
        client.delete("/m")
        text = urllib.request.urlopen(url, timeout=10).read().decode("utf-8")
    assert _sample(text, "hopsfs_namenode_calls_total", 'method="getFileInfo"') == 3
    assert _sample(text, "hopsfs_namenode_calls_total", 'method="mkdirs"') == 1
    assert _sample(text, "hopsfs_namenode_connections") == 1
    assert _sample(text, "hopsfs_namenode_call_seconds_total", 'method="getFileInfo"') > 0
    assert _sample(text, "hopsfs_engine_transactions_total") >= 5  # mkdirs, 3 stats, delete
    assert "# TYPE hopsfs_namenode_calls_total counter" in text
    with pytest.raises(urllib.error.HTTPError) as not_found:
        urllib.request.urlopen(url.replace("/metrics", "/other"), timeout=10)
    assert not_found.value.code == 404


def test_errors_are_counted_by_exception_class(sqlite_url: str, start_namenodes: StartNamenodes) -> None:
    (restarted,) = start_namenodes(sqlite_url, extra_arguments=METRICS_ON)
    with hopsfs.connect(restarted.url, user="hdfs") as client:
        client.touch("/f")
        with pytest.raises(FileAlreadyExists):
            client.touch("/f")
    text = urllib.request.urlopen(_metrics_url(restarted), timeout=10).read().decode("utf-8")
    labels = 'method="create",exception="org.apache.hadoop.fs.FileAlreadyExistsException"'
    assert _sample(text, "hopsfs_namenode_call_errors_total", labels) == 1
