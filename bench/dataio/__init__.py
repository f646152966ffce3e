"""Data-path benchmark: sequential and concurrent file writes and reads through a real cluster."""
