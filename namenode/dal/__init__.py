"""The data access layer: the only place that holds SQL text, drivers and dialect differences."""
