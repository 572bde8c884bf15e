from decimal import Decimal

import pytest

from mlk.specs.quantity import docker_size, parse_quantity


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


@pytest.mark.parametrize(
    ("size", "quantity"), [("2g", "2Gi"), ("512m", "512Mi"), ("64k", "64Ki"), ("100", "100"), ("1Gi", "1Gi")]
)
def test_docker_sizes_become_kubernetes_quantities(size: str, quantity: str) -> None:
    assert docker_size(size) == quantity


def test_a_size_that_is_neither_is_refused() -> None:
    with pytest.raises(ValueError, match="not a Kubernetes quantity"):
        docker_size("two gigs")
