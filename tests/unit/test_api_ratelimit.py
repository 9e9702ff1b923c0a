"""The fixed window of the rate limiter (its arithmetic, without Redis)."""

from __future__ import annotations

import pytest

from api import ratelimit
from kitchen.errors import RateLimited


def test_fixed_window_counts_per_window() -> None:
    """The window allows ``limit`` hits and says how long until it ends."""
    window = ratelimit.Window(limit=2, seconds=60)
    assert window.bucket(119.0) == 1 and window.bucket(120.0) == 2
    window.check(2, 100.0, "orders")
    with pytest.raises(RateLimited) as caught:
        window.check(3, 100.0, "orders")
    assert caught.value.details["retry_after_ms"] == 20_000
