"""The namenode RPC benchmark: getFileInfo and getListing over Hadoop IPC against 1 and 2 namenode
processes, from 1 and 16 concurrent clients, beside the same calls on the in-process engine.

What a row measures: ops/s of calls that started and finished inside one timed window, and p50/p99 of
their latencies, with every client's connection opened and warmed before the window. The baseline is
`Namespace.stat` / `Namespace.list` called in this process (no wire, no codec, no event loop) on the
same database, in the same run; every RPC figure is also given as a ratio to it, since the machine is
shared and absolute rates drift from run to run. The CPU the namenode processes, the load processes
and a local MariaDB server spend inside each window, per completed call, says where a call's time
goes; the machine's busy CPU not spent by any of them ("others %") flags windows other tenants
disturbed.

Clients and processes. A client is one connection with one call in flight (closed loop), like an HDFS
client waiting on its answer; "16 concurrent clients" are 16 connections. They are spread over
`--load-processes` processes (default 2: as many as the reference machine has cores; more would only add
context switches), 8 callers each on one uvloop event loop, rather than 16 processes, because on two
cores 16 Python processes would spend more on scheduling and memory than on calls. The load processes
share the two cores with the namenodes, so every client microsecond is a microsecond the servers do not
get: the `lean` client (the sans-I/O codec driven straight from `data_received`) exists to show how much
of the servers' capacity a cheap client leaves them, beside the `hopsfs` client (`AsyncClient`), which is
what applications pay. Namenodes get their own ports by default and clients are assigned round-robin,
so two namenodes get exactly half the connections each; `--shared-port` uses SO_REUSEPORT instead, where
the kernel's hash may split 16 connections unevenly.

Modules: cluster (namenode processes, CPU accounting), load (load worker processes, the two client
kinds), run (one backend: tree, engine windows, the matrix), report (JSON lines, markdown, the target),
__main__ (command line). Run `python -m bench.rpc --help`; `--quick` finishes in seconds.
"""
