"""CRC32C packages measured for the data path: which one the DataTransferProtocol codec should use.

A datanode checksums every 512-byte chunk of every packet (64 KiB packets: 128 chunks), on writes to
verify what the client sent and on reads where it recomputes. Two figures per candidate, in one run so
they compare: the rate of one call over a 64 KiB buffer (what the algorithm and its CPU instructions
can do), and the rate of building a packet's checksum array (128 calls of 512 bytes, each result packed
into 4 big-endian bytes), where the per-call cost of crossing from Python into C dominates. `zlib.crc32`
(CRC32, the standard library) is the baseline in the same run; the `hopsfs` row is the codec's own
`dtp_checksum.compute_checksums`, i.e. the pick plus the codec's packing.

Candidates that are not installed are listed as such, never guessed. Each candidate is checked on the
standard check input ("123456789") before it is timed. Modules: candidates (what is measured and how
each package is called), __main__ (timing and the markdown table). Run `python -m bench.crc32c`;
`--quick` finishes in about a second.
"""
