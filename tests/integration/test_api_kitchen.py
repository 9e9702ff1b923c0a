"""Kitchen commands over HTTP: every dish move (legal and illegal), ticket actions, rush,
return decisions, stock (估清), the recall list and reprints."""

from __future__ import annotations

from typing import Any

import pytest

from kitchen import dishflow, keys
from kitchen.model import DishStatus
from tests.integration.api_fixtures import *  # noqa: F403
from tests.integration.api_fixtures import Api

# how to bring a fresh line (course 2 → held, else queued) into each status
PATH_TO: dict[str, tuple[int, list[str]]] = {
    "held": (2, []),
    "queued": (1, []),
    "cooking": (1, ["start"]),
    "ready": (1, ["ready"]),
    "served": (1, ["ready", "serve"]),
    "returned": (1, ["return"]),
    "voided": (1, ["void"]),
}
CASES = [(action, status) for action in dishflow.ACTIONS for status in PATH_TO]


async def _line_in(api: Api, status: str) -> tuple[str, str]:
    """An order at A1 whose line L1 (a wok dish) is in ``status``; (diner token, order id)."""
    course, steps = PATH_TO[status]
    diner = await api.diner("A1")
    order = await api.order(diner, "A1", [{"dish_id": "d18", "course": course}])
    for step in steps:
        who = diner if step == "return" else api.station("wok")
        res = await api.post(f"/api/r/demo/orders/{order['id']}/lines/L1/{step}", who)
        assert res.status_code == 200, res.text
    return diner, order["id"]


@pytest.mark.parametrize(("action", "status"), CASES)
async def test_every_dish_move_from_every_status(api: Api, action: str, status: str) -> None:
    """A dish move follows the state machine: legal moves answer 200 with the new status and
    emit dish.status_changed; illegal ones answer 409 illegal_transition and change nothing."""
    _, order_id = await _line_in(api, status)
    before = await api.live_order(order_id)
    log_before = await api.log_len()
    res = await api.post(f"/api/r/demo/orders/{order_id}/lines/L1/{action}", api.station("wok"))
    target = dishflow.MOVES[action].get(DishStatus(status))
    if target is None:
        assert res.status_code == 409
        err = res.json()["error"]
        assert err["code"] == "illegal_transition" and err["details"]["status"] == status
        assert await api.live_order(order_id) == before
        assert await api.log_len() == log_before
    else:
        assert res.status_code == 200, res.text
        body = res.json()
        assert body["order"]["lines"][0]["status"] == str(target)
        assert body["changes"] == [{"line_id": "L1", "station_id": "wok", "prev": status,
                                    "status": str(target)}]
        assert (await api.events())[-1] == "dish.status_changed"


async def test_station_cannot_move_another_stations_dish(api: Api) -> None:
    """A station token acting on another station's dish gets 403 and nothing changes."""
    _, order_id = await _line_in(api, "queued")
    res = await api.post(f"/api/r/demo/orders/{order_id}/lines/L1/start", api.station("cold"))
    assert res.status_code == 403 and res.json()["error"]["code"] == "forbidden"
    assert (await api.live_order(order_id))["lines"][0]["status"] == "queued"


async def test_diner_cannot_use_kitchen_actions(api: Api) -> None:
    """A diner token is refused (403) on kitchen endpoints."""
    diner, order_id = await _line_in(api, "queued")
    res = await api.post(f"/api/r/demo/orders/{order_id}/lines/L1/start", diner)
    assert res.status_code == 403


async def _mixed_order(api: Api) -> str:
    diner = await api.diner("A1")
    order = await api.order(diner, "A1", [
        {"dish_id": "d18"}, {"dish_id": "d20"}, {"dish_id": "d01"}, {"dish_id": "d32",
                                                                     "course": 2}])
    order_id: str = order["id"]
    return order_id


async def test_station_bump_readies_only_its_own_dishes(api: Api) -> None:
    """A wok station's bump readies the wok dishes that can; the cold dish stays queued."""
    order_id = await _mixed_order(api)
    res = await api.post(f"/api/r/demo/orders/{order_id}/bump", api.station("wok"))
    assert res.status_code == 200
    statuses = [ln["status"] for ln in res.json()["order"]["lines"]]
    assert statuses == ["ready", "ready", "queued", "held"]
    again = await api.post(f"/api/r/demo/orders/{order_id}/bump", api.station("wok"))
    assert again.status_code == 409 and again.json()["error"]["code"] == "illegal_transition"


async def test_expo_ticket_actions_cover_every_station(api: Api) -> None:
    """Expo bumps and serves the whole ticket; fire sends the held course; void voids all."""
    order_id = await _mixed_order(api)
    base = f"/api/r/demo/orders/{order_id}"
    res = await api.post(f"{base}/bump", api.expo)
    assert [ln["status"] for ln in res.json()["order"]["lines"]] == ["ready"] * 3 + ["held"]
    res = await api.post(f"{base}/serve", api.expo)
    assert [c["status"] for c in res.json()["changes"]] == ["served"] * 3
    res = await api.post(f"{base}/fire", api.expo, {"course": 2})
    assert res.json()["order"]["lines"][3]["status"] == "queued"
    res = await api.post(f"{base}/recall", api.expo, {"station": "cold"})
    assert [c["line_id"] for c in res.json()["changes"]] == ["L3"]
    res = await api.post(f"{base}/void", api.expo)
    assert {c["line_id"] for c in res.json()["changes"]} == {"L3", "L4"}


