"""Idempotency keys and request fingerprints."""

from __future__ import annotations

import pytest

from api import idempotency
from api.errors import IdempotencyKeyError, IdempotencyKeyInvalid


def test_idempotency_keys_and_fingerprints() -> None:
    """Keys are checked; fingerprints differ for different requests, not for key order."""
    assert idempotency.parse_key("a-b_c:d.9") == "a-b_c:d.9"
    with pytest.raises(IdempotencyKeyError):
        idempotency.parse_key(None)
    for bad in ("a b", "x" * 101, "{x}", "é"):
        with pytest.raises(IdempotencyKeyInvalid):
            idempotency.parse_key(bad)
    fp = idempotency.fingerprint
    assert fp("POST", "/p", {"a": 1}, {"x": 1, "y": 2}) == fp("POST", "/p", {"a": 1},
                                                             {"y": 2, "x": 1})
    assert fp("POST", "/p", {"a": 1}, {"x": 1}) != fp("POST", "/p", {"a": 2}, {"x": 1})
