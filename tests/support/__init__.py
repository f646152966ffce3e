"""Helpers shared by the pytest fixtures and by subprocess-based tests."""
