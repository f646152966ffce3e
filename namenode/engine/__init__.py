"""The metadata engine: transactions, path resolution, permissions, id allocation, the namespace API."""
