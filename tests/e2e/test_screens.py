"""The screens in a real Chromium against the real api, hub and workers processes."""

from __future__ import annotations

import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Dialog, Page

from tests.e2e.conftest import PHONE, TABLET, Screens, api_call, token_of
from tests.e2e.stack import Stack

pytestmark = pytest.mark.e2e

LIVE = '.conn[data-conn="live"]'
XSS = "<img src=x onerror=alert(1)>少辣"


def wait_live(*pages: Page) -> None:
    for page in pages:
        page.wait_for_selector(LIVE, timeout=15_000)


def add_to_cart(page: Page, dish_id: str, expected_count: int) -> None:
    page.click(f'[data-dish-id="{dish_id}"] [data-add]')
    page.wait_for_function(
        "n => (document.querySelector('.cart-count') || {}).textContent === String(n)",
        arg=expected_count, timeout=5_000)


def merchant_token(stack: Stack) -> str:
    return token_of(stack.url("merchant"))


def open_table(stack: Stack, table: str, guests: int = 2) -> None:
    api_call(stack, "POST", f"/api/r/demo/tables/{table}/open", merchant_token(stack),
             {"guests": guests})


def order_as_waiter(stack: Stack, table: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    """A merchant token may order for any seated table (a waiter taking an order)."""
    answer: dict[str, Any] = api_call(stack, "POST", f"/api/r/demo/tables/{table}/orders",
                                      merchant_token(stack), {"items": items})
    return answer


def pos_key(pos: str | None) -> tuple[int, int]:
    ms, _, seq = (pos or "0-0").partition("-")
    return int(ms), int(seq)


def ticket_ids(page: Page) -> list[str]:
    ids: list[str] = page.eval_on_selector_all(".tickets .ticket",
                                               "els => els.map(e => e.dataset.orderId)")
    return ids


def test_diner_order_reaches_the_right_stations_and_a_bump_shows_ready_on_the_phone(
        stack: Stack, screens: Screens) -> None:
    """An order placed on a phone appears within a second on the stations that cook its dishes
    (and only there); bumping it on a station turns the dish ready on the phone; a note that
    looks like HTML stays text."""
    diner = screens.open(stack.url("diner table A1"), PHONE, "diner")
    friend = screens.open(stack.url("diner table A1"), PHONE, "friend")
    hub_urls: list[str] = []
    friend.on("websocket", lambda ws: hub_urls.append(ws.url))
    friend.reload()
    wok = screens.open(stack.url("station wok"), TABLET, "wok")
    cold = screens.open(stack.url("station cold"), TABLET, "cold")
    steam = screens.open(stack.url("station steam"), TABLET, "steam")
    alerts: list[str] = []

    def on_dialog(d: Dialog) -> None:
        alerts.append(d.message)
        d.dismiss()

    for page in (diner, friend, wok, cold, steam):
        page.on("dialog", on_dialog)
    wait_live(diner, friend, wok, cold, steam)

    add_to_cart(diner, "d18", 1)  # 宫保鸡丁: wok
    add_to_cart(diner, "d01", 2)  # 南通醉虾: cold
    diner.click('[data-dish-id="d20"] .note-btn')  # 干煸四季豆 with a note: wok
    diner.fill(".modal input", XSS)
    diner.click(".modal .btn-primary")
    diner.wait_for_function("() => document.querySelector('.cart-count').textContent === '3'")
    assert hub_urls and not [u for u in hub_urls if "token" in u]  # never in the URL
    # the cart is the table's: the other phone at the table sees it
    friend.wait_for_function("() => (document.querySelector('.cart-count') || {}).textContent"
                             " === '3'", timeout=5_000)

    before_wok, before_cold = set(ticket_ids(wok)), set(ticket_ids(cold))
    started = time.monotonic()
    diner.click('[data-action="order"]')
    wok.wait_for_function("n => document.querySelectorAll('.tickets .ticket').length > n",
                          arg=len(before_wok), timeout=5_000)
    cold.wait_for_function("n => document.querySelectorAll('.tickets .ticket').length > n",
                           arg=len(before_cold), timeout=5_000)
    elapsed = time.monotonic() - started
    print(f"order tap → both station screens: {elapsed * 1000:.0f} ms")
    assert elapsed < 1.0, f"the ticket took {elapsed:.2f} s to reach the stations"

    (order_id,) = set(ticket_ids(wok)) - before_wok
    assert set(ticket_ids(cold)) - before_cold == {order_id}
    wok_card = wok.locator(f'.ticket[data-order-id="{order_id}"]')
    assert "宫保鸡丁" in wok_card.inner_text() and "南通醉虾" not in wok_card.inner_text()
    cold_card = cold.locator(f'.ticket[data-order-id="{order_id}"]')
    assert "南通醉虾" in cold_card.inner_text() and "宫保鸡丁" not in cold_card.inner_text()
    assert order_id not in ticket_ids(steam)

    note = wok_card.locator(".line-note")
    assert XSS in note.inner_text()
    assert wok.locator('img[src="x"]').count() == 0
    assert diner.locator('img[src="x"]').count() == 0

    wok_lines = wok_card.locator(".line").evaluate_all("els => els.map(e => e.dataset.lineId)")
    wok_card.locator('[data-action="bump"]').click()
    diner.click('[data-tab="orders"]')
    for line_id in wok_lines:
        diner.wait_for_selector(
            f'.o-line[data-order-id="{order_id}"][data-line-id="{line_id}"][data-status="ready"]',
            timeout=5_000)
    cold_line = cold_card.locator(".line").first.get_attribute("data-line-id")
    assert diner.locator(f'.o-line[data-order-id="{order_id}"][data-line-id="{cold_line}"]'
                         ).get_attribute("data-status") == "queued"
    wok.wait_for_selector(f'.ticket[data-order-id="{order_id}"]', state="detached")

    # 催菜 from the phone reaches the station that cooks the dish
    diner.click(f'.o-line[data-order-id="{order_id}"][data-line-id="{cold_line}"]'
                ' [data-action="urge"]')
    cold_card.locator(".flag-urged").first.wait_for(timeout=5_000)
    assert not alerts


def test_station_offline_catches_up_with_no_missing_and_no_duplicated_ticket(
        stack: Stack, screens: Screens) -> None:
    """A station taken offline while orders keep coming says so, queues its taps, and on
    reconnect shows every open ticket exactly once and sends the queued tap."""
    wok = screens.open(stack.url("station wok"), TABLET, "wok")
    wait_live(wok)
    for table in ("A2", "A3", "A4"):
        open_table(stack, table)
    first = order_as_waiter(stack, "A2", [{"dish_id": "d15", "qty": 1}])
    first_id = first["order"]["id"]
    wok.wait_for_selector(f'.ticket[data-order-id="{first_id}"]')

    wok.context.set_offline(True)
    wok.wait_for_selector('.conn[data-conn="offline"]', timeout=5_000)
    line = wok.locator(f'.ticket[data-order-id="{first_id}"] .line').first
    line_id = line.get_attribute("data-line-id")
    line.click()  # start cooking, while offline: queued with its idempotency key
    wok.wait_for_selector('.conn[data-queued="1"]')

    answers = [order_as_waiter(stack, table, [{"dish_id": dish, "qty": 2}])
               for table, dish in (("A3", "d17"), ("A4", "d12"), ("A3", "d32"))]
    placed = [a["order"]["id"] for a in answers]
    time.sleep(1.0)  # events flow while the screen hears nothing
    assert not set(placed) & set(ticket_ids(wok))
    assert wok.locator('.conn[data-conn="offline"]').count() == 1

    wok.context.set_offline(False)
    wok.wait_for_selector(LIVE, timeout=15_000)
    for order_id in placed:
        wok.wait_for_selector(f'.ticket[data-order-id="{order_id}"]', timeout=5_000)
    wok.wait_for_selector('.conn[data-queued="0"]', timeout=10_000)
    wok.wait_for_selector(f'.ticket[data-order-id="{first_id}"] .line[data-line-id="{line_id}"]'
                          '[data-status="cooking"]', timeout=5_000)

    shown = Counter(ticket_ids(wok))
    assert all(n == 1 for n in shown.values()), f"duplicated tickets: {shown}"
    snapshot = api_call(stack, "GET", "/api/r/demo/stations/wok/tickets",
                        token_of(stack.url("station wok")))
    assert set(shown) == {t["order_id"] for t in snapshot["tickets"]}
    assert pos_key(wok.get_attribute(".conn", "data-pos")) >= pos_key(answers[-1]["pos"])


def test_a_diner_at_a_table_not_yet_open_is_asked_to_see_the_staff(
        stack: Stack, screens: Screens, screenshot_dir: Path) -> None:
    """The QR code of a free table opens a friendly page instead of the menu."""
    qr = api_call(stack, "GET", "/api/r/demo/tables/B9/qr", merchant_token(stack))
    page = screens.open(qr["url"], PHONE, "diner-closed")
    page.wait_for_selector(".full-message")
    assert "请服务员开台" in page.inner_text(".full-message")
    page.screenshot(path=str(screenshot_dir / "diner-closed-phone.png"))
    page.click(".full-message .lang-switch")  # the message itself switches language
    page.wait_for_function("() => document.querySelector('.full-message h1').textContent"
                           " === 'This table is not open yet'", timeout=5_000)
    assert "请服务员开台" not in page.inner_text(".full-message")


def test_pages_opened_with_the_wrong_link_say_what_to_do(stack: Stack, screens: Screens) -> None:
    """A station page opened with the pass's link asks for a station's link; a revoked
    tablet's link says it no longer works (not 'token missing'); a mangled table address
    says the code is not valid instead of loading for ever."""
    merchant = merchant_token(stack)
    expo_link = stack.url("expo")
    page = screens.open(expo_link.replace("/expo#", "/station#"), TABLET, "station-expo-token")
    page.wait_for_selector(".full-message", timeout=5_000)
    assert "档口" in page.inner_text(".full-message")
    issued = api_call(stack, "POST", "/api/r/demo/tokens", merchant,
                      {"role": "station", "station": "cold", "label": "old tablet"})
    api_call(stack, "DELETE", f"/api/r/demo/tokens/{issued['id']}", merchant)
    wok_link = stack.url("station wok")
    revoked = wok_link.split("#")[0] + "#token=" + issued["token"]
    page = screens.open(revoked, TABLET, "station-revoked")
    page.wait_for_selector(".full-message", timeout=10_000)
    assert "此链接已不能使用" in page.inner_text(".full-message")
    page = screens.open(f"{stack.api_url}/t/abc%zz", PHONE, "diner-mangled")
    page.wait_for_selector(".full-message", timeout=5_000)
    assert "二维码无效" in page.inner_text(".full-message")


def test_merchant_opens_a_table_on_the_board_and_its_qr_code_starts_working(
        stack: Stack, screens: Screens) -> None:
    """开台 from the board: the tile changes live, and the table's QR code opens the menu."""
    board = screens.open(stack.url("merchant").replace("/merchant#", "/merchant?tab=tables#"),
                         TABLET, "merchant")
    wait_live(board)
    tile = board.locator('.tile[data-table="B8"]')
    assert tile.get_attribute("data-state") == "free"
    tile.click()
    board.fill(".modal input", "3")
    board.click(".modal .btn-primary")
    board.wait_for_selector('.tile[data-table="B8"][data-state="open"]', timeout=5_000)
    qr = api_call(stack, "GET", "/api/r/demo/tables/B8/qr", merchant_token(stack))
    diner = screens.open(qr["url"], PHONE, "diner-B8")
    wait_live(diner)
    assert diner.locator('.d-table[data-table="B8"]').count() == 1


def _busy_kitchen(stack: Stack) -> None:
    """Tickets with every flag a station shows: rush, urge, add-on, return asked, held course,
    a returned dish, a long note and allergens."""
    merchant = merchant_token(stack)
    for table in ("B1", "B2"):
        open_table(stack, table, 4)
    a = order_as_waiter(stack, "B1", [
        {"dish_id": "d16", "qty": 1, "note": "少糖，酱汁另放"},
        {"dish_id": "d18", "qty": 2, "note": "不要花生"},
        {"dish_id": "d13", "qty": 1},
        {"dish_id": "d22", "qty": 1, "course": 2}])["order"]
    api_call(stack, "POST", f"/api/r/demo/orders/{a['id']}/rush", merchant, {"rush": True})
    api_call(stack, "POST", f"/api/r/demo/orders/{a['id']}/lines/L2/urge", merchant, {})
    api_call(stack, "POST", f"/api/r/demo/orders/{a['id']}/lines/L1/start", merchant, {})
    api_call(stack, "POST", f"/api/r/demo/orders/{a['id']}/lines/L1/return", merchant, {})
    api_call(stack, "POST", f"/api/r/demo/orders/{a['id']}/lines/L3/return", merchant, {})
    b = order_as_waiter(stack, "B2", [{"dish_id": "d15", "qty": 1},
                                      {"dish_id": "d35", "qty": 4}])["order"]
    api_call(stack, "POST", f"/api/r/demo/orders/{b['id']}/lines", merchant,
             {"items": [{"dish_id": "d21", "qty": 1}, {"dish_id": "d32", "qty": 2}]})
    api_call(stack, "POST", "/api/r/demo/tables/B2/waiter", merchant, {"reason": ""})
    api_call(stack, "POST", "/api/r/demo/tables/B1/bill", merchant, {})


def test_screenshots_of_every_screen_at_tablet_and_phone_sizes(
        stack: Stack, screens: Screens, screenshot_dir: Path) -> None:
    """Every screen renders live at 1280×800 and 390×844; the pictures land in
    artifacts/screenshots/ for a person to look at."""
    _busy_kitchen(stack)
    merchant = stack.url("merchant")
    pages = {
        "station-wok": stack.url("station wok"),
        "station-steam": stack.url("station steam"),
        "expo": stack.url("expo"),
        "diner-menu": stack.url("diner table A1"),
        "merchant-tables": merchant.replace("/merchant#", "/merchant?tab=tables#"),
        "merchant-menu": merchant.replace("/merchant#", "/merchant?tab=menu#"),
        "merchant-stats": merchant.replace("/merchant#", "/merchant?tab=stats#"),
        "merchant-qr": merchant.replace("/merchant#", "/merchant?tab=qr#"),
    }
    for size_name, size in (("tablet", TABLET), ("phone", PHONE)):
        for name, url in pages.items():
            page = screens.open(url, size, f"{name}-{size_name}")
            wait_live(page)
            if name == "merchant-qr":
                page.wait_for_selector("img.qr-page")
            if name == "merchant-stats":
                page.wait_for_selector(".kpi")
            page.wait_for_timeout(400)
            page.screenshot(path=str(screenshot_dir / f"{name}-{size_name}.png"))
            if name == "diner-menu":
                page.click('[data-tab="orders"]')
                page.wait_for_selector(".o-line")
                page.screenshot(path=str(screenshot_dir / f"diner-orders-{size_name}.png"))
                page.click('[data-tab="bill"]')
                page.wait_for_selector(".bill-total")
                page.screenshot(path=str(screenshot_dir / f"diner-bill-{size_name}.png"))
                page.click('[data-tab="menu"]')
                page.click('[data-dish-id="d03"] [data-add]')
                page.click('[data-action="cart"]')
                page.wait_for_selector(".cart-item")
                page.screenshot(path=str(screenshot_dir / f"diner-cart-{size_name}.png"))
            if name == "station-wok":
                page.click('[data-action="recall-open"]')
                page.wait_for_selector(".recall-row")
                page.screenshot(path=str(screenshot_dir / f"station-recall-{size_name}.png"))
    written = sorted(p.name for p in screenshot_dir.glob("*.png"))
    assert len(written) >= 2 * (len(pages) + 4), written


def test_the_english_switch_is_remembered_on_the_device(stack: Stack, screens: Screens) -> None:
    """Chinese first; the English button switches the screen and survives a reload."""
    expo = screens.open(stack.url("expo"), TABLET, "expo")
    wait_live(expo)
    assert expo.inner_text(".bar-title") == "传菜口"
    assert expo.get_attribute("html", "lang") == "zh-CN"
    expo.click(".lang-switch")
    assert expo.inner_text(".bar-title") == "Expo"
    expo.reload()
    wait_live(expo)
    assert expo.inner_text(".bar-title") == "Expo"
    assert "Live" in expo.inner_text(".conn")


def test_a_dish_marked_sold_out_at_the_station_is_greyed_on_the_phone(
        stack: Stack, screens: Screens) -> None:
    """估清 on the wok's tablet shows 已售罄 on the diner's menu at once; restocking lifts it."""
    diner = screens.open(stack.url("diner table A1"), PHONE, "diner")
    wok = screens.open(stack.url("station wok"), TABLET, "wok")
    wait_live(diner, wok)
    dish = diner.locator('.dish[data-dish-id="d19"]')
    assert "is-sold-out" not in (dish.get_attribute("class") or "")
    wok.click('[data-action="sold-out"]')
    wok.click('.soldout-list li[data-dish-id="d19"] .btn-primary')
    diner.wait_for_selector('.dish.is-sold-out[data-dish-id="d19"]', timeout=5_000)
    assert diner.locator('[data-dish-id="d19"] [data-add]').is_disabled()
    wok.click('.soldout-list li[data-dish-id="d19"] .btn-go')
    diner.wait_for_selector('.dish:not(.is-sold-out)[data-dish-id="d19"]', timeout=5_000)


def test_a_hub_restart_is_survived_with_every_ticket_once(stack: Stack, screens: Screens) -> None:
    """The hub goes away (killed) while orders keep coming and comes back: the station shows
    offline, reconnects by itself, and shows each ticket once."""
    wok = screens.open(stack.url("station wok"), TABLET, "wok")
    wait_live(wok)
    open_table(stack, "A5")
    stack.stop_one("hub", signal.SIGKILL)
    try:
        wok.wait_for_selector('.conn[data-conn="offline"]', timeout=20_000)
        placed = [order_as_waiter(stack, "A5", [{"dish_id": "d14", "qty": 1}])["order"]["id"]
                  for _ in range(2)]
    finally:
        stack.start_one("hub")
    wok.wait_for_selector(LIVE, timeout=20_000)
    for order_id in placed:
        wok.wait_for_selector(f'.ticket[data-order-id="{order_id}"]', timeout=5_000)
    shown = Counter(ticket_ids(wok))
    assert all(n == 1 for n in shown.values()), f"duplicated tickets: {shown}"


def diner_at(stack: Stack, screens: Screens, table: str) -> Page:
    """A phone that scanned the QR code of ``table``, seated for the test."""
    open_table(stack, table)
    qr = api_call(stack, "GET", f"/api/r/demo/tables/{table}/qr", merchant_token(stack))
    page = screens.open(qr["url"], PHONE, f"diner-{table}")
    wait_live(page)
    return page


def test_an_order_tapped_offline_is_placed_once(stack: Stack, screens: Screens) -> None:
    """Offline, 下单 queues the order and the button says it is being sent; it stays so when
    the page is redrawn, so the cart cannot be ordered twice; back online, one order."""
    phone = diner_at(stack, screens, "A6")
    add_to_cart(phone, "d18", 1)
    phone.context.set_offline(True)
    phone.wait_for_selector('.conn[data-conn="offline"]', timeout=5_000)
    phone.click('[data-action="order"]')
    phone.wait_for_selector('.conn[data-queued="1"]', timeout=5_000)
    phone.click('[data-tab="menu"]')  # the page is drawn again, the cart still full
    button = phone.locator('[data-action="order"]')
    assert button.is_disabled() and button.inner_text().strip() == "正在下单…"
    phone.context.set_offline(False)
    phone.wait_for_selector('.conn[data-queued="0"]', timeout=15_000)
    phone.wait_for_function(
        "() => !(document.querySelector('.cart-count'))", timeout=5_000)  # the cart is empty
    orders = api_call(stack, "GET", "/api/r/demo/tables/A6/orders", merchant_token(stack))
    assert len(orders["orders"]) == 1, orders


def test_the_phone_urges_within_the_rules_and_asks_for_the_bill_again_after_adding(
        stack: Stack, screens: Screens) -> None:
    """After an urge the dish's urge button is gone for the minute (a second tap would only be
    refused); 加菜 after asking for the bill reopens it, and the phone can ask again."""
    phone = diner_at(stack, screens, "A7")
    add_to_cart(phone, "d18", 1)
    phone.click('[data-action="order"]')
    phone.click('[data-tab="orders"]')
    line = phone.locator('.o-line[data-line-id="L1"]')
    line.locator('[data-action="urge"]').click()
    phone.wait_for_selector('.o-line[data-line-id="L1"] .o-urged', timeout=5_000)
    assert line.locator('[data-action="urge"]').count() == 0

    phone.click('[data-tab="bill"]')
    phone.click('[data-action="bill"]')
    phone.wait_for_selector(".bill-note", timeout=5_000)
    phone.click('[data-tab="menu"]')
    add_to_cart(phone, "d20", 1)
    phone.click('[data-action="order"]')  # 加菜 to the order still in the kitchen
    phone.click('[data-tab="bill"]')
    phone.wait_for_selector('[data-action="bill"]', timeout=5_000)
    assert phone.locator(".bill-note").count() == 0
    phone.click('[data-action="bill"]')
    phone.wait_for_selector(".bill-note", timeout=5_000)
    res = api_call(stack, "POST", "/api/r/demo/tables/A7/clear", merchant_token(stack))
    assert res["table"]["status"] == "free"


def test_a_return_asked_once_the_dish_is_bumped_is_answered_on_the_station(
        stack: Stack, screens: Screens) -> None:
    """The guest asks to return a dish the wok has already bumped: the ticket stays on the
    wok's screen with approve / refuse, also after a reload, and leaves once answered."""
    wok = screens.open(stack.url("station wok"), TABLET, "wok")
    wait_live(wok)
    open_table(stack, "A8")
    order = order_as_waiter(stack, "A8", [{"dish_id": "d18", "qty": 1}])["order"]
    merchant = merchant_token(stack)
    card = f'.ticket[data-order-id="{order["id"]}"]'
    wok.wait_for_selector(card, timeout=5_000)
    api_call(stack, "POST", f"/api/r/demo/orders/{order['id']}/lines/L1/ready", merchant, {})
    wok.wait_for_selector(card, state="detached", timeout=5_000)
    api_call(stack, "POST", f"/api/r/demo/orders/{order['id']}/lines/L1/return", merchant, {})
    wok.wait_for_selector(f'{card} [data-action="approve-return"]', timeout=5_000)
    wok.reload()
    wait_live(wok)
    wok.click(f'{card} [data-action="approve-return"]')
    wok.wait_for_selector(card, state="detached", timeout=5_000)
    live = api_call(stack, "GET", "/api/r/demo/tables/A8/orders", merchant)
    assert live["orders"][0]["lines"][0]["status"] == "returned"


@pytest.mark.parametrize("off_s", [45, -45])
def test_ticket_ages_follow_the_servers_clock_not_the_tablets(
        stack: Stack, screens: Screens, off_s: int) -> None:
    """A tablet whose clock is 45 s fast or slow still shows a new ticket as seconds old:
    ages, colours and 超时 follow the server's clock, learnt from the station's snapshot."""
    wok = screens.open(stack.url("station wok"), TABLET, f"wok-clock{off_s:+d}", clock_off_s=off_s)
    wait_live(wok)
    table = "A9" if off_s > 0 else "A10"
    open_table(stack, table)
    order = order_as_waiter(stack, table, [{"dish_id": "d18", "qty": 1}])["order"]
    timer = wok.locator(f'.ticket[data-order-id="{order["id"]}"] .ticket-timer')
    timer.wait_for(timeout=5_000)
    minutes, _, seconds = timer.inner_text().partition(":")
    assert int(minutes) * 60 + int(seconds) < 15, timer.inner_text()
    api_call(stack, "POST", f"/api/r/demo/orders/{order['id']}/bump", merchant_token(stack),
             {"station": "wok"})


def test_the_pass_colours_tickets_by_its_own_times(stack: Stack, screens: Screens) -> None:
    """The pass's tickets turn amber and red at the times set for the pass station, not at
    fixed ones: with 1 s and 2 s set, a new ticket is red within a few seconds."""
    merchant = merchant_token(stack)
    path, names = "/api/r/demo/admin/stations/expo", {"name_zh": "传菜口", "name_en": "Pass",
                                                       "is_expo": True}
    api_call(stack, "PUT", path, merchant, {**names, "warn_after_s": 1, "late_after_s": 2})
    try:
        expo = screens.open(stack.url("expo"), TABLET, "expo-times")
        wait_live(expo)
        open_table(stack, "B3")
        order = order_as_waiter(stack, "B3", [{"dish_id": "d18", "qty": 1}])["order"]
        expo.wait_for_selector(f'.ticket[data-order-id="{order["id"]}"][data-level="late"]',
                               timeout=8_000)
    finally:
        api_call(stack, "PUT", path, merchant, {**names, "warn_after_s": 300,
                                                "late_after_s": 600})


def test_the_dashboard_says_when_its_figures_cannot_be_loaded(
        stack: Stack, screens: Screens) -> None:
    """Statistics (or the menu) that fail to load show an error with a retry, never ¥0 and
    'no data' or 'loading…' for good; once the API answers again, the retry shows them."""
    merchant = stack.url("merchant")
    page = screens.open(merchant.replace("/merchant#", "/merchant?tab=tables#"), TABLET,
                        "merchant-stats-down")
    wait_live(page)
    page.route("**/stats/**", lambda route: route.fulfill(
        status=503, content_type="application/json",
        body='{"error": {"code": "busy", "reason": "statistics are busy"}}'))
    page.click('[data-tab="stats"]')
    page.wait_for_selector(".load-failed", timeout=5_000)
    assert "statistics are busy" in page.inner_text(".load-failed")
    assert page.locator(".kpi").count() == 0
    page.unroute("**/stats/**")
    page.click('.load-failed [data-action="retry"]')
    page.wait_for_selector(".kpi", timeout=5_000)
    # the menu tab likewise, instead of 'loading…' for good
    page.route("**/admin/menu", lambda route: route.fulfill(
        status=503, content_type="application/json",
        body='{"error": {"code": "busy", "reason": "the menu is busy"}}'))
    page.click('[data-tab="menu"]')
    page.wait_for_selector(".load-failed", timeout=5_000)
    page.unroute("**/admin/menu")
    page.click('.load-failed [data-action="retry"]')
    page.wait_for_selector(".m-table", timeout=5_000)


def test_a_set_meal_is_greyed_on_the_phone_while_one_of_its_dishes_is_sold_out(
        stack: Stack, screens: Screens) -> None:
    """The lunch set holds 清炒时蔬 (d34): marking that dish sold out greys the set on the
    phone at once, and restocking it lifts the mark, without a reload."""
    phone = screens.open(stack.url("diner table A1"), PHONE, "diner-sets")
    wait_live(phone)
    card = '.set-meal[data-set-id="s2"]'
    assert "is-sold-out" not in (phone.locator(card).get_attribute("class") or "")
    merchant = merchant_token(stack)
    api_call(stack, "PUT", "/api/r/demo/dishes/d34/stock", merchant, {"remaining": 0})
    phone.wait_for_selector(f"{card}.is-sold-out", timeout=5_000)
    api_call(stack, "PUT", "/api/r/demo/dishes/d34/stock", merchant, {"remaining": None})
    phone.wait_for_selector('.set-meal:not(.is-sold-out)[data-set-id="s2"]', timeout=5_000)


def test_the_board_reads_itself_again_when_all_is_quiet(
        stack: Stack, screens: Screens) -> None:
    """Some things change with no event to tell: a screen coming online, a flag that time
    raises. The board reads itself again every 30 s: a tablet that connects while nothing
    else happens shows on the board after that, without a reload."""
    board = screens.open(stack.url("merchant").replace("/merchant#", "/merchant?tab=tables#"),
                         TABLET, "merchant-quiet", clock_off_s=0)
    wait_live(board)
    chips = ".screens .chip"
    before = board.locator(chips).all_inner_texts()
    steam = screens.open(stack.url("station steam"), TABLET, "steam-online")
    wait_live(steam)
    board.wait_for_timeout(1_500)  # the hub has written the steam tablet's presence
    board.clock.run_for(31_000)
    board.wait_for_function(
        "n => document.querySelectorAll('.screens .chip').length > n", arg=len(before),
        timeout=5_000)
