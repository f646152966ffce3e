"""Namespace operations, one module per family. Each resolves, checks, locks, then changes rows in
memory through the `Transaction` it is handed; the template in engine/txn.py does the rest."""
