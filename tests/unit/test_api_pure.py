"""Pure parts of the API: wait estimates, diner views, menu edits, rate windows, idempotency
keys, body checks and token scopes — no servers."""

from __future__ import annotations

import ast
from dataclasses import replace
from pathlib import Path

import pytest

from api import auth, body, estimates, idempotency, menu_edit, ratelimit, views
from api.errors import IdempotencyKeyError, IdempotencyKeyInvalid, SessionEnded
from kitchen import demo, ordering
from kitchen.errors import ForbiddenError, InvalidInput, NotFound, RateLimited
from kitchen.model import DishStatus, Order, TableState, TableStatus
from kitchen.tokens import Claims

NOW = 1_800_000_000_000
MENU = demo.menu(now_ms=NOW)
PURE = ["estimates", "views", "menu_edit", "ratelimit", "limits", "schemas"]
IO = {"redis", "asyncpg", "starlette", "websockets", "uvicorn", "httpx", "socket", "asyncio"}


@pytest.mark.parametrize("module", PURE)
def test_pure_api_modules_import_no_io(module: str) -> None:
    """Estimates, views, menu edits and limits import no I/O library (rate limiting only its
    Redis call)."""
    tree = ast.parse((Path(__file__).resolve().parents[2] / "api" / f"{module}.py").read_text())
    names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import)
             for a in n.names}
    names |= {n.module.split(".")[0] for n in ast.walk(tree)
              if isinstance(n, ast.ImportFrom) and n.module}
    allowed = {"redis"} if module == "ratelimit" else set()
    assert not (names & IO) - allowed


def _order(order_id: str, items: list[dict[str, object]], at: int, no: int = 1) -> Order:
    return ordering.new_order(MENU, order_id, "A1", "s", no, ordering.parse_items(items), at)


def test_wait_grows_with_the_queue_ahead() -> None:
    """A queued dish waits for the dishes queued before it at its station."""
    first = _order("o1", [{"dish_id": "d18", "qty": 1}], NOW - 60_000)
    second = _order("o2", [{"dish_id": "d18", "qty": 1}], NOW, 2)
    queues = estimates.queues([first, second])
    w1 = estimates.wait_s(first, first.lines[0], queues, NOW)
    w2 = estimates.wait_s(second, second.lines[0], queues, NOW)
    assert w1 == 420 - 60 and w2 == 420 // estimates.PARALLEL + 420


def test_wait_of_ready_held_and_late_dishes() -> None:
    """Ready dishes wait 0, held ones have no estimate, late ones never drop below the floor."""
    order = _order("o1", [{"dish_id": "d18"}, {"dish_id": "d20", "course": 2}],
                   NOW - 3_600_000)
    queues = estimates.queues([order])
    assert estimates.wait_s(order, order.lines[0], queues, NOW) == estimates.FLOOR_S
    assert estimates.wait_s(order, order.lines[1], queues, NOW) is None
    ready = replace(order.lines[0], status=DishStatus.READY)
    assert estimates.wait_s(order, ready, queues, NOW) == 0


def test_menu_view_marks_sold_out_dishes_and_set_meals() -> None:
    """A dish at 0 is sold out, and so is every set meal that contains it."""
    view = views.menu_view(MENU, {"d18": 0}, NOW)
    dishes = {d["id"]: d for d in view["dishes"]}
    assert dishes["d18"]["sold_out"] and dishes["d01"]["remaining"] is None
    meals = {s["id"]: s for s in view["set_meals"]}
    assert meals["s2"]["sold_out"] and meals["s2"]["sold_out_dishes"] == ["d18"]
    assert not meals["s1"]["sold_out"]


def test_menu_view_prices_offers_only_while_active() -> None:
    """An offer lowers the price only inside its window."""
    later = NOW + 40 * 86_400_000
    now = {d["id"]: d for d in views.menu_view(MENU, {}, NOW)["dishes"]}["d16"]
    after = {d["id"]: d for d in views.menu_view(MENU, {}, later)["dishes"]}["d16"]
    assert (now["price_now_fen"], now["offer"]["id"]) == (9900, "o1")
    assert (after["price_now_fen"], after["offer"]) == (12800, None)


def test_bill_counts_returned_dishes_as_free() -> None:
    """The bill total leaves out returned and voided dishes and shows what they were worth."""
    order = _order("o1", [{"dish_id": "d01", "qty": 2}, {"dish_id": "d02"}], NOW)
    returned = replace(order, lines=(order.lines[0], replace(order.lines[1],
                                                             status=DishStatus.RETURNED)))
    bill = views.bill_view(TableState("A1", TableStatus.ORDERING), [returned])
    assert (bill["total_fen"], bill["returned_fen"], bill["count"]) == (11600, 3800, 2)


def test_menu_edits_bump_the_version_and_keep_integrity() -> None:
    """Edits raise the version; deleting what is in use or naming what is missing fails."""
    new, dish = menu_edit.patch_dish(MENU, "d40", {"price_fen": 700})
    assert new.version == MENU.version + 1 and dish.price_fen == 700
    assert new.dish("d40") == dish and new.dish("d39") == MENU.dish("d39")
    with pytest.raises(menu_edit.InUse):
        menu_edit.delete_station(MENU, "wok")
    with pytest.raises(menu_edit.InUse):
        menu_edit.delete_dish(MENU, "d18")  # in set meal s2
    with pytest.raises(NotFound):
        menu_edit.delete_offer(MENU, "nope")
    with pytest.raises(InvalidInput):
        menu_edit.put_offer(MENU, "o2", {"dish_id": "d01", "price_fen": 1, "starts_at": 2,
                                          "ends_at": 1})
    dropped = menu_edit.delete_dish(MENU, "d16")
    assert dropped.dish("d16") is None and dropped.offers == ()


def test_fixed_window_counts_per_window() -> None:
    """The window allows ``limit`` hits and says how long until it ends."""
    window = ratelimit.Window(limit=2, seconds=60)
    assert window.bucket(119.0) == 1 and window.bucket(120.0) == 2
    window.check(2, 100.0, "orders")
    with pytest.raises(RateLimited) as caught:
        window.check(3, 100.0, "orders")
    assert caught.value.details["retry_after_ms"] == 20_000


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


def test_body_checks_name_the_field() -> None:
    """Body checks refuse wrong types and ranges, naming the field; defaults pass through."""
    assert body.integer({}, "n", lo=1, hi=5, default=0) == 0
    assert body.optional_int({"n": None}, "n", lo=0, hi=5) is None
    for bad in ({"n": True}, {"n": "3"}, {"n": 9}, {}):
        with pytest.raises(InvalidInput) as caught:
            body.integer(bad, "n", lo=1, hi=5)
        assert caught.value.details["field"] == "n"
    with pytest.raises(InvalidInput):
        body.ident({"id": "a/b"}, "id")
    assert body.texts({"t": ["a"]}, "t", max_len=3) == ("a",)


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
