"""pandas and pyarrow on `hopsfs://` URLs, with real data: CSV and parquet round trips through
pandas (address in the URL, in storage_options, or from HOPSFS_URL alone), and a partitioned
parquet dataset written and scanned by pyarrow through `PyFileSystem(FSSpecHandler(fs))`."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

import hopsfs
from hopsfs.fsspec import HopsFileSystem

ROWS = 20_000


@pytest.fixture(name="frame", scope="module")
def frame_fixture() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return pd.DataFrame(
        {
            "id": np.arange(ROWS, dtype=np.int64),
            "value": rng.normal(size=ROWS),
            "country": rng.choice(["se", "de", "us"], size=ROWS),
            "label": [f"row-{index}" for index in range(ROWS)],
        }
    )


@pytest.fixture(name="default_cluster")
def default_cluster_fixture(hopsfs_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The cluster configured as the default (HOPSFS_URL), with fsspec's cached default instance
    dropped before and after so no other test sees it."""
    monkeypatch.setenv("HOPSFS_URL", hopsfs_url)
    monkeypatch.setenv("HADOOP_USER_NAME", "hdfs")
    HopsFileSystem.clear_instance_cache()
    yield
    HopsFileSystem.clear_instance_cache()


def test_csv_round_trip(hopsfs_url: str, test_dir: str, frame: pd.DataFrame) -> None:
    url = f"{hopsfs_url}{test_dir}/frame.csv"
    frame.to_csv(url, index=False, storage_options={"user": "hdfs"})
    back = pd.read_csv(url, storage_options={"user": "hdfs"})
    pd.testing.assert_frame_equal(back, frame, check_dtype=False)


def test_parquet_round_trip(hopsfs_url: str, test_dir: str, frame: pd.DataFrame) -> None:
    url = f"{hopsfs_url}{test_dir}/frame.parquet"
    frame.to_parquet(url, storage_options={"user": "hdfs"})
    back = pd.read_parquet(url, storage_options={"user": "hdfs"})
    pd.testing.assert_frame_equal(back, frame, check_dtype=False)
    columns = pd.read_parquet(url, columns=["id"], storage_options={"user": "hdfs"})
    assert columns["id"].tolist() == frame["id"].tolist()


def test_pandas_with_the_configured_default(
    default_cluster: None, test_dir: str, frame: pd.DataFrame
) -> None:
    url = f"hopsfs://{test_dir}/default.parquet"
    frame.to_parquet(url)
    pd.testing.assert_frame_equal(pd.read_parquet(url), frame, check_dtype=False)
    with hopsfs.connect() as client:  # the blocking client takes the same default
        assert client.stat(f"{test_dir}/default.parquet").size > 0


def test_pyarrow_partitioned_dataset(hopsfs_fs: HopsFileSystem, test_dir: str, frame: pd.DataFrame) -> None:
    filesystem = pafs.PyFileSystem(pafs.FSSpecHandler(hopsfs_fs))
    base = f"{test_dir}/dataset"
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_to_dataset(table, base, partition_cols=["country"], filesystem=filesystem)
    assert sorted(hopsfs_fs.ls(base, detail=False)) == [f"{base}/country={c}" for c in ("de", "se", "us")]
    dataset = ds.dataset(base, format="parquet", partitioning="hive", filesystem=filesystem)
    assert dataset.count_rows() == ROWS
    swedish = dataset.to_table(filter=ds.field("country") == "se", columns=["id", "value"]).to_pandas()
    expected = frame[frame["country"] == "se"][["id", "value"]]
    assert sorted(swedish["id"].tolist()) == sorted(expected["id"].tolist())
    totals = dataset.to_table(columns=["value"]).column("value").to_numpy().sum()
    assert totals == pytest.approx(frame["value"].sum())
    info = filesystem.get_file_info(f"{base}/country=se")
    assert info.type == pafs.FileType.Directory
