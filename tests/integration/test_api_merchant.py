"""Merchant endpoints over HTTP: device tokens, table QR codes, orders of a day, statistics."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest
import redis.asyncio as aioredis

from kitchen import keys
from kitchen.settings import Settings
from tests.integration.api_fixtures import *  # noqa: F403
from tests.integration.api_fixtures import Api, serving

TZ = ZoneInfo("Asia/Shanghai")


async def test_issue_list_and_revoke_a_device_token(api_db: Api) -> None:
    """A merchant issues a station token that works, lists it, revokes it; then it is 401."""
    res = await api_db.post("/api/r/demo/tokens", api_db.merchant,
                         {"role": "station", "station": "wok", "label": "炒锅平板"})
    assert res.status_code == 201
    issued = res.json()
    assert (await api_db.get("/api/r/demo/stations/wok/tickets", issued["token"])).status_code \
        == 200
    listed = (await api_db.get("/api/r/demo/tokens", api_db.merchant)).json()["tokens"]
    assert [(t["id"], t["role"], t["station_id"], t["label"]) for t in listed] == [
        (issued["id"], "station", "wok", "炒锅平板")]
    res = await api_db.call("DELETE", f"/api/r/demo/tokens/{issued['id']}", api_db.merchant)
    assert res.status_code == 200 and res.json()["revoked_at"] > 0
    assert await api_db.redis.sismember(keys.revoked("demo"), issued["id"])
    refused = await api_db.get("/api/r/demo/stations/wok/tickets", issued["token"])
    assert refused.status_code == 401
    assert (await api_db.get("/api/r/demo/tokens", api_db.merchant)).json()["tokens"] == []
    everything = (await api_db.get("/api/r/demo/tokens?all=1", api_db.merchant)).json()["tokens"]
    assert len(everything) == 1


async def test_issuing_twice_with_one_key_gives_one_token(api_db: Api) -> None:
    """Issuing a token is idempotent: the same key answers the same token."""
    body = {"role": "expo", "label": "pass"}
    first = await api_db.post("/api/r/demo/tokens", api_db.merchant, body, key="issue-1")
    second = await api_db.post("/api/r/demo/tokens", api_db.merchant, body, key="issue-1")
    assert first.json() == second.json()
    assert len((await api_db.get("/api/r/demo/tokens", api_db.merchant)).json()["tokens"]) == 1


@pytest.mark.parametrize(("body", "status"), [
    ({"role": "diner"}, 422),
    ({"role": "qr"}, 422),
    ({"role": "station"}, 422),
    ({"role": "station", "station": "expo"}, 422),
    ({"role": "station", "station": "nope"}, 422),
    ({"role": "expo", "station": "wok"}, 422),
    ({"role": "expo", "ttl_s": 10}, 422),
    ({"role": "expo", "label": "x" * 101}, 422),
])
async def test_bad_token_requests_are_refused(api_db: Api, body: dict[str, Any],
                                              status: int) -> None:
    """Tokens are only issued for kitchen stations, the pass and staff, within limits."""
    res = await api_db.post("/api/r/demo/tokens", api_db.merchant, body)
    assert res.status_code == status


async def test_revoking_an_unknown_token_is_404(api_db: Api) -> None:
    """Revoking a token id the restaurant never issued is 404."""
    res = await api_db.call("DELETE", "/api/r/demo/tokens/nope", api_db.merchant)
    assert res.status_code == 404


async def test_table_qr_code_is_stable_and_opens_sessions(api_db: Api) -> None:
    """A table's QR token is the same on every request and opens a diner session."""
    first = (await api_db.get("/api/r/demo/tables/A1/qr", api_db.merchant)).json()
    again = (await api_db.get("/api/r/demo/tables/A1/qr", api_db.merchant)).json()
    assert first["token"] == again["token"] and first["url"].endswith("/t/" + first["token"])
    await api_db.open_table("A1")
    res = await api_db.post("/api/diner/session", json={"qr": first["token"]})
    assert res.status_code == 200
    sheet = (await api_db.get("/api/r/demo/qr", api_db.merchant)).json()
    assert len(sheet["tables"]) == 20 and sheet["tables"][0]["token"] == first["token"]


