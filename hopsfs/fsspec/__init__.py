"""The `hopsfs://` fsspec driver: pandas, pyarrow, dask and every fsspec user on a hopsfs cluster.

Registered through the `fsspec.specs` entry point, so `fsspec.filesystem("hopsfs")` and
`pd.read_parquet("hopsfs://host:port/data/x.parquet")` need no import. See docs/fsspec.md.
"""

from hopsfs.fsspec.files import HopsFile
from hopsfs.fsspec.filesystem import HopsFileSystem

__all__ = ["HopsFile", "HopsFileSystem"]
