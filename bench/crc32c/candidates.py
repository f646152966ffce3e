"""The packages measured, how each one is called, and the check values that prove it computes the right CRC.

A candidate names its distribution (for the version shown) and a loader returning `(function,
implementation note)`; the function takes a bytes-like object and returns the CRC as an int. Loaders
import lazily so a missing package is reported, not fatal.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import zlib
from collections.abc import Callable
from dataclasses import dataclass

CrcFunction = Callable[[bytes | memoryview], int]

CHECK_INPUT = b"123456789"
# The catalogued check values of the two algorithms (CRC-32/ISCSI and CRC-32/ISO-HDLC).
CHECK_VALUE_CRC32C = 0xE3069283
CHECK_VALUE_CRC32 = 0xCBF43926


@dataclass(frozen=True, slots=True)
class Candidate:
    label: str
    distribution: str | None  # None for the standard library
    algorithm: str  # "CRC32C" or "CRC32"
    load: Callable[[], tuple[CrcFunction, str]]
    # Some C extensions accept only bytes (not memoryview slices): chunks are then cut as bytes.
    accepts_memoryview: bool = True

    def version(self) -> str:
        if self.distribution is None:
            return "stdlib"
        try:
            return importlib.metadata.version(self.distribution)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    def check_value(self) -> int:
        return CHECK_VALUE_CRC32C if self.algorithm == "CRC32C" else CHECK_VALUE_CRC32


def _load_zlib() -> tuple[CrcFunction, str]:
    return zlib.crc32, f"zlib {zlib.ZLIB_RUNTIME_VERSION}"


def _load_crc32c() -> tuple[CrcFunction, str]:
    module = importlib.import_module("crc32c")
    hardware = getattr(module, "hardware_based", None)
    return module.crc32c, "hardware" if hardware else "software"


def _load_google_crc32c() -> tuple[CrcFunction, str]:
    module = importlib.import_module("google_crc32c")
    return module.value, f"implementation {module.implementation}"


def _load_crc32c_rs() -> tuple[CrcFunction, str]:
    module = importlib.import_module("crc32c_rs")
    return module.crc32c, "Rust, runtime CPU dispatch"


def _load_fastcrc() -> tuple[CrcFunction, str]:
    module = importlib.import_module("fastcrc")
    return module.crc32.iscsi, "Rust"


def _load_anycrc() -> tuple[CrcFunction, str]:
    module = importlib.import_module("anycrc")
    return module.Model("CRC32-ISCSI").calc, "generic table CRC"


def _load_hopsfs() -> tuple[CrcFunction, str]:
    module = importlib.import_module("hopsfs.protocol.dtp_checksum")
    return module.crc32c_function(), f"codec default: {module.CRC32C_DISTRIBUTION}"


CANDIDATES: tuple[Candidate, ...] = (
    Candidate("zlib.crc32 (baseline, CRC32)", None, "CRC32", _load_zlib),
    Candidate("crc32c", "crc32c", "CRC32C", _load_crc32c),
    Candidate("google-crc32c", "google-crc32c", "CRC32C", _load_google_crc32c, accepts_memoryview=False),
    Candidate("crc32c-rs", "crc32c-rs", "CRC32C", _load_crc32c_rs),
    Candidate("fastcrc", "fastcrc", "CRC32C", _load_fastcrc),
    Candidate("anycrc", "anycrc", "CRC32C", _load_anycrc),
)
# The codec's own path (pick + packing), measured only for the checksum-array figure.
HOPSFS_CANDIDATE = Candidate("hopsfs dtp_checksum", "hopsfs", "CRC32C", _load_hopsfs)
