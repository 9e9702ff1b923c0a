"""Signed tokens: scope, expiry, tampering, key rotation."""

from __future__ import annotations

import pytest

from kitchen import tokens
from kitchen.errors import AuthError, ForbiddenError

OLD, NEW = "o" * 40, "n" * 40


def test_issued_token_verifies_with_its_scope() -> None:
    """A token carries its role, restaurant, station and expiry."""
    tok, claims = tokens.issue([NEW], "station", ["r1"], ttl=60, station="wok", now=1000)
    got = tokens.verify(tok, [NEW], now=1010)
    assert got == claims and got.station == "wok" and got.exp == 1060


def test_expired_token_is_refused() -> None:
    """A token past its expiry is refused."""
    tok, _ = tokens.issue([NEW], "expo", ["r1"], ttl=60, now=1000)
    with pytest.raises(AuthError, match="expired"):
        tokens.verify(tok, [NEW], now=1061)


def test_a_token_checked_before_is_still_refused_once_it_expires() -> None:
    """A signature is checked once per token, but expiry on every use."""
    tok, _ = tokens.issue([NEW], "diner", ["r1"], ttl=60, table="A1", now=1000)
    for now in (1001, 1030, 1060):
        assert tokens.verify(tok, [NEW], now=now).table == "A1"
    with pytest.raises(AuthError, match="expired"):
        tokens.verify(tok, [NEW], now=1061)


def test_qr_tokens_never_expire() -> None:
    """A printed QR code's token (ttl 0) stays valid."""
    tok, _ = tokens.issue([NEW], "qr", ["r1"], ttl=0, table="A1", now=0)
    assert tokens.verify(tok, [NEW], now=10**10).table == "A1"


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),
    lambda t: "x" + t,
    lambda t: t.replace(".", ""),
    lambda t: "",
    lambda t: "a" * 5000,
    lambda t: "e30." + t.split(".")[1],
])
def test_tampered_tokens_are_refused(mangle: object) -> None:
    """Any change to a token makes it invalid."""
    tok, _ = tokens.issue([NEW], "merchant", ["r1"], ttl=60)
    with pytest.raises(AuthError):
        tokens.verify(mangle(tok), [NEW])  # type: ignore[operator]


def test_a_token_signed_by_another_secret_is_refused() -> None:
    """A token forged with a key we do not hold is refused."""
    tok, _ = tokens.issue(["f" * 40], "merchant", ["r1"], ttl=60)
    with pytest.raises(AuthError):
        tokens.verify(tok, [NEW, OLD])


def test_rotation_keeps_old_tokens_until_the_old_key_is_dropped() -> None:
    """After rotation old tokens verify while the old key is listed, then stop."""
    tok, _ = tokens.issue([OLD], "expo", ["r1"], ttl=60)
    assert tokens.verify(tok, [NEW, OLD]).role == "expo"
    with pytest.raises(AuthError):
        tokens.verify(tok, [NEW])


def test_scope_checks() -> None:
    """A token acts only for its restaurants and roles."""
    _, claims = tokens.issue([NEW], "station", ["r1"], ttl=60, station="wok")
    claims.require_restaurant("r1")
    with pytest.raises(ForbiddenError):
        claims.require_restaurant("r2")
    with pytest.raises(ForbiddenError):
        claims.require_role("merchant")
