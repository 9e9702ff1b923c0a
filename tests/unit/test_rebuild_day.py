"""Where the live state's day begins, for the rebuild: its orders and its ticket counter."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from workers.rebuild import service_day_ms

TZ = "Asia/Shanghai"


def ms(*args: int) -> int:
    return int(datetime(*args, tzinfo=ZoneInfo(TZ)).timestamp() * 1000)


@pytest.mark.parametrize(("now", "begins"), [
    (ms(2026, 11, 26, 1, 30), ms(2026, 11, 25, 4, 0)),  # before the close: yesterday's close
    (ms(2026, 11, 26, 3, 59), ms(2026, 11, 25, 4, 0)),
    (ms(2026, 11, 26, 4, 0), ms(2026, 11, 26, 0, 0)),  # the close has run: midnight
    (ms(2026, 11, 26, 12, 0), ms(2026, 11, 26, 0, 0)),
    (ms(2026, 11, 26, 23, 59), ms(2026, 11, 26, 0, 0)),
])
def test_before_the_day_close_the_day_is_still_last_evenings(now: int, begins: int) -> None:
    """Until the day close runs, the live state still holds last evening's orders and their
    ticket numbers go on; a rebuild at 01:30 starts from the previous close, not midnight,
    so the next ticket is not #1 beside last evening's #1."""
    assert service_day_ms(now, TZ, "04:00") == begins


def test_a_close_at_midnight_makes_the_day_the_calendar_day() -> None:
    assert service_day_ms(ms(2026, 11, 26, 0, 30), TZ, "00:00") == ms(2026, 11, 26, 0, 0)
