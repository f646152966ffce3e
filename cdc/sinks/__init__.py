"""Sinks: consumers inside the CDC service that keep a derived view of the stream.

Each runs on its own thread (`runner.SinkRunner`), reads the durable log from its own saved position,
applies events in order and saves the position after each commit: a crash replays at most the
events of one uncommitted batch, so every sink applies events idempotently (at-least-once).
`search`: a tantivy full-text index of the namespace. `provenance`: who (user, application) created,
changed, read and deleted which file, and which files were derived from which.
"""
