"""Token scopes: a diner at its table and session, a station at its station."""

from __future__ import annotations

import pytest

from api import auth
from api.errors import SessionEnded
from kitchen.errors import ForbiddenError
from kitchen.model import TableState, TableStatus
from kitchen.tokens import Claims


def test_token_scopes() -> None:
    """Diners stay at their table and session; stations at their station."""
    diner = Claims("diner", ("demo",), table="A1", session="s1")
    auth.check_table(diner, "A1")
    with pytest.raises(ForbiddenError):
        auth.check_table(diner, "A2")
    auth.check_session(diner, TableState("A1", TableStatus.OPEN, session="s1"))
    for table in (None, TableState("A1"), TableState("A1", TableStatus.OPEN, session="s2")):
        with pytest.raises(SessionEnded):
            auth.check_session(diner, table)
    wok = Claims("station", ("demo",), station="wok")
    assert auth.station_scope(wok) == "wok"
    with pytest.raises(ForbiddenError):
        auth.check_station(wok, "cold")
    assert auth.station_scope(Claims("expo", ("demo",))) is None
