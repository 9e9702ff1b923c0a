"""The routes table: every endpoint of the API, declared once.

Starlette's routes and the OpenAPI document are both generated from ``ENDPOINTS``.
``R`` is the prefix of everything that belongs to one restaurant.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from api import (
    cart,
    devices,
    diner,
    health,
    kitchen,
    menu_admin,
    merchant,
    openapi,
    reports,
    snapshots,
    stock,
)
from api.auth import DINER, EVERYONE, EXPO, KITCHEN, MERCHANT, STAFF
from api.context import Call
from api.endpoint import Endpoint, Param

R = "/api/r/{rid}"
ORDER = R + "/orders/{order}"
LINE = ORDER + "/lines/{line}"
TABLE = R + "/tables/{table}"
ADMIN = R + "/admin"
SEATED = (DINER, MERCHANT)
TZ = Param("tz", "IANA time zone of the restaurant (default Asia/Shanghai)")


async def openapi_json(call: Call) -> dict[str, Any]:
    """This document."""
    doc: dict[str, Any] = call.request.app.state.openapi
    return doc


# the reference page has no script and one inline style sheet; nobody may frame it
DOCS_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                               "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


async def docs_page(call: Call) -> Response:
    """A readable page of this document."""
    return HTMLResponse(openapi.page(call.request.app.state.openapi), headers=DOCS_HEADERS)


def _dish_moves() -> list[Endpoint]:
    return [Endpoint("POST", f"{LINE}/{action}", kitchen.dish_action(action),
                     f"Dish: {action}", KITCHEN, "kitchen", "Empty", "KitchenAnswer",
                     gated=True)
            for action in kitchen.DISH_ACTIONS]


def _ticket_moves() -> list[Endpoint]:
    return [Endpoint("POST", f"{ORDER}/{action}", kitchen.ticket_action(action),
                     f"Ticket: {action}", KITCHEN, "kitchen", "TicketAction", "KitchenAnswer",
                     gated=True)
            for action in kitchen.TICKET_ACTIONS]


def _admin(kind: str, one: str, param: str, put: Any, delete: Any, schema: str
           ) -> list[Endpoint]:
    path = f"{ADMIN}/{kind}/{{{param}}}"
    return [
        Endpoint("PUT", path, put, f"Menu: create or replace {one}", (MERCHANT,),
                 "menu admin", schema, "MenuEdit"),
        Endpoint("DELETE", path, delete, f"Menu: delete {one}", (MERCHANT,), "menu admin",
                 None, "MenuEdit"),
    ]


ENDPOINTS: list[Endpoint] = [
    # -- public
    Endpoint("GET", "/healthz", health.healthz, "Health of the API and its stores", (),
             "meta", response="Health"),
    Endpoint("GET", "/openapi.json", openapi_json, "The OpenAPI document", (), "meta"),
    Endpoint("GET", "/docs", docs_page, "The API reference page", (), "meta",
             content_type="text/html"),
    Endpoint("POST", "/api/diner/session", diner.open_session,
             "Diner: a session token from the table's QR token", (), "diner",
             "DinerSessionRequest", "DinerSession", keyed=False),
    # -- diner (and merchant for any table)
    Endpoint("GET", R + "/menu", diner.get_menu, "Menu with prices now and sold-out marks",
             EVERYONE, "diner", response="Menu"),
    Endpoint("GET", TABLE + "/cart", cart.get_cart, "Diner: the table's shared cart",
             SEATED, "diner", response="Cart"),
    Endpoint("PUT", TABLE + "/cart", cart.put_cart, "Diner: replace the shared cart",
             SEATED, "diner", "CartReplace", "Cart"),
    Endpoint("POST", TABLE + "/cart/items", cart.change_cart,
             "Diner: add or remove one cart item", SEATED, "diner", "CartChange", "Cart"),
    Endpoint("POST", TABLE + "/orders", diner.place_order, "Diner: place an order",
             SEATED, "diner", "OrderRequest", "OrderPlaced", status=201, gated=True),
    Endpoint("GET", TABLE + "/orders", snapshots.table_orders,
             "Snapshot: the table's orders, dish statuses and waits", (DINER, EXPO, MERCHANT),
             "snapshots", response="TableSnapshot"),
    Endpoint("POST", ORDER + "/lines", diner.add_lines, "Diner: add dishes (加菜)",
             SEATED, "diner", "ItemsRequest", "LinesAdded", status=201, gated=True),
    Endpoint("POST", LINE + "/return", diner.return_line, "Diner: return a dish (退菜)",
             SEATED, "diner", "Empty", "ReturnAnswer", gated=True),
    Endpoint("POST", LINE + "/urge", diner.urge_line, "Diner: urge a dish (催菜)",
             SEATED, "diner", "Empty", "OrderAnswer", gated=True),
    Endpoint("POST", TABLE + "/waiter", diner.call_waiter, "Diner: call a waiter",
             SEATED, "diner", "WaiterCall", "TableAnswer", gated=True),
    Endpoint("GET", TABLE + "/bill", diner.get_bill, "Diner: the bill", SEATED, "diner",
             response="Bill"),
    Endpoint("POST", TABLE + "/bill", diner.request_bill, "Diner: ask for the bill",
             SEATED, "diner", "Empty", "BillAnswer", gated=True),
    # -- kitchen
    *_dish_moves(),
    *_ticket_moves(),
    Endpoint("POST", ORDER + "/rush", kitchen.rush, "Ticket: rush", KITCHEN, "kitchen",
             "RushRequest", "OrderAnswer", gated=True),
    Endpoint("POST", LINE + "/return/approve", kitchen.return_decision(True),
             "Dish: approve a return", KITCHEN, "kitchen", "Empty", "ReturnDecision"),
    Endpoint("POST", LINE + "/return/refuse", kitchen.return_decision(False),
             "Dish: refuse a return", KITCHEN, "kitchen", "Empty", "ReturnDecision"),
    Endpoint("POST", R + "/dishes/{dish}/sold-out", stock.mark_sold_out,
             "Stock: mark a dish sold out (估清)", KITCHEN, "kitchen", "Empty", "StockAnswer"),
    Endpoint("PUT", R + "/dishes/{dish}/stock", stock.set_stock,
             "Stock: set a dish's count (restock)", KITCHEN, "kitchen", "StockSet",
             "StockAnswer"),
    Endpoint("GET", R + "/stock", stock.get_stock, "Stock: every limited count", KITCHEN,
             "kitchen", response="StockList"),
    Endpoint("GET", R + "/tickets", kitchen.tickets, "Recall: every ticket of the day",
             KITCHEN, "kitchen", response="Tickets",
             query=(Param("state", "all | open | done", {"enum": list(kitchen.TICKET_STATES)}),
                    Param("station", "expo / merchant: one station's dishes only"))),
    Endpoint("POST", ORDER + "/reprint", kitchen.reprint, "Ticket: print again",
             KITCHEN, "kitchen", "ReprintRequest", "Reprint", status=202),
    # -- snapshots
    Endpoint("GET", R + "/stations/{station}/tickets", snapshots.station_tickets,
             "Snapshot: a station's open tickets and all-day counts", KITCHEN, "snapshots",
             response="StationSnapshot"),
    Endpoint("GET", R + "/expo", snapshots.expo, "Snapshot: the pass (expo)", STAFF,
             "snapshots", response="ExpoSnapshot"),
    Endpoint("GET", R + "/board", snapshots.board, "Snapshot: the table board", STAFF,
             "snapshots", response="Board"),
    # -- merchant: tables
    Endpoint("POST", TABLE + "/open", merchant.open_table, "Table: open (开台)", (MERCHANT,),
             "tables", "OpenTable", "TableAnswer"),
    Endpoint("POST", TABLE + "/transfer", merchant.transfer_table, "Table: transfer (转台)",
             (MERCHANT,), "tables", "TransferTable", "TwoTables"),
    Endpoint("POST", TABLE + "/merge", merchant.merge_table, "Table: merge into another (合桌)",
             (MERCHANT,), "tables", "MergeTable", "TwoTables"),
    Endpoint("POST", TABLE + "/clear", merchant.clear_table, "Table: clear (清台)",
             (MERCHANT,), "tables", "Empty", "Cleared"),
    Endpoint("GET", TABLE + "/qr", devices.table_qr, "Table: its QR token", (MERCHANT,),
             "tables", response="TableQr"),
    Endpoint("POST", TABLE + "/qr", devices.replace_qr, "Table: replace its QR token",
             (MERCHANT,), "tables", "Empty", "TableQr", status=201),
    Endpoint("GET", R + "/qr", devices.qr_sheet, "Tables: every table's QR token",
             (MERCHANT,), "tables", response="QrSheet"),
    Endpoint("GET", R + "/qr-sheet.svg", devices.qr_sheet_svg,
             "Tables: one printable page of QR codes", (MERCHANT,), "tables",
             content_type="image/svg+xml",
             query=(Param("page", "page number from 1 (X-Pages tells how many)",
                          {"type": "integer"}),)),
    # -- merchant: tokens, history, statistics
    Endpoint("POST", R + "/tokens", devices.issue_token, "Tokens: issue a device token",
             (MERCHANT,), "tokens", "TokenRequest", "TokenIssued", status=201),
    Endpoint("GET", R + "/tokens", devices.list_tokens, "Tokens: list", (MERCHANT,), "tokens",
             response="TokenList", query=(Param("all", "1: revoked and expired ones too"),)),
    Endpoint("DELETE", R + "/tokens/{token_id}", devices.revoke_token, "Tokens: revoke",
             (MERCHANT,), "tokens", None, "TokenRevoked"),
    Endpoint("GET", R + "/orders", reports.orders_of_day, "Orders of a day", (MERCHANT,),
             "reports", response="OrdersOfDay",
             query=(Param("date", "YYYY-MM-DD (default today)"), TZ)),
    Endpoint("GET", R + "/stats/{report}", reports.statistics, "Statistics report",
             (MERCHANT,), "reports", response="Report",
             description="report: " + ", ".join(reports.REPORTS) + ".",
             query=(Param("from", "first day YYYY-MM-DD (default today)"),
                    Param("to", "last day YYYY-MM-DD (default: from)"), TZ,
                    Param("limit", "dish_ranking: rows (1-100, default 20)",
                          {"type": "integer"}))),
    # -- merchant: menu
    Endpoint("GET", ADMIN + "/menu", menu_admin.get_full_menu, "Menu: everything, with stock",
             (MERCHANT,), "menu admin", response="AdminMenu"),
    *_admin("stations", "a station", "station_id", menu_admin.put_station,
            menu_admin.delete_station, "StationInput"),
    *_admin("categories", "a category", "category_id", menu_admin.put_category,
            menu_admin.delete_category, "CategoryInput"),
    *_admin("dishes", "a dish", "dish_id", menu_admin.put_dish, menu_admin.delete_dish,
            "DishInput"),
    Endpoint("PATCH", ADMIN + "/dishes/{dish_id}", menu_admin.patch_dish,
             "Menu: change some fields of a dish", (MERCHANT,), "menu admin", "DishPatch",
             "MenuEdit"),
    *_admin("set-meals", "a set meal", "set_id", menu_admin.put_set_meal,
            menu_admin.delete_set_meal, "SetMealInput"),
    *_admin("offers", "an offer", "offer_id", menu_admin.put_offer, menu_admin.delete_offer,
            "OfferInput"),
]


def routes() -> list[Route]:
    return [ep.route() for ep in ENDPOINTS]
