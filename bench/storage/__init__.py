"""Benchmark of the datanode's replica storage against plain Python file I/O (python -m bench.storage)."""