async def test_hold_and_start_whole_ticket(api: Api) -> None:
    """Holding a ticket holds its queued dishes; starting starts the queued ones."""
    order_id = await _mixed_order(api)
    base = f"/api/r/demo/orders/{order_id}"
    res = await api.post(f"{base}/hold", api.station("cold"))
    assert [c["line_id"] for c in res.json()["changes"]] == ["L3"]
    res = await api.post(f"{base}/start", api.station("wok"))
    assert [c["status"] for c in res.json()["changes"]] == ["cooking", "cooking"]


@pytest.mark.parametrize(("who", "body", "status"), [
    ("wok", {"station": "cold"}, 403),
    ("expo", {"station": "nope"}, 404),
    ("expo", {"course": 0}, 422),
    ("expo", {"station": 5}, 422),
])
async def test_ticket_action_refusals(api: Api, who: str, body: dict[str, Any],
                                      status: int) -> None:
    """A station naming another station, an unknown station or a bad course is refused."""
    order_id = await _mixed_order(api)
    token = api.expo if who == "expo" else api.station(who)
    res = await api.post(f"/api/r/demo/orders/{order_id}/bump", token, body)
    assert res.status_code == status


async def test_rush_a_ticket(api: Api) -> None:
    """Rushing marks the ticket (order.rushed); rushing it again is 409."""
    order_id = await _mixed_order(api)
    res = await api.post(f"/api/r/demo/orders/{order_id}/rush", api.expo)
    assert res.status_code == 200 and res.json()["order"]["rush"] is True
    assert (await api.events())[-1] == "order.rushed"
    again = await api.post(f"/api/r/demo/orders/{order_id}/rush", api.expo)
    assert again.status_code == 409
    off = await api.post(f"/api/r/demo/orders/{order_id}/rush", api.expo, {"rush": False})
    assert off.json()["order"]["rush"] is False


async def _return_requested(api: Api) -> str:
    diner, order_id = await _line_in(api, "cooking")
    res = await api.post(f"/api/r/demo/orders/{order_id}/lines/L1/return", diner)
    assert res.json()["granted"] is False
    return order_id


async def test_approve_a_return(api: Api) -> None:
    """Approving a pending return returns the dish (dish.returned, approved_by the station)."""
    order_id = await _return_requested(api)
    res = await api.post(f"/api/r/demo/orders/{order_id}/lines/L1/return/approve",
                         api.station("wok"))
    assert res.status_code == 200 and res.json()["order"]["lines"][0]["status"] == "returned"
    assert (await api.events())[-1] == "dish.returned"


async def test_refuse_a_return(api: Api) -> None:
    """Refusing a pending return keeps the dish cooking (dish.return_refused)."""
    order_id = await _return_requested(api)
    res = await api.post(f"/api/r/demo/orders/{order_id}/lines/L1/return/refuse", api.expo)
    line = res.json()["order"]["lines"][0]
    assert line["status"] == "cooking" and line["return_requested"] is False
    assert (await api.events())[-1] == "dish.return_refused"


@pytest.mark.parametrize("decision", ["approve", "refuse"])
async def test_return_decision_without_a_request_is_refused(api: Api, decision: str) -> None:
    """Approving or refusing when no return is pending is 409 illegal_transition."""
    _, order_id = await _line_in(api, "cooking")
    res = await api.post(f"/api/r/demo/orders/{order_id}/lines/L1/return/{decision}", api.expo)
    assert res.status_code == 409 and res.json()["error"]["code"] == "illegal_transition"


async def test_mark_sold_out_and_restock(api: Api) -> None:
    """估清 sets the count to 0 (dish.sold_out); restock raises it (dish.restocked)."""
    res = await api.post("/api/r/demo/dishes/d18/sold-out", api.station("wok"))
    assert res.status_code == 200 and res.json()["sold_out"] is True
    assert (await api.events())[-2:] == ["stock.changed", "dish.sold_out"]
    again = await api.post("/api/r/demo/dishes/d18/sold-out", api.station("wok"))
    assert again.status_code == 409
    diner = await api.diner("A1")
    refused = await api.post("/api/r/demo/tables/A1/orders", diner,
                             {"items": [{"dish_id": "d18"}]})
    assert refused.json()["error"]["code"] == "sold_out"
    res = await api.put("/api/r/demo/dishes/d18/stock", api.station("wok"), {"remaining": 5})
    assert res.json()["remaining"] == 5
    assert (await api.events())[-2:] == ["stock.changed", "dish.restocked"]
    res = await api.put("/api/r/demo/dishes/d18/stock", api.expo, {"remaining": None})
    assert res.status_code == 200
    assert await api.redis.hget(keys.stock("demo"), "d18") is None
    stock = (await api.get("/api/r/demo/stock", api.expo)).json()
    assert "d18" not in stock["stock"]


