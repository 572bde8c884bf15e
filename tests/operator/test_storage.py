"""The pods' storage Secret: a SAS read and list only, https only, living a day and renewed with half of it
left; a workspace's own SAS URL handed on only when it cannot write. No cluster, no network."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import kopf
import pytest
from azure.storage.blob import generate_container_sas

from mlk.operator import storage

KEY = "c2VjcmV0a2V5c2VjcmV0a2V5c2VjcmV0a2V5c2VjcmV0a2V5c2VjcmV0a2V5MTIzNA=="  # a dummy account key
ACCOUNT = "https://acct.blob.core.windows.net"


def sas_url(permission: str, protocol: str = "https") -> str:
    sas = generate_container_sas(
        "acct",
        "models",
        account_key=KEY,
        permission=permission,
        expiry=datetime.now(UTC) + timedelta(hours=1),
        protocol=protocol,
    )
    return f"{ACCOUNT}/models?{sas}"


def secret(expires: float | None) -> dict[str, object]:
    annotations = {storage.EXPIRES: f"{expires:.0f}"} if expires is not None else {}
    return {"metadata": {"name": "s", "annotations": annotations}}


def test_a_key_gives_pods_a_read_list_https_sas_for_a_day() -> None:
    before = time.time()
    config, expires = storage.read_only({"type": "blob", "account_url": ACCOUNT, "account_key": KEY})
    assert expires is not None and abs(expires - (before + 24 * 3600)) < 60
    sas = {k: v[0] for k, v in parse_qs(urlsplit(config["sas_url"]).query).items()}
    assert config["type"] == "blob" and set(config) == {"type", "sas_url"}  # never the key
    assert sas["sp"] == "rl" and sas["spr"] == "https"
    assert KEY not in config["sas_url"]


def test_a_read_only_sas_url_is_handed_on() -> None:
    url = sas_url("rl")
    assert storage.read_only({"type": "blob", "sas_url": url}) == ({"type": "blob", "sas_url": url}, None)


def test_a_sas_url_over_http_too_is_handed_on_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    url = sas_url("rl", protocol="https,http")
    assert storage.read_only({"type": "blob", "sas_url": url})[0]["sas_url"] == url
    assert "plain http" in caplog.text and "sig=" not in caplog.text


@pytest.mark.parametrize("permission", ["rwl", "racwdl", "rld"])
def test_a_writable_sas_url_is_refused(permission: str) -> None:
    url = sas_url(permission)
    with pytest.raises(ValueError, match="not only read and list") as caught:
        storage.read_only({"type": "blob", "sas_url": url})
    message = str(caught.value)
    assert f"sp={permission}" in message and "read and list permissions only" in message
    assert "account key or a connection string" in message and "sp=rl" in message
    assert url.split("sig=")[1] not in message


def test_renewal_semantics() -> None:
    now = 1_000_000.0
    assert storage.needs_renewal(None, now)  # no Secret yet
    assert not storage.needs_renewal(secret(None), now)  # a handed-on SAS: nothing to renew
    assert not storage.needs_renewal(secret(now + storage.SAS_HOURS * 3600), now)  # fresh
    assert not storage.needs_renewal(secret(now + storage.RENEW_BEFORE_S + 60), now)
    assert storage.needs_renewal(secret(now + storage.RENEW_BEFORE_S - 60), now)
    assert storage.needs_renewal(secret(now - 1), now)  # expired


def test_the_lifetime_is_short_but_outlasts_missed_renewals() -> None:
    assert storage.SAS_HOURS <= 24  # pods need it at start only: a leaked Secret is useful a day at most
    assert storage.SAS_HOURS * 3600 > storage.RENEW_BEFORE_S  # else every tick would renew
    assert storage.RENEW_BEFORE_S >= 10 * storage.RENEW_INTERVAL_S  # a dozen missed ticks still renew in time


def test_the_renewal_timer_ticks_as_the_lifetime_assumes() -> None:
    import mlk.operator.handlers  # noqa: F401  (registers the kopf handlers)

    # kopf keeps timers in its default registry (a private attribute, the only way to read them back)
    timers = {h.id: h for h in kopf.get_default_registry()._spawning.get_all_handlers()}
    assert timers["renew_storage"].interval == storage.RENEW_INTERVAL_S
