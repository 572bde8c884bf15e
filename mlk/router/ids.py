"""Request ids: uuid4-shaped, from a generator seeded by the OS once (os.urandom per id is a system
call on every request; an id needs to be unique, not secret)."""

from __future__ import annotations

import os
import random

_random = random.Random(os.urandom(32))
_VERSION_MASK = ~(0xF << 76) & ~(0xC << 62)
_VERSION_BITS = (4 << 76) | (0x8 << 62)


def request_id() -> str:
    text = f"{(_random.getrandbits(128) & _VERSION_MASK) | _VERSION_BITS:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
