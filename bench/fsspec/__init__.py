"""`python -m bench.fsspec`: the Python data stack on hopsfs:// against the local filesystem."""
