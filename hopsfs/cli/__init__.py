"""The `hopsfs` command."""