async def test_replacing_a_qr_code_withdraws_the_old_one(api_db: Api) -> None:
    """A replaced QR code opens no session; the new one does."""
    old = (await api_db.get("/api/r/demo/tables/A1/qr", api_db.merchant)).json()
    res = await api_db.post("/api/r/demo/tables/A1/qr", api_db.merchant)
    assert res.status_code == 201
    new = res.json()
    assert new["withdrawn"] == [old["id"]] and new["token"] != old["token"]
    await api_db.open_table("A1")
    assert (await api_db.post("/api/diner/session", json={"qr": old["token"]})).status_code == 401
    assert (await api_db.post("/api/diner/session", json={"qr": new["token"]})).status_code == 200


async def test_a_replacement_retried_after_redis_missed_it_still_withdraws_the_old_code(
        api_db: Api) -> None:
    """The first re-print withdrew the printed code in PostgreSQL, but Redis never heard
    of it (the merchant got a 503 and tries again). The retry makes the printed code stop
    working too, not only the code of the first attempt."""
    old = (await api_db.get("/api/r/demo/tables/A1/qr", api_db.merchant)).json()
    assert (await api_db.post("/api/r/demo/tables/A1/qr", api_db.merchant)).status_code == 201
    await api_db.redis.srem(keys.revoked("demo"), old["id"])  # Redis missed the withdrawal
    await api_db.open_table("A1")
    retry = await api_db.post("/api/r/demo/tables/A1/qr", api_db.merchant)
    assert retry.status_code == 201, retry.text
    res = await api_db.post("/api/diner/session", json={"qr": old["token"]})
    assert res.status_code == 401, res.text
    res = await api_db.post("/api/diner/session", json={"qr": retry.json()["token"]})
    assert res.status_code == 200


async def test_qr_of_an_unknown_table_is_404(api_db: Api) -> None:
    """The QR code of a table the restaurant does not have is 404."""
    assert (await api_db.get("/api/r/demo/tables/Z1/qr", api_db.merchant)).status_code == 404


async def test_qr_sheet_svg(api_db: Api) -> None:
    """The printable sheet is an SVG page; a page past the last is 422."""
    pytest.importorskip("kds_web.qr")
    res = await api_db.get("/api/r/demo/qr-sheet.svg", api_db.merchant)
    assert res.status_code == 200 and res.headers["content-type"] == "image/svg+xml"
    assert res.text.startswith("<svg") and res.headers["x-pages"] == "2"
    assert (await api_db.get("/api/r/demo/qr-sheet.svg?page=3", api_db.merchant)).status_code == 422


async def _persisted_order(database_url: str, day: dt.date) -> None:
    """An order as the persist worker writes it, at noon of ``day``."""
    at = int(dt.datetime.combine(day, dt.time(12), TZ).timestamp() * 1000)
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "INSERT INTO orders (restaurant_id, id, table_no, session_id, no, created_at, "
            "total_fen, updated_at) VALUES ('demo', 'old1', 'B2', 's', 7, $1, 1200, $1)", at)
        await conn.execute(
            "INSERT INTO order_lines (restaurant_id, order_id, id, dish_id, name_zh, qty, "
            "unit_price_fen, station_id, status) VALUES ('demo', 'old1', 'L1', 'd29', "
            "'南通脆饼', 1, 1200, 'steam', 'served')")
    finally:
        await conn.close()


async def test_orders_of_a_past_day_come_from_postgres(api_db: Api) -> None:
    """Orders of a past day are read from PostgreSQL with their lines."""
    yesterday = dt.datetime.now(TZ).date() - dt.timedelta(days=1)
    assert api_db.settings.database_url is not None
    await _persisted_order(api_db.settings.database_url, yesterday)
    res = await api_db.get(f"/api/r/demo/orders?date={yesterday.isoformat()}", api_db.merchant)
    body = res.json()
    assert body["source"] == "postgres" and body["count"] == 1 and body["total_fen"] == 1200
    assert body["orders"][0]["lines"][0]["name_zh"] == "南通脆饼"


