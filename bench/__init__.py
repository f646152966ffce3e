"""Benchmarks for hopsfs, run as programs (not timed tests). `python -m bench.engine` measures the
metadata engine; see bench/engine/__init__.py."""
