"""printer: tickets reach real TCP listeners on loopback, once, and their state is recorded."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis

from kitchen import codec, demo, escpos, keys
from kitchen.embedded import free_port
from kitchen.events import TicketPrinted, now_ms
from tests.integration.test_worker_kit import (
    R,
    Service,
    start_service,
    start_worker,
    stop_worker,
    until,
    worker_env,
)
from workers.printbook import PrintBook
from workers.printer import records_of, request_reprint

pytestmark = pytest.mark.asyncio(loop_scope="session")


class Listener:
    """A fake network printer: every connection's bytes, until the sender closes, are one
    ticket."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.tickets: list[bytes] = []
        self._server: asyncio.Server | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> Listener:
        self._server = await asyncio.start_server(self._take, "127.0.0.1", self.port)
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _take(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.tickets.append(await reader.read())
        writer.close()

    def texts(self) -> list[str]:
        return [escpos.plain_text(t) for t in self.tickets]


async def _service(redis: aioredis.Redis, pool: asyncpg.Pool[Any], printers: dict[str, str]
                   ) -> Service:
    """The demo restaurant with network printers at the given stations, live and saved."""
    menu = demo.menu()
    stations = tuple(dataclasses.replace(s, printer=printers.get(s.id)) for s in menu.stations)
    return await start_service(redis, now_ms(), menu=dataclasses.replace(menu, stations=stations),
                               pool=pool)


@pytest.fixture
async def printer_env(database_url: str, redis_url: str) -> dict[str, str]:
    return worker_env(database_url, redis_url, WORKER_CONSUMER="p1", PRINTER_TIMEOUT_S="1",
                      PRINTER_RETRY_MAX_S="0.3")


@pytest.fixture
async def wok() -> AsyncIterator[Listener]:
    listener = await Listener(free_port()).start()
    yield listener
    await listener.stop()


def _printed(events: list[Any]) -> list[TicketPrinted]:
    return [e for e in events if isinstance(e, TicketPrinted)]


async def _log(redis: aioredis.Redis) -> list[Any]:
    return [codec.decode(f[keys.STREAM_FIELD]) for _, f in await redis.xrange(keys.log(R))]


async def test_each_station_printer_gets_its_dishes_with_table_quantities_and_notes(
        redis: aioredis.Redis, pool: asyncpg.Pool[Any], printer_env: dict[str, str],
        wok: Listener, tmp_path: Path) -> None:
    """A new order prints, in GB18030, the table, ticket number, each station's own dishes with
    quantities, notes and taste; the print state says printed and a TicketPrinted is logged."""
    cold = await Listener(free_port()).start()
    svc = await _service(redis, pool, {"wok": wok.address, "cold": cold.address})
    proc = start_worker(printer_env, "printer", log=tmp_path / "printer.log")
    try:
        await svc.open("A7", 4)
        order_id = await svc.order("A7", [("d18", 2), ("d20", 1), ("d04", 3)], note="少辣")
        await until(lambda: wok.tickets and cold.tickets, what="both tickets")
        await until(lambda: _count_printed(redis, 2), what="two TicketPrinted events")
    finally:
        stop_worker(proc)
        await cold.stop()
    [wok_text] = wok.texts()
    [cold_text] = cold.texts()
    assert "桌 A7" in wok_text and "炒锅" in wok_text
    order = (await svc.orders())[order_id]
    assert f"#{order.no}" in wok_text
    wok_lines = wok_text.splitlines()
    assert any(ln.startswith("宫保鸡丁") and ln.endswith("x2") for ln in wok_lines)
    assert any(ln.startswith("干煸四季豆") and ln.endswith("x1") for ln in wok_lines)
    assert "备注: 少辣" in wok_text and "口味: 麻辣" in wok_text
    assert "糖醋萝卜" not in wok_text  # a cold dish: the cold kitchen's printer has it
    assert any(ln.startswith("糖醋萝卜") and ln.endswith("x3") for ln in cold_text.splitlines())
    assert "宫保鸡丁".encode("gb18030") in wok.tickets[0]
    records = records_of(await PrintBook(redis).all(R), order_id)
    assert {s: r["state"] for s, r in records.items()} == {"wok": "printed", "cold": "printed"}
    printed = _printed(await _log(redis))
    assert {(e.station_id, e.ok, e.table_no) for e in printed} == {("wok", True, "A7"),
                                                                   ("cold", True, "A7")}


async def _count_printed(redis: aioredis.Redis, n: int) -> bool:
    return len(_printed(await _log(redis))) >= n


async def _failing(redis: aioredis.Redis, order_id: str) -> bool:
    record = records_of(await PrintBook(redis).all(R), order_id).get("wok")
    return bool(record and record["error"] and record["slips"][0]["attempts"] >= 2)


async def test_a_printer_down_then_up_gets_the_ticket_exactly_once(
        redis: aioredis.Redis, pool: asyncpg.Pool[Any], printer_env: dict[str, str],
        tmp_path: Path) -> None:
    """While the printer is down the ticket waits (its error shown); once the printer is up it
    prints exactly once, then the state says printed."""
    down = Listener(free_port())
    svc = await _service(redis, pool, {"wok": down.address})
    proc = start_worker(printer_env, "printer", log=tmp_path / "printer.log")
    try:
        await svc.open("B2", 2)
        order_id = await svc.order("B2", [("d17", 1)])
        await until(lambda: _failing(redis, order_id), what="failed attempts recorded")
        record = records_of(await PrintBook(redis).all(R), order_id)["wok"]
        assert record["state"] == "pending" and "Connect" in record["error"]
        await down.start()
        await until(lambda: down.tickets, what="the ticket")
        await until(lambda: _count_printed(redis, 1), what="TicketPrinted")
        await asyncio.sleep(1.0)  # more retries would have come by now
    finally:
        stop_worker(proc)
        await down.stop()
    assert len(down.tickets) == 1
    assert "清炒虾仁" in down.texts()[0]
    record = records_of(await PrintBook(redis).all(R), order_id)["wok"]
    assert record["state"] == "printed"
    assert [e.ok for e in _printed(await _log(redis))] == [True]


async def test_a_printer_that_stays_down_is_marked_failed(
        redis: aioredis.Redis, pool: asyncpg.Pool[Any], printer_env: dict[str, str],
        tmp_path: Path) -> None:
    """A ticket that cannot be printed before the give-up time is marked failed, with a
    TicketPrinted(ok=False) the kitchen screen shows."""
    svc = await _service(redis, pool, {"wok": f"127.0.0.1:{free_port()}"})
    env = {**printer_env, "PRINTER_GIVE_UP_S": "1"}
    proc = start_worker(env, "printer", log=tmp_path / "printer.log")
    try:
        await svc.open("B3", 2)
        order_id = await svc.order("B3", [("d17", 1)])
        await until(lambda: _count_printed(redis, 1), what="TicketPrinted")
    finally:
        stop_worker(proc)
    [event] = _printed(await _log(redis))
    assert (event.ok, event.order_id, event.station_id) == (False, order_id, "wok")
    assert event.error
    assert records_of(await PrintBook(redis).all(R), order_id)["wok"]["state"] == "failed"


async def test_add_ons_urges_and_reprints_print_their_own_slips(
        redis: aioredis.Redis, pool: asyncpg.Pool[Any], printer_env: dict[str, str],
        wok: Listener, tmp_path: Path) -> None:
    """加菜 and 催菜 print slips marked as such; a reprint request prints the ticket again
    marked 补打, once."""
    svc = await _service(redis, pool, {"wok": wok.address})
    proc = start_worker(printer_env, "printer", log=tmp_path / "printer.log")
    try:
        await svc.open("A3", 2)
        order_id = await svc.order("A3", [("d18", 1)])
        await until(lambda: len(wok.tickets) == 1, what="the ticket")
        await svc.add(order_id, [("d12", 2)])
        await until(lambda: len(wok.tickets) == 2, what="the add-on slip")
        await svc.urge(order_id, "L1")
        await until(lambda: len(wok.tickets) == 3, what="the urge slip")
        await request_reprint(redis, R, order_id, "wok")
        await until(lambda: len(wok.tickets) == 4, what="the reprint")
        await asyncio.sleep(0.5)
    finally:
        stop_worker(proc)
    first, added, urged, again = wok.texts()
    assert "【加菜】" in added and "[加]椒盐小黄鱼" in added and "宫保鸡丁" not in added
    assert "【催菜】" in urged and "[催]宫保鸡丁" in urged
    assert "【补打】" in again and "宫保鸡丁" in again and "椒盐小黄鱼" in again
    assert "【" not in first
    assert len(wok.tickets) == 4


async def test_a_slip_left_waiting_past_the_give_up_time_is_not_printed_late(
        redis: aioredis.Redis, pool: asyncpg.Pool[Any], printer_env: dict[str, str],
        tmp_path: Path) -> None:
    """The printer is down and the worker stops while a ticket waits; both come back after
    the give-up time. The stale ticket is not printed as if new: it is marked failed (the
    kitchen screen shows it), and the printer gets nothing."""
    printer = Listener(free_port())
    svc = await _service(redis, pool, {"wok": printer.address})
    env = {**printer_env, "PRINTER_GIVE_UP_S": "3"}
    proc = start_worker(env, "printer", log=tmp_path / "printer-1.log")
    try:
        await svc.open("B4", 2)
        order_id = await svc.order("B4", [("d17", 1)])
        await until(lambda: _failing(redis, order_id), what="a failed attempt")
    finally:
        stop_worker(proc)
    assert records_of(await PrintBook(redis).all(R), order_id)["wok"]["state"] == "pending"
    await asyncio.sleep(3.2)
    await printer.start()
    proc = start_worker(env, "printer", log=tmp_path / "printer-2.log")
    try:
        await until(lambda: _count_printed(redis, 1), what="TicketPrinted")
        await asyncio.sleep(0.5)
    finally:
        stop_worker(proc)
        await printer.stop()
    assert printer.tickets == []
    [event] = _printed(await _log(redis))
    assert (event.ok, event.order_id) == (False, order_id) and "too late" in event.error
