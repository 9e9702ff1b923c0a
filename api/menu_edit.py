"""Editing a menu (pure): put or delete one station, category, dish, set meal or offer.

Each function checks the request body and the menu's integrity (a dish's category and station
exist, a set meal's dishes exist, nothing in use is deleted) and returns the new menu with its
version raised by one.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from api import body
from api.limits import MAX_NAME
from kitchen.errors import DomainError, InvalidInput, NotFound
from kitchen.model import Category, Dish, Menu, Offer, SetMeal, Station

MAX_PRICE = 10_000_000  # fen
MAX_SECONDS = 86_400
MAX_TAGS = 20
MAX_TEXT = 500
MAX_PHOTO = 300
MAX_SET_ITEMS = 20
MAX_SORT = 1_000_000
MAX_MS = 10**14
PRINTER = re.compile(r"^[A-Za-z0-9.\-]{1,253}:\d{1,5}$")


class InUse(DomainError):
    code = "in_use"
    status = 409


def _id(item_id: str) -> str:
    if not body.ID.match(item_id):
        raise InvalidInput("an id is 1 to 64 letters, digits, '_' or '-'", field="id")
    return item_id


def _bump(menu: Menu, **changes: Any) -> Menu:
    return replace(menu, version=menu.version + 1, **changes)


def _names(data: dict[str, Any]) -> dict[str, str]:
    return {"name_zh": body.text(data, "name_zh", max_len=MAX_NAME, min_len=1),
            "name_en": body.text(data, "name_en", max_len=MAX_NAME, default="")}


def _put(items: tuple[Any, ...], new: Any) -> tuple[Any, ...]:
    if any(i.id == new.id for i in items):
        return tuple(new if i.id == new.id else i for i in items)
    return (*items, new)


def _drop(items: tuple[Any, ...], item_id: str, what: str) -> tuple[Any, ...]:
    if not any(i.id == item_id for i in items):
        raise NotFound(f"no {what} {item_id!r}", id=item_id)
    return tuple(i for i in items if i.id != item_id)


# ------------------------------------------------------------------ stations


def put_station(menu: Menu, station_id: str, data: dict[str, Any]) -> tuple[Menu, Station]:
    warn = body.integer(data, "warn_after_s", lo=1, hi=MAX_SECONDS, default=300)
    late = body.integer(data, "late_after_s", lo=1, hi=MAX_SECONDS, default=480)
    if late < warn:
        raise InvalidInput("late_after_s must not be less than warn_after_s",
                           field="late_after_s")
    printer = data.get("printer")
    if printer is not None and (not isinstance(printer, str) or not PRINTER.match(printer)
                                or not 1 <= int(printer.rpartition(":")[2]) <= 65535):
        raise InvalidInput("printer must be 'host:port' (port 1-65535) or null",
                           field="printer")
    is_expo = body.boolean(data, "is_expo", default=False)
    if is_expo and any(d.station_id == station_id for d in menu.dishes):
        raise InUse("dishes are cooked at this station; it cannot become the pass",
                    station=station_id)
    station = Station(_id(station_id), warn_after_s=warn, late_after_s=late, printer=printer,
                      is_expo=is_expo, **_names(data))
    return _bump(menu, stations=_put(menu.stations, station)), station


def delete_station(menu: Menu, station_id: str) -> Menu:
    used = [d.id for d in menu.dishes if d.station_id == station_id]
    if used:
        raise InUse(f"{len(used)} dishes are cooked at this station; move them first",
                    station=station_id, dishes=used[:20])
    return _bump(menu, stations=_drop(menu.stations, station_id, "station"))


# ------------------------------------------------------------------ categories


def put_category(menu: Menu, category_id: str, data: dict[str, Any]) -> tuple[Menu, Category]:
    sort = body.integer(data, "sort", lo=0, hi=MAX_SORT, default=0)
    category = Category(_id(category_id), sort=sort, **_names(data))
    return _bump(menu, categories=_put(menu.categories, category)), category


def delete_category(menu: Menu, category_id: str) -> Menu:
    used = [d.id for d in menu.dishes if d.category_id == category_id]
    if used:
        raise InUse(f"{len(used)} dishes are in this category; move them first",
                    category=category_id, dishes=used[:20])
    return _bump(menu, categories=_drop(menu.categories, category_id, "category"))


# ------------------------------------------------------------------ dishes


def _dish_fields(menu: Menu, data: dict[str, Any]) -> dict[str, Any]:
    category = body.ident(data, "category_id")
    if not any(c.id == category for c in menu.categories):
        raise InvalidInput(f"no category {category!r}", field="category_id")
    station_id = body.ident(data, "station_id")
    station = menu.station(station_id)
    if station is None or station.is_expo:
        raise InvalidInput(f"no kitchen station {station_id!r}", field="station_id")
    return {
        "category_id": category,
        "station_id": station_id,
        "price_fen": body.integer(data, "price_fen", lo=0, hi=MAX_PRICE),
        "photo": body.text(data, "photo", max_len=MAX_PHOTO, default=""),
        "tags": body.texts(data, "tags", max_len=20, max_items=MAX_TAGS, default=()),
        "calories": body.integer(data, "calories", lo=0, hi=100_000, default=0),
        "allergens": body.texts(data, "allergens", max_len=30, max_items=MAX_TAGS, default=()),
        "target_s": body.integer(data, "target_s", lo=1, hi=MAX_SECONDS, default=600),
        "active": body.boolean(data, "active", default=True),
        "description_zh": body.text(data, "description_zh", max_len=MAX_TEXT, default=""),
        "description_en": body.text(data, "description_en", max_len=MAX_TEXT, default=""),
        **_names(data),
    }


def put_dish(menu: Menu, dish_id: str, data: dict[str, Any]) -> tuple[Menu, Dish]:
    dish = Dish(id=_id(dish_id), **_dish_fields(menu, data))
    return _bump(menu, dishes=_put(menu.dishes, dish)), dish


def patch_dish(menu: Menu, dish_id: str, data: dict[str, Any]) -> tuple[Menu, Dish]:
    """Change some fields of a dish (price, active, names …); the others stay."""
    dish = menu.dish(dish_id)
    if dish is None:
        raise NotFound(f"no dish {dish_id!r}", dish_id=dish_id)
    unknown = set(data) - set(dish.to_dict()) - {"stock"} | ({"id"} & set(data))
    if unknown:
        raise InvalidInput(f"unknown fields: {', '.join(sorted(unknown))}",
                           field=sorted(unknown)[0])
    merged = {**dish.to_dict(), **{k: v for k, v in data.items() if k != "stock"}}
    return put_dish(menu, dish_id, merged)


def delete_dish(menu: Menu, dish_id: str) -> Menu:
    sets = [s.id for s in menu.set_meals if any(d == dish_id for d, _ in s.items)]
    if sets:
        raise InUse("set meals contain this dish; change them first (or make the dish "
                    "inactive)", dish_id=dish_id, set_meals=sets)
    return _bump(menu, dishes=_drop(menu.dishes, dish_id, "dish"),
                 offers=tuple(o for o in menu.offers if o.dish_id != dish_id))


def stock_field(data: dict[str, Any]) -> tuple[bool, int | None]:
    """Whether the body sets the dish's stock, and to what (None = unlimited)."""
    if "stock" not in data:
        return False, None
    return True, body.optional_int(data, "stock", lo=0, hi=1_000_000)


