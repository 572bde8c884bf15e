"""Kubernetes resource quantities ("500m", "2", "1.5Gi", "1e3") as exact numbers, for comparing them."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_SUFFIX = {
    "": Decimal(1),
    "m": Decimal("0.001"),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15,
    "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50,
    "Ei": Decimal(2) ** 60,
}
_QUANTITY = re.compile(r"^\+?(?P<num>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?P<suffix>[eE][+-]?[0-9]+|[a-zA-Z]*)$")


def parse_quantity(value: str | int | float) -> Decimal:
    """The quantity's value in base units (cores, bytes); ValueError when it is not a quantity."""
    text = str(value).strip()
    match = _QUANTITY.match(text)
    if not match:
        raise ValueError(f"{value!r} is not a Kubernetes quantity")
    num, suffix = match["num"], match["suffix"]
    try:
        if suffix[:1] in ("e", "E"):
            return Decimal(num) * Decimal(10) ** int(suffix[1:])
        return Decimal(num) * _SUFFIX[suffix]
    except (KeyError, InvalidOperation):
        raise ValueError(f"{value!r} has an unknown unit '{suffix}' (use m, k, M, G, Ki, Mi, Gi, ...)") from None


_DOCKER_SIZE = re.compile(r"^(?P<num>[0-9]+)(?P<unit>[bkmgBKMG]?)[bB]?$")
_DOCKER_UNITS = {"": "", "b": "", "k": "Ki", "m": "Mi", "g": "Gi"}


def docker_size(value: str | int) -> str:
    """A Docker size (`shm_size: 2g`, as Azure's job files write it: b, k, m, g in powers of 1024) as a
    Kubernetes quantity ("2Gi"); a value that already is a Kubernetes quantity is kept."""
    text = str(value).strip()
    match = _DOCKER_SIZE.match(text)
    if match:
        return match["num"] + _DOCKER_UNITS[match["unit"].lower()]
    parse_quantity(text)
    return text
