from decimal import Decimal

import pytest

from mlk.specs.quantity import parse_quantity


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("500m", Decimal("0.5")),
        ("2", Decimal(2)),
        (1.5, Decimal("1.5")),
        ("512Mi", Decimal(512 * 2**20)),
        ("2Gi", Decimal(2 * 2**30)),
        ("1e3", Decimal(1000)),
        ("100M", Decimal(10**8)),
        (".5", Decimal("0.5")),
    ],
)
def test_quantities(text: str | float, value: Decimal) -> None:
    assert parse_quantity(text) == value


@pytest.mark.parametrize("bad", ["", "1 core", "Gi", "1Xi", "-1"])
def test_not_quantities(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_quantity(bad)