# ------------------------------------------------------------------ set meals and offers


def put_set_meal(menu: Menu, set_id: str, data: dict[str, Any]) -> tuple[Menu, SetMeal]:
    raw = data.get("items")
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_SET_ITEMS:
        raise InvalidInput(f"items must list 1 to {MAX_SET_ITEMS} [dish_id, qty] pairs",
                           field="items")
    items: list[tuple[str, int]] = []
    for n, pair in enumerate(raw):
        if (not isinstance(pair, list) or len(pair) != 2 or not isinstance(pair[0], str)
                or type(pair[1]) is not int or not 1 <= pair[1] <= 20):
            raise InvalidInput(f"items[{n}] must be [dish_id, qty from 1 to 20]",
                               field=f"items[{n}]")
        if menu.dish(pair[0]) is None:
            raise InvalidInput(f"no dish {pair[0]!r}", field=f"items[{n}]")
        if any(pair[0] == dish for dish, _ in items):  # its stock would be checked per entry
            raise InvalidInput(f"dish {pair[0]!r} is listed twice: give its quantity once",
                               field=f"items[{n}]")
        items.append((pair[0], pair[1]))
    meal = SetMeal(_id(set_id), price_fen=body.integer(data, "price_fen", lo=0, hi=MAX_PRICE),
                   items=tuple(items),
                   photo=body.text(data, "photo", max_len=MAX_PHOTO, default=""),
                   active=body.boolean(data, "active", default=True), **_names(data))
    return _bump(menu, set_meals=_put(menu.set_meals, meal)), meal


def delete_set_meal(menu: Menu, set_id: str) -> Menu:
    return _bump(menu, set_meals=_drop(menu.set_meals, set_id, "set meal"))


def put_offer(menu: Menu, offer_id: str, data: dict[str, Any]) -> tuple[Menu, Offer]:
    dish_id = body.ident(data, "dish_id")
    if menu.dish(dish_id) is None:
        raise InvalidInput(f"no dish {dish_id!r}", field="dish_id")
    starts = body.integer(data, "starts_at", lo=0, hi=MAX_MS)
    ends = body.integer(data, "ends_at", lo=0, hi=MAX_MS)
    if ends <= starts:
        raise InvalidInput("ends_at must be after starts_at", field="ends_at")
    offer = Offer(_id(offer_id), dish_id, body.integer(data, "price_fen", lo=0, hi=MAX_PRICE),
                  starts, ends,
                  label_zh=body.text(data, "label_zh", max_len=MAX_NAME, default="限时特价"),
                  label_en=body.text(data, "label_en", max_len=MAX_NAME,
                                     default="Limited offer"))
    return _bump(menu, offers=_put(menu.offers, offer)), offer


def delete_offer(menu: Menu, offer_id: str) -> Menu:
    return _bump(menu, offers=_drop(menu.offers, offer_id, "offer"))
