"""JSON Schemas of every request and answer body (``components/schemas`` of the OpenAPI
document). Endpoints in :mod:`api.routes` name them; a test checks every name resolves."""

from __future__ import annotations

from typing import Any

from api import limits
from kitchen.model import DishStatus, TableStatus

S = dict[str, Any]


def ref(name: str) -> S:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(props: dict[str, S], required: tuple[str, ...] = (), extra: bool = True) -> S:
    out: S = {"type": "object", "properties": props}
    if required:
        out["required"] = list(required)
    if not extra:
        out["additionalProperties"] = False
    return out


def arr(items: S, max_items: int | None = None) -> S:
    out: S = {"type": "array", "items": items}
    if max_items is not None:
        out["maxItems"] = max_items
    return out


STR: S = {"type": "string"}
INT: S = {"type": "integer"}
BOOL: S = {"type": "boolean"}
NUM: S = {"type": "number"}
MS: S = {"type": "integer", "description": "milliseconds since the epoch"}
FEN: S = {"type": "integer", "minimum": 0, "description": "price in fen (1 yuan = 100 fen)"}
ID: S = {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}
POS: S = {"type": "string", "description": "stream position of the last event of this change"}
NULL_INT: S = {"type": ["integer", "null"]}
NULL_STR: S = {"type": ["string", "null"]}
ANY_OBJ: S = {"type": "object"}

ITEM = obj({
    "dish_id": STR, "set_meal_id": STR,
    "qty": {"type": "integer", "minimum": 1, "maximum": limits.MAX_QTY, "default": 1},
    "note": {"type": "string", "maxLength": limits.MAX_NOTE},
    "course": {"type": "integer", "minimum": 1, "maximum": limits.MAX_COURSE, "default": 1},
}, extra=False) | {"description": "exactly one of dish_id or set_meal_id"}
ITEMS = arr(ref("Item"), limits.MAX_ITEMS) | {"minItems": 1}

LINE = obj({
    "id": STR, "dish_id": STR, "name_zh": STR, "name_en": STR, "qty": INT,
    "unit_price_fen": FEN, "station_id": STR,
    "status": {"type": "string", "enum": [str(s) for s in DishStatus]},
    "note": STR, "course": INT, "added": BOOL, "set_meal_id": STR, "target_s": INT,
    "urges": INT, "last_urged_at": MS, "overdue": BOOL, "return_requested": BOOL,
    "times": {"type": "object", "additionalProperties": INT,
              "description": "status → when it was entered (ms)"},
})
ORDER = obj({
    "id": STR, "restaurant_id": STR, "table_no": STR, "session_id": STR,
    "no": {"type": "integer", "description": "ticket number of the day"},
    "created_at": MS, "lines": arr(ref("Line")), "rush": BOOL, "guests": INT,
})
TABLE = obj({
    "no": STR, "status": {"type": "string", "enum": [str(s) for s in TableStatus]},
    "session": STR, "opened_at": MS, "guests": INT, "order_ids": arr(STR),
    "merged_from": arr(STR), "waiter_called_at": MS, "bill_requested_at": MS,
})
CHANGE = obj({"line_id": STR, "station_id": STR, "prev": STR, "status": STR})
SNAP = {"epoch": {"type": "string", "description": "identity of the restaurant's log"},
        "pos": {"type": "string", "description": "log position read before the data: "
                "subscribe to the hub from here"},
        "now": MS}
TICKET = obj({
    "order_id": STR, "no": INT, "table_no": STR, "created_at": MS, "rush": BOOL,
    "guests": INT, "open": BOOL, "age_s": INT,
    "level": {"type": "string", "enum": ["ok", "warn", "late"]},
    "added": BOOL, "urged": BOOL, "return_requested": BOOL, "overdue": BOOL,
    "lines": arr(ref("Line")),
    "stations": {"type": "object", "description": "expo only: station → status → qty"},
})
ALL_DAY = arr(obj({"dish_id": STR, "name_zh": STR, "name_en": STR, "qty": INT, "held": INT}))
NAMES = {"name_zh": {"type": "string", "minLength": 1, "maxLength": limits.MAX_NAME},
         "name_en": {"type": "string", "maxLength": limits.MAX_NAME}}

