"""Which screens the hub wakes: a ticket reaches every station with a dish of it, a move of
one station's dishes only that station (and the pass and the table)."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from kitchen.events import DishStatusChanged, DishUrged, OrderPlaced, StatusChange
from kitchen.model import DishStatus, Line, Order
from tests.integration.hub_support import (
    R,
    client,
    hub_settings,
    open_restaurant,
    publish,
    running_hub,
    token,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _order(wok: DishStatus = DishStatus.QUEUED) -> Order:
    lines = (Line("L1", "d1", "宫保鸡丁", "Kung Pao", 1, 3800, "wok", status=wok),
             Line("L2", "d2", "拍黄瓜", "Cucumber", 1, 1200, "cold"))
    return Order("o1", R, "T1", "s1", 1, 0, lines)


async def test_the_wok_starting_its_dish_does_not_wake_the_cold_station(
        redis: aioredis.Redis, redis_url: str) -> None:
    """Both stations get the ticket; the wok's start and an urge of the wok dish reach the
    wok's screen, the pass and the table's phone, and the cold station's screen gets nothing
    until something of its own moves."""
    await open_restaurant(redis)
    async with running_hub(hub_settings(redis_url)) as (_, url):
        async with client(url, token("station", station="wok")) as wok, \
                client(url, token("station", station="cold")) as cold, \
                client(url, token("expo")) as expo, \
                client(url, token("diner", table="T1")) as phone:
            await wok.subscribe([f"station:{R}:wok"])
            await cold.subscribe([f"station:{R}:cold"])
            await expo.subscribe([f"expo:{R}"])
            await phone.subscribe([f"table:{R}:T1"])
            await publish(redis, OrderPlaced(R, _order()))
            for screen in (wok, cold, expo, phone):
                assert [e["type"] for e in await screen.events(1)] == ["order.placed"]

            started = _order(DishStatus.COOKING)
            await publish(
                redis,
                DishStatusChanged(R, order=started, action="start",
                                  changes=(StatusChange("L1", "wok", "queued", "cooking"),)),
                DishUrged(R, order=started, line_id="L1"))
            for screen in (wok, expo, phone):
                got = await screen.events(2)
                assert [e["type"] for e in got] == ["dish.status_changed", "dish.urged"]
            assert await cold.quiet() == []

            urged = await publish(redis, DishUrged(R, order=started, line_id="L2"))
            assert [e["pos"] for e in await cold.events(1)] == urged
            assert await wok.quiet() == []
