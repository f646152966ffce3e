"""The benchmark harness: the Spotify operation mix, mdtest-style phases, small files and big files,
defined once and run on any target (hopsfs's native client, any fsspec URL, any directory through
`os`), always beside the local-disk baseline of the same run.

Modules: distributions (the mix, file sizes, the weighted draw), namespace (tree shape, live-path
model), workloads/ (one module per workload, against `targets.Target` only), targets/ (one module per
kind of target), histogram (mergeable log-bucket latencies), results (tallies, merging), worker (a
client process's loop), pool (the coordinator's side of the clients), runner (the suite of
configurations), environment (machine and versions), report (rows, JSON lines, markdown), plots
(PNGs), cluster (a throwaway hopsfs cluster), __main__ (command line). docs/benchmarks.md tells how
to run it and how to read the results.
"""
