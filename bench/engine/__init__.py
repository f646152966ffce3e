"""The metadata-engine benchmark: ops/s and latency of stat, list, create, mkdir, rename and delete
through `Namespace`, on SQLite and MariaDB, at several namespace sizes, beside a raw primary-key select.

Modules: populate (bulk loader of a realistic tree), workloads (timed loops and baselines), parallel
(multi-process stat), run (databases and the order of a run), report (JSON lines and markdown),
__main__ (command line). Run `python -m bench.engine --help`.
"""
