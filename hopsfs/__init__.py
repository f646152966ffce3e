"""hopsfs: a HopsFS-style distributed filesystem whose namespace lives in SQL tables."""

__version__ = "0.1.0"
