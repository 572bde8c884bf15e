from __future__ import annotations

from mlk.router.auth import authorized, mint_token
from mlk.router.config import EndpointConfig

KEYS = EndpointConfig("ep1", keys=("primary-key-0123456789", "secondary-key-0123456789"))
TOKENS = EndpointConfig("ep1", auth_mode="aml_token", token_secret="s" * 32)


def test_keys() -> None:
    assert authorized(KEYS, b"Bearer primary-key-0123456789")
    assert authorized(KEYS, b"bearer secondary-key-0123456789")
    for bad in (None, b"", b"Bearer", b"Bearer nope", b"Basic primary-key-0123456789", b"primary-key-0123456789"):
        assert not authorized(KEYS, bad)


def test_tokens_are_signed_scoped_and_expire() -> None:
    token, expiry = mint_token("ep1", "s" * 32, lifetime_s=60, now=1000)
    assert expiry == 1060
    assert authorized(TOKENS, b"Bearer " + token.encode(), now=1059)
    assert not authorized(TOKENS, b"Bearer " + token.encode(), now=1061)
    other, _ = mint_token("ep2", "s" * 32, now=1000)
    assert not authorized(TOKENS, b"Bearer " + other.encode(), now=1001)
    forged, _ = mint_token("ep1", "t" * 32, now=1000)
    assert not authorized(TOKENS, b"Bearer " + forged.encode(), now=1001)
    assert not authorized(TOKENS, b"Bearer " + token[:-2].encode() + b"xx", now=1001)
    assert not authorized(TOKENS, b"Bearer primary-key-0123456789")