SCHEMAS: dict[str, S] = {
    "Error": obj({"error": obj({"code": STR, "reason": STR, "details": ANY_OBJ},
                               ("code", "reason"))}, ("error",)),
    "Ok": ANY_OBJ,
    "Item": ITEM,
    "Line": LINE,
    "Order": ORDER,
    "Table": TABLE,
    "Health": obj({"ok": BOOL, "redis": BOOL, "postgres": BOOL}),
    "DinerSessionRequest": obj({"qr": STR}, ("qr",)),
    "DinerSession": obj({"token": STR, "restaurant_id": STR, "table": STR, "session": STR,
                         "expires_at": {"type": "integer", "description": "seconds"},
                         "hub_url": STR, "channels": arr(STR)}),
    "Menu": obj({
        "restaurant_id": STR, "name_zh": STR, "name_en": STR, "version": INT,
        "categories": arr(ANY_OBJ), "stations": arr(ANY_OBJ), "offers": arr(ANY_OBJ),
        "dishes": arr(obj({"id": STR, "price_fen": FEN, "price_now_fen": FEN,
                           "offer": {"type": ["object", "null"]}, "photo": STR,
                           "tags": arr(STR), "calories": INT, "allergens": arr(STR),
                           "remaining": NULL_INT, "sold_out": BOOL})),
        "set_meals": arr(obj({"id": STR, "price_fen": FEN, "sold_out": BOOL,
                              "dishes": arr(ANY_OBJ)})),
        "now": MS}),
    "CartReplace": obj({"items": arr(ref("Item"), limits.MAX_ITEMS)}, ("items",)),
    "CartChange": obj({"dish_id": STR, "set_meal_id": STR,
                       "qty": {"type": "integer", "minimum": -limits.MAX_QTY,
                               "maximum": limits.MAX_QTY, "description": "change, not 0"},
                       "note": {"type": "string", "maxLength": limits.MAX_NOTE}}, ("qty",)),
    "Cart": obj({"table": STR, "items": arr(ANY_OBJ), "count": INT, "total_fen": FEN,
                 "pos": POS}),
    "OrderRequest": obj({"items": ITEMS, "clear_cart": BOOL | {"default": True}}, ("items",)),
    "ItemsRequest": obj({"items": ITEMS}, ("items",)),
    "OrderPlaced": obj({"order": ref("Order"), "table": ref("Table"), "pos": POS}),
    "LinesAdded": obj({"order": ref("Order"), "line_ids": arr(STR), "pos": POS}),
    "OrderAnswer": obj({"order": ref("Order"), "pos": POS}),
    "ReturnAnswer": obj({"order": ref("Order"), "line_id": STR,
                         "granted": BOOL | {"description": "false: waits for approval"},
                         "pos": POS}),
    "ReturnDecision": obj({"order": ref("Order"), "line_id": STR, "approved": BOOL,
                           "pos": POS}),
    "WaiterCall": obj({"reason": {"type": "string", "maxLength": limits.MAX_REASON}}),
    "TableAnswer": obj({"table": ref("Table"), "pos": POS}),
    "Bill": obj({"table": STR, "status": STR, "guests": INT, "opened_at": MS,
                 "bill_requested_at": MS, "orders": arr(STR), "lines": arr(ANY_OBJ),
                 "count": INT, "total_fen": FEN, "returned_fen": FEN}),
    "BillAnswer": obj({"table": ref("Table"), "bill": ref("Bill"), "pos": POS}),
    "Empty": obj({}, extra=False),
    "TicketAction": obj({"station": ID | {"description": "expo / merchant: one station"},
                         "course": {"type": "integer", "minimum": 1,
                                    "maximum": limits.MAX_COURSE}}),
    "KitchenAnswer": obj({"order": ref("Order"), "changes": arr(CHANGE), "pos": POS}),
    "RushRequest": obj({"rush": BOOL | {"default": True}}),
    "StockSet": obj({"remaining": NULL_INT | {"minimum": 0, "description": "null: unlimited"}},
                    ("remaining",)),
    "StockAnswer": obj({"dish_id": STR, "remaining": NULL_INT, "sold_out": BOOL, "pos": POS}),
    "StockList": obj({"stock": {"type": "object", "additionalProperties": INT},
                      "sold_out": arr(STR)}),
    "Tickets": obj({**SNAP, "station": {"type": ["string", "null"]},
                    "tickets": arr(ref("Ticket"))}),
    "Ticket": TICKET,
    "ReprintRequest": obj({"station": ID}),
    "Reprint": obj({"order_id": STR, "station_id": STR, "request_id": STR, "pos": STR}),
    "OpenTable": obj({"guests": {"type": "integer", "minimum": 1,
                                 "maximum": limits.MAX_GUESTS}}, ("guests",)),
    "TransferTable": obj({"to": ID}, ("to",)),
    "MergeTable": obj({"into": ID}, ("into",)),
    "TwoTables": obj({"source": ref("Table"), "target": ref("Table"), "pos": POS}),
    "Cleared": obj({"table": ref("Table"), "session_id": STR, "total_fen": FEN, "pos": POS}),
    "TokenRequest": obj({"role": {"type": "string", "enum": ["station", "expo", "merchant"]},
                         "station": ID, "label": {"type": "string",
                                                  "maxLength": limits.MAX_NAME},
                         "ttl_s": {"type": "integer", "minimum": 60,
                                   "maximum": limits.MAX_TOKEN_TTL}}, ("role",)),
    "TokenIssued": obj({"token": STR, "id": STR, "role": STR, "station": STR, "label": STR,
                        "expires_at": {"type": "integer", "description": "seconds"},
                        "pos": STR}),
    "TokenList": obj({"tokens": arr(obj({"id": STR, "role": STR, "station_id": NULL_STR,
                                         "table_no": NULL_STR, "label": STR, "created_at": MS,
                                         "expires_at": MS, "revoked_at": NULL_INT}))}),
    "TokenRevoked": obj({"id": STR, "role": STR, "revoked_at": MS, "pos": STR}),
    "TableQr": obj({"table": STR, "id": STR, "token": STR, "url": STR,
                    "withdrawn": arr(STR)}),
    "QrSheet": obj({"restaurant_id": STR, "name_zh": STR, "name_en": STR,
                    "tables": arr(ref("TableQr"))}),
    "OrdersOfDay": obj({"date": STR, "tz": STR, "source": STR, "count": INT,
                        "total_fen": FEN, "orders": arr(ref("Order"))}),
    "Report": obj({"report": STR, "from": STR, "to": STR, "tz": STR, "rows": arr(ANY_OBJ)}),
    "AdminMenu": obj({"menu": ANY_OBJ, "stock": {"type": "object",
                                                 "additionalProperties": INT}}),
    "MenuEdit": obj({"version": INT, "station": ANY_OBJ, "category": ANY_OBJ,
                     "dish": ANY_OBJ, "set_meal": ANY_OBJ, "offer": ANY_OBJ,
                     "stock": NULL_INT, "pos": POS},
                    ) | {"description": "the changed item under its kind (null when deleted)"},
    "StationInput": obj({**NAMES, "is_expo": BOOL, "warn_after_s": INT, "late_after_s": INT,
                         "printer": {"type": ["string", "null"],
                                     "description": "host:port"}}, ("name_zh",)),
    "CategoryInput": obj({**NAMES, "sort": INT}, ("name_zh",)),
    "DishInput": obj({**NAMES, "category_id": ID, "station_id": ID, "price_fen": FEN,
                      "photo": STR, "tags": arr(STR), "calories": INT,
                      "allergens": arr(STR), "target_s": INT, "active": BOOL,
                      "description_zh": STR, "description_en": STR,
                      "stock": NULL_INT | {"description": "sets the stock; null: unlimited"}},
                     ("name_zh", "category_id", "station_id", "price_fen")),
    "DishPatch": obj({**NAMES, "category_id": ID, "station_id": ID, "price_fen": FEN,
                      "photo": STR, "tags": arr(STR), "calories": INT, "allergens": arr(STR),
                      "target_s": INT, "active": BOOL, "description_zh": STR,
                      "description_en": STR, "stock": NULL_INT}),
    "SetMealInput": obj({**NAMES, "price_fen": FEN, "photo": STR, "active": BOOL,
                         "items": arr({"type": "array", "prefixItems": [ID, INT]},
                                      20)}, ("name_zh", "price_fen", "items")),
    "OfferInput": obj({"dish_id": ID, "price_fen": FEN, "starts_at": MS, "ends_at": MS,
                       "label_zh": STR, "label_en": STR},
                      ("dish_id", "price_fen", "starts_at", "ends_at")),
    "StationSnapshot": obj({**SNAP, "station": ANY_OBJ, "tickets": arr(ref("Ticket")),
                            "all_day": ALL_DAY}),
    "ExpoSnapshot": obj({**SNAP, "tickets": arr(ref("Ticket")), "ready": arr(ANY_OBJ),
                         "all_day": ALL_DAY}),
    "TableSnapshot": obj({**SNAP, "table": ref("Table"), "total_fen": FEN,
                          "orders": arr(ORDER | {"description": "each line also has wait_s "
                                                 "(seconds until ready, null: none) and late"})}),
    "Board": obj({**SNAP, "tables": arr(obj({
        "no": STR, "status": STR, "guests": INT, "opened_at": MS, "elapsed_s": INT,
        "orders": INT, "total_fen": FEN, "dishes": ANY_OBJ, "late": INT,
        "flags": arr({"type": "string", "enum": ["dish_late", "waiter_called", "not_ordered",
                                                 "bill_waiting"]}),
        "waiting_too_long": BOOL, "waiter_called_at": MS, "bill_requested_at": MS,
        "merged_from": arr(STR)})),
        "totals": ANY_OBJ, "sold_out": arr(STR),
        "screens": arr(obj({"screen": STR, "role": STR, "station": STR, "hub": STR,
                            "seen": MS}))}),
}
