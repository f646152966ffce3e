"""Protobuf messages of the Hadoop wire formats, the subset hopsfs uses.

The `.proto` files here are ours (proto2, Hadoop's package names and field numbers); the `*_pb2.py`
modules and `.pyi` stubs are generated from them by scripts/gen-protos.sh and must not be edited by hand.
"""
