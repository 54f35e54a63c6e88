"""The system's sources of time and randomness the use cases are given (main.py wires them)."""

from __future__ import annotations

import random
import time
import uuid

_random = random.Random()  # seeded from os.urandom


def new_conversion_id() -> str:
    """A UUIDv7 (time-ordered), so new rows land at the end of the primary-key index.

    Ids need uniqueness, not secrecy: the seeded PRNG avoids a syscall per id.
    """
    value = (time.time_ns() // 1_000_000) << 80 | _random.getrandbits(80)
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 4122 variant
    return str(uuid.UUID(int=value))
