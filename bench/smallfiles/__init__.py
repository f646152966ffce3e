"""Small files: inline in the metadata store against the block path and the local filesystem."""
