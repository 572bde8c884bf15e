"""The SAS mlk makes for pods (read and list only, https only on an https account) and the checks of a SAS
URL a workspace is given (its permissions and protocols, read from its query string). No network."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from azure.storage.blob import generate_container_sas

from mlk.storage.blob import BlobStore, sas_protocol
from mlk.storage.config import StorageConfig, pod_sas_refusal, sas_allows_http, sas_url_warnings
from tests.conftest import run_mlk

KEY = "c2VjcmV0a2V5c2VjcmV0a2V5c2VjcmV0a2V5c2VjcmV0a2V5c2VjcmV0a2V5MTIzNA=="  # a dummy account key
HTTPS_ACCOUNT = "https://acct.blob.core.windows.net"
AZURITE_ACCOUNT = "http://127.0.0.1:10000/devstoreaccount1"


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def sas_url(permission: str, protocol: str | None = "https", account: str = HTTPS_ACCOUNT) -> str:
    """A container SAS URL signed with the dummy key, as the Azure portal or `az` would make it."""
    extra = {"protocol": protocol} if protocol else {}
    sas = generate_container_sas(
        "acct", "models", account_key=KEY, permission=permission, expiry=datetime.now(UTC) + timedelta(hours=1), **extra
    )
    return f"{account}/models?{sas}"


@pytest.mark.parametrize("how", ["account key", "connection string"])
def test_read_url_of_an_https_account_is_read_list_and_https_only(how: str) -> None:
    config = (
        StorageConfig(type="blob", account_url=HTTPS_ACCOUNT, account_key=KEY, container="models")
        if how == "account key"
        else StorageConfig(
            type="blob",
            connection_string=f"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={KEY};"
            "EndpointSuffix=core.windows.net",
            container="models",
        )
    )
    before = datetime.now(UTC)
    with BlobStore(config) as store:  # no request is made: a SAS is signed locally
        url = store.read_url("models/m", hours=24)
    assert url.startswith(f"{HTTPS_ACCOUNT}/models/models/m?")
    sas = query(url)
    assert sas["sp"] == "rl" and sas["spr"] == "https" and sas["sr"] == "c" and sas["sig"]
    expiry = datetime.strptime(sas["se"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert timedelta(hours=23, minutes=59) <= expiry - before <= timedelta(hours=24, minutes=1)
    assert pod_sas_refusal(url) is None and not sas_allows_http(url)


def test_read_url_of_an_http_emulator_also_allows_http() -> None:
    config = StorageConfig(type="blob", account_url=AZURITE_ACCOUNT, account_key=KEY, container="models")
    with BlobStore(config) as store:
        url = store.read_url()
    assert url.startswith(f"{AZURITE_ACCOUNT}/models?")
    sas = query(url)
    assert sas["sp"] == "rl" and sas["spr"] == "https,http"  # Azurite serves plain http only
    assert not sas_allows_http(url)  # an http URL is an emulator's: nothing to warn about


def test_sas_protocol_follows_the_account_scheme() -> None:
    assert sas_protocol(HTTPS_ACCOUNT) == "https"
    assert sas_protocol("HTTPS://acct.blob.core.windows.net/") == "https"
    assert sas_protocol(AZURITE_ACCOUNT) == "https,http"
    assert sas_protocol("HTTP://localhost:10000/devstoreaccount1") == "https,http"


@pytest.mark.parametrize("permission", ["rl", "r", "l", "lr"])
def test_a_read_list_sas_may_go_to_pods(permission: str) -> None:
    assert pod_sas_refusal(sas_url(permission)) is None


@pytest.mark.parametrize(
    ("permission", "named"),
    [("rwl", "write"), ("rld", "delete"), ("racwdl", "add, create, write, delete"), ("rlx", "delete versions")],
)
def test_a_sas_that_can_write_may_not_go_to_pods(permission: str, named: str) -> None:
    url = sas_url(permission)
    refusal = pod_sas_refusal(url)
    assert refusal is not None and named in refusal and "not only read and list" in refusal
    assert query(url)["sig"] not in refusal


def test_a_sas_without_sp_cannot_be_checked() -> None:
    url = f"{HTTPS_ACCOUNT}/models?sv=2024-01-01&si=readers&sr=c&sig=AbC%2Bdef%3D"  # a stored access policy
    refusal = pod_sas_refusal(url)
    assert refusal is not None and "no sp=" in refusal and "AbC" not in refusal


def test_a_url_without_a_signature_carries_no_credential() -> None:
    assert pod_sas_refusal(f"{HTTPS_ACCOUNT}/public") is None
    assert not sas_allows_http(f"{HTTPS_ACCOUNT}/public")


def test_a_sas_usable_over_http_on_an_https_account() -> None:
    assert sas_allows_http(sas_url("rl", protocol="https,http"))
    assert sas_allows_http(sas_url("rl", protocol=None))  # no spr= allows both
    assert not sas_allows_http(sas_url("rl", protocol="https"))
    assert not sas_allows_http(sas_url("rl", protocol="https,http", account=AZURITE_ACCOUNT))


def test_sas_url_warnings() -> None:
    assert sas_url_warnings(StorageConfig(type="blob", account_url=HTTPS_ACCOUNT, account_key=KEY)) == []
    assert sas_url_warnings(StorageConfig(type="local", path="/tmp/x")) == []
    assert sas_url_warnings(StorageConfig(type="blob", sas_url=sas_url("rl"))) == []
    writable = StorageConfig(type="blob", sas_url=sas_url("rwdl", protocol="https,http"))
    warnings = sas_url_warnings(writable)
    assert len(warnings) == 2
    assert "write, delete" in warnings[0] and "operator refuses" in warnings[0] and "account key" in warnings[0]
    assert "plain http" in warnings[1] and "spr=https" in warnings[1]
    for warning in warnings:
        assert query(writable.sas_url or "")["sig"] not in warning


def test_workspace_create_warns_of_a_writable_sas(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MLK_HOME", str(tmp_path))
    monkeypatch.setattr(BlobStore, "check", lambda self: None)  # no storage to reach
    writable = sas_url("racwdl")
    result = run_mlk("workspace", "create", "w1", "--storage-sas-url", writable)
    assert result.exit_code == 0, result.stderr
    assert "WARNING: the workspace's SAS URL grants add, create, write, delete (sp=racwdl)" in result.stderr
    assert "Kubernetes deployments of this workspace will fail" in result.stderr
    assert query(writable)["sig"] not in result.stderr + result.stdout
    result = run_mlk("workspace", "create", "w2", "--storage-sas-url", sas_url("rl"))
    assert result.exit_code == 0, result.stderr
    assert "WARNING" not in result.stderr