async def test_orders_of_today_include_live_orders(api_db: Api) -> None:
    """Today's orders merge the live ones from Redis with what PostgreSQL has."""
    diner = await api_db.diner("A1")
    order = await api_db.order(diner, "A1", [{"dish_id": "d01"}])
    body = (await api_db.get("/api/r/demo/orders", api_db.merchant)).json()
    assert body["source"] == "postgres+live"
    assert [o["id"] for o in body["orders"]] == [order["id"]]


@pytest.mark.parametrize("query", ["date=yesterday", "tz=Mars/Olympus", "date=2026-13-01"])
async def test_orders_of_a_day_refuse_bad_queries(api_db: Api, query: str) -> None:
    """A malformed date or an unknown time zone is 422."""
    assert (await api_db.get(f"/api/r/demo/orders?{query}", api_db.merchant)).status_code == 422


@pytest.mark.parametrize("zone_name", ["Asia/Tokyo", "Asia/Shanghai"])
async def test_statistics_days_are_the_restaurants_days(
        settings: Settings, redis: aioredis.Redis, zone_name: str) -> None:
    """"Today" and its hours are the restaurant's (KITCHEN_TZ), whatever the asking device's
    clock says: sales at 00:30 in Tokyo are today's in Tokyo, yesterday's in Shanghai."""
    tz = ZoneInfo("Asia/Tokyo")
    early = dt.datetime.combine(dt.datetime.now(tz).date(), dt.time(0), tz)
    if dt.datetime.now(tz) < early + dt.timedelta(hours=1):
        pytest.skip("the first hour of Tokyo's day: the sales would be in the future")
    assert settings.database_url is not None
    conn = await asyncpg.connect(settings.database_url)
    try:
        await conn.execute("INSERT INTO stats_hourly (restaurant_id, hour, revenue_fen, orders, "
                           "covers, dishes) VALUES ('demo', $1, 4200, 1, 2, 3)", early)
    finally:
        await conn.close()
    async with serving(replace(settings, tz=zone_name), redis) as api:
        today = (await api.get("/api/r/demo/stats/summary?last=1", api.merchant)).json()
        week = (await api.get("/api/r/demo/stats/summary?last=7", api.merchant)).json()
    assert today["tz"] == zone_name
    assert today["rows"][0]["revenue_fen"] == (4200 if zone_name == "Asia/Tokyo" else 0)
    assert week["rows"][0]["revenue_fen"] == 4200
    assert week["from"] == (dt.date.fromisoformat(week["to"]) - dt.timedelta(days=6)).isoformat()


async def test_statistics_run_the_stats_queries(api_db: Api) -> None:
    """A statistics report runs the stats worker's named query over the days asked."""
    assert api_db.settings.database_url is not None
    today = dt.datetime.now(TZ).date()
    hour = dt.datetime.combine(today, dt.time(12), TZ)
    conn = await asyncpg.connect(api_db.settings.database_url)
    try:
        await conn.execute("INSERT INTO stats_hourly (restaurant_id, hour, revenue_fen, orders, "
                           "covers, dishes) VALUES ('demo', $1, 10000, 2, 3, 5)", hour)
    finally:
        await conn.close()
    summary = (await api_db.get("/api/r/demo/stats/summary", api_db.merchant)).json()
    assert summary["rows"][0]["revenue_fen"] == 10000 and summary["rows"][0]["orders"] == 2
    hourly = (await api_db.get("/api/r/demo/stats/revenue_hourly", api_db.merchant)).json()
    assert hourly["rows"][0]["hour"].startswith(f"{today.isoformat()}T12:00")
    ranking = await api_db.get("/api/r/demo/stats/dish_ranking?limit=5", api_db.merchant)
    assert ranking.status_code == 200 and ranking.json()["rows"] == []
    assert (await api_db.get("/api/r/demo/stats/nope", api_db.merchant)).status_code == 404
    bad = await api_db.get("/api/r/demo/stats/summary?from=2026-01-02&to=2026-01-01",
                        api_db.merchant)
    assert bad.status_code == 422