@pytest.mark.parametrize(("path", "who", "body", "status"), [
    ("/api/r/demo/dishes/d01/sold-out", "wok", None, 403),
    ("/api/r/demo/dishes/nope/sold-out", "expo", None, 404),
    ("/api/r/demo/dishes/d01/stock", "expo", {"remaining": -1}, 422),
    ("/api/r/demo/dishes/d01/stock", "expo", {"remaining": "5"}, 422),
    ("/api/r/demo/dishes/d01/stock", "expo", {}, 422),
])
async def test_stock_refusals(api: Api, path: str, who: str, body: Any, status: int) -> None:
    """Stock of another station's dish, an unknown dish, or a bad count is refused."""
    token = api.expo if who == "expo" else api.station(who)
    method = "POST" if path.endswith("sold-out") else "PUT"
    res = await api.call(method, path, token, body)
    assert res.status_code == status
    assert await api.log_len() == 0


async def test_recall_list_has_every_ticket_of_the_day(api: Api) -> None:
    """The recall list shows done and open tickets; a station sees only its dishes."""
    diner = await api.diner("A1")
    first = await api.order(diner, "A1", [{"dish_id": "d18"}])
    await api.order(diner, "A1", [{"dish_id": "d01"}, {"dish_id": "d20"}])
    await api.post(f"/api/r/demo/orders/{first['id']}/bump", api.expo)
    await api.post(f"/api/r/demo/orders/{first['id']}/serve", api.expo)
    every = (await api.get("/api/r/demo/tickets", api.expo)).json()
    assert [t["no"] for t in every["tickets"]] == [2, 1] and every["pos"]
    done = (await api.get("/api/r/demo/tickets?state=done", api.expo)).json()
    assert [t["no"] for t in done["tickets"]] == [1]
    cold = (await api.get("/api/r/demo/tickets", api.station("cold"))).json()
    assert [(t["no"], len(t["lines"])) for t in cold["tickets"]] == [(2, 1)]
    bad = await api.get("/api/r/demo/tickets?state=soon", api.expo)
    assert bad.status_code == 422


async def test_reprint_request_reaches_the_printer_stream(api: Api) -> None:
    """A reprint request is appended once to k:{R}:reprint, even when sent twice."""
    diner = await api.diner("A1")
    order = await api.order(diner, "A1", [{"dish_id": "d18"}])
    path, wok = f"/api/r/demo/orders/{order['id']}/reprint", api.station("wok")
    first = await api.post(path, wok, key="reprint-1")
    second = await api.post(path, wok, key="reprint-1")
    assert first.status_code == second.status_code == 202
    assert first.json() == second.json()
    assert second.headers["idempotent-replayed"] == "true"
    entries = await api.redis.xrange(keys.reprint("demo"))
    assert len(entries) == 1
    assert entries[0][1][b"order_id"] == order["id"].encode()
    assert entries[0][1][b"station_id"] == b"wok"
    other = await api.post(path, api.station("cold"))
    assert other.status_code == 403
    gone = await api.post("/api/r/demo/orders/nope/reprint", api.expo)
    assert gone.status_code == 404
    at_pass = await api.post(path, api.expo, {"station": "expo"})  # the pass's own printer
    assert at_pass.status_code == 202, at_pass.text
    assert (await api.redis.xrange(keys.reprint("demo")))[-1][1][b"station_id"] == b"expo"


RETURN_OUTCOME = {"held": "granted", "queued": "granted", "cooking": "requested",
                  "ready": "requested", "served": None, "returned": None, "voided": None}


@pytest.mark.parametrize("status", list(PATH_TO))
async def test_return_from_every_status(api: Api, status: str) -> None:
    """退菜 is granted at once from held or queued, waits for approval from cooking or ready,
    and is refused (409, nothing changes) from served, returned or voided."""
    diner, order_id = await _line_in(api, status)
    before = await api.live_order(order_id)
    res = await api.post(f"/api/r/demo/orders/{order_id}/lines/L1/return", diner)
    outcome = RETURN_OUTCOME[status]
    if outcome is None:
        assert res.status_code == 409 and res.json()["error"]["code"] == "illegal_transition"
        assert await api.live_order(order_id) == before
    else:
        assert res.status_code == 200 and res.json()["granted"] is (outcome == "granted")
        line = res.json()["order"]["lines"][0]
        assert line["status"] == ("returned" if outcome == "granted" else status)


@pytest.mark.parametrize("status", list(PATH_TO))
async def test_urge_from_every_status(api: Api, status: str) -> None:
    """催菜 works for dishes still to cook (held, queued, cooking) and is refused otherwise."""
    diner, order_id = await _line_in(api, status)
    res = await api.post(f"/api/r/demo/orders/{order_id}/lines/L1/urge", diner)
    if status in ("held", "queued", "cooking"):
        assert res.status_code == 200 and (await api.events())[-1] == "dish.urged"
    else:
        assert res.status_code == 409 and res.json()["error"]["code"] == "illegal_transition"
