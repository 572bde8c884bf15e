"""Names every component derives alike: DNS-1123 labels, cut with a hash when long, lowercase Azure names."""

from __future__ import annotations

import re

import pytest

from mlk.render import names
from mlk.render.names import k8s_name

LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def test_short_names_are_joined_and_lowercased() -> None:
    assert k8s_name("My-Endpoint", "Blue") == "my-endpoint-blue"
    assert k8s_name("a_b.c", "d--e") == "a-b-c-d-e"


def test_long_names_are_cut_and_end_with_a_hash_of_the_whole() -> None:
    endpoint, deployment = "e" * 32, "d" * 32  # 65 characters joined
    name = k8s_name(endpoint, deployment)
    assert len(name) == 63 and LABEL.match(name)
    assert re.fullmatch(r"e{32}-d{21}-[0-9a-f]{8}", name)
    assert name == k8s_name(endpoint, deployment)  # deterministic
    assert k8s_name(endpoint, "d" * 31 + "x") != name  # same prefix, different name: different hash


def test_the_longest_valid_azure_pair_fits_without_a_hash() -> None:
    """Azure allows endpoint + deployment up to 62 characters: with the '-' that is exactly 63."""
    assert k8s_name("e" * 31, "d" * 31) == "e" * 31 + "-" + "d" * 31


@pytest.mark.parametrize("max_len", [10, 20, 40, 63])
def test_max_len_is_respected_and_never_ends_in_a_dash(max_len: int) -> None:
    name = k8s_name("abc-" * 30, max_len=max_len)
    assert len(name) <= max_len and LABEL.match(name)


def test_empty_or_symbol_only_parts_are_errors() -> None:
    with pytest.raises(ValueError):
        k8s_name()
    with pytest.raises(ValueError):
        k8s_name("---")
    with pytest.raises(ValueError):
        k8s_name("ok", max_len=5)


def test_derived_object_names() -> None:
    assert names.endpoint_object_name("My-Endpoint") == "my-endpoint"
    assert names.deployment_object_name("my-endpoint", "blue") == "my-endpoint-blue"
    assert names.keys_secret_name("my-endpoint") == "my-endpoint-keys"


def test_labels_carry_mlk_and_azure_keys() -> None:
    assert names.deployment_labels("My-Endpoint", "Blue") == {
        "mlk.dev/endpoint": "my-endpoint",
        "ml.azure.com/endpoint-name": "my-endpoint",
        "mlk.dev/deployment": "blue",
        "ml.azure.com/deployment-name": "blue",
    }
    assert names.base_labels("router")["app.kubernetes.io/managed-by"] == "mlk"
    assert names.selector_labels("e", "d") == {"mlk.dev/endpoint": "e", "mlk.dev/deployment": "d"}


def test_api_group_is_not_azures() -> None:
    assert names.GROUP == "mlk.dev" and names.VERSION == "v1alpha1"
    assert "azureml" not in names.GROUP
