"""Snapshots for screens: station, expo, one table, the board — each with the log position
read before its data."""

from __future__ import annotations

import time

from kitchen import codec, keys
from tests.integration.api_fixtures import *  # noqa: F403
from tests.integration.api_fixtures import Api


async def _busy_kitchen(api: Api) -> tuple[str, dict[str, object], dict[str, object]]:
    diner = await api.diner("A1")
    first = await api.order(diner, "A1", [{"dish_id": "d18", "qty": 2}, {"dish_id": "d01"}])
    second = await api.order(diner, "A1", [{"dish_id": "d18"}, {"dish_id": "d32",
                                                                "course": 2}])
    return diner, first, second


async def test_station_snapshot_lists_open_tickets_and_all_day_counts(api: Api) -> None:
    """A station's snapshot has its open tickets (its dishes only) and all-day counts."""
    _, first, second = await _busy_kitchen(api)
    await api.post(f"/api/r/demo/orders/{second['id']}/rush", api.expo)
    snap = (await api.get("/api/r/demo/stations/wok/tickets", api.station("wok"))).json()
    assert [t["no"] for t in snap["tickets"]] == [2, 1]  # the rushed ticket first
    assert [ln["dish_id"] for ln in snap["tickets"][1]["lines"]] == ["d18"]
    assert snap["all_day"] == [
        {"dish_id": "d18", "name_zh": "宫保鸡丁", "name_en": "Kung pao chicken", "qty": 3,
         "held": 0},
        {"dish_id": "d32", "name_zh": "扬州炒饭", "name_en": "Yangzhou fried rice", "qty": 0,
         "held": 1}]
    assert snap["tickets"][0]["level"] == "ok" and snap["station"]["id"] == "wok"
    await api.post(f"/api/r/demo/orders/{first['id']}/bump", api.station("wok"))
    after = (await api.get("/api/r/demo/stations/wok/tickets", api.station("wok"))).json()
    assert [t["no"] for t in after["tickets"]] == [2]


async def test_expo_snapshot_shows_progress_and_ready_dishes(api: Api) -> None:
    """The pass sees every open ticket with per-station progress and the dishes ready."""
    _, first, _ = await _busy_kitchen(api)
    await api.post(f"/api/r/demo/orders/{first['id']}/lines/L2/ready", api.station("cold"))
    snap = (await api.get("/api/r/demo/expo", api.expo)).json()
    ticket = next(t for t in snap["tickets"] if t["no"] == 1)
    assert ticket["stations"] == {"wok": {"queued": 2}, "cold": {"ready": 1}}
    assert [(r["no"], r["line"]["id"]) for r in snap["ready"]] == [(1, "L2")]


async def test_table_snapshot_has_statuses_and_wait_estimates(api: Api) -> None:
    """A table's snapshot shows every dish's status and a wait estimate (0 when ready, none
    when held), and hides the session from diners."""
    diner, first, _ = await _busy_kitchen(api)
    await api.post(f"/api/r/demo/orders/{first['id']}/lines/L2/ready", api.station("cold"))
    snap = (await api.get("/api/r/demo/tables/A1/orders", diner)).json()
    assert "session" not in snap["table"]
    waits = [[(ln["status"], ln["wait_s"]) for ln in o["lines"]] for o in snap["orders"]]
    assert waits[0][1] == ("ready", 0)
    assert waits[1][1] == ("held", None)
    first_wok, second_wok = waits[0][0][1], waits[1][0][1]
    assert 0 < first_wok < second_wok  # the later wok dish waits behind the earlier one
    assert snap["total_fen"] == 3 * 4200 + 5800 + 2800


async def test_board_shows_tables_flags_totals_and_screens(api: Api) -> None:
    """The board lists every table with status, totals and flags, and the screens the hubs
    saw lately (stale entries left out)."""
    diner = await api.diner("A1")
    await api.order(diner, "A1", [{"dish_id": "d01"}])
    await api.post("/api/r/demo/tables/A1/waiter", diner)
    now = int(time.time() * 1000)
    await api.redis.hset(keys.presence("demo"), "tablet-old", codec.pack(
        {"role": "station", "station": "cold", "hub": "h0", "seen": now - 60_000}))
    await api.redis.hset(keys.presence("demo"), "tablet-1", codec.pack(
        {"role": "station", "station": "wok", "hub": "h1", "seen": now}))
    await api.put("/api/r/demo/dishes/d09/stock", api.merchant, {"remaining": 0})
    board = (await api.get("/api/r/demo/board", api.merchant)).json()
    assert len(board["tables"]) == 20
    a1 = next(t for t in board["tables"] if t["no"] == "A1")
    assert a1["status"] == "ordering" and a1["total_fen"] == 5800
    assert a1["flags"] == ["waiter_called"] and a1["waiting_too_long"] is True
    assert board["totals"]["seated"] == 1 and board["totals"]["guests"] == 2
    assert board["sold_out"] == ["d09"]
    assert [s["screen"] for s in board["screens"]] == ["tablet-1"]


async def test_snapshot_position_is_read_before_the_data(api: Api) -> None:
    """The snapshot's pos is the last event it includes: every later event is after it."""
    diner = await api.diner("A1")
    await api.order(diner, "A1", [{"dish_id": "d18"}])
    snap = (await api.get("/api/r/demo/stations/wok/tickets", api.expo)).json()
    last = await api.redis.xrevrange(keys.log("demo"), count=1)
    assert snap["pos"] == last[0][0].decode() and snap["epoch"]
    res = await api.order(diner, "A1", [{"dish_id": "d20"}])
    assert res["no"] == 2
    newer = await api.redis.xrange(keys.log("demo"), min="(" + snap["pos"])
    assert [codec.peek(f[keys.STREAM_FIELD]).type for _id, f in newer] == ["order.placed"]


async def test_answers_carry_the_position_of_their_last_event(api: Api) -> None:
    """A command's answer carries pos, the log position of the last event it appended."""
    diner = await api.diner("A1")
    res = await api.post("/api/r/demo/tables/A1/orders", diner, {"items": [{"dish_id": "d01"}]})
    last = await api.redis.xrevrange(keys.log("demo"), count=1)
    assert res.json()["pos"] == last[0][0].decode()


async def test_unknown_station_snapshot_is_404(api: Api) -> None:
    """A snapshot of a station the menu does not have is 404."""
    assert (await api.get("/api/r/demo/stations/nope/tickets", api.expo)).status_code == 404
