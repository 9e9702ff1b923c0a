"""No bad input ever gets a 5xx: every endpoint, odd path parameters, odd bodies."""

from __future__ import annotations

import re
from typing import Any

import pytest

from api.endpoint import Endpoint
from api.routes import ENDPOINTS
from tests.integration.api_fixtures import *  # noqa: F403
from tests.integration.api_fixtures import Api

ODD_PARAMS = ["%00", "..", "桌", "L" * 300, "a%2Fb"]
ODD_BODIES: list[Any] = [None, {}, {"items": None}, {"items": [{}]}, {"items": [1]},
                         {"qty": "1"}, b'{"guests": 1e400, "qty": -1e999}', {"to": ["A1"]},
                         {"remaining": {}}, {"role": None}, {"name_zh": 5},
                         {"items": [["d01", "x"]]}, {"station": {"$ne": 1}}, {"course": True},
                         {"name_zh": "a\u0000", "label": "\u0000", "category_id": "wok",
                          "station_id": "wok", "price_fen": 1, "role": "expo"},
                         b"\x00\x01", b"[[[[[[[[[[",
                         b'{"qr": "\\ud800", "note": "\\udfff", "items": [{"dish_id": "\\ud800"}]}']
ODD_QUERIES = ["date=9999-12-31", "from=0001-01-01&to=9999-12-31", "from=9999-12-31",
               "limit=%C2%B2", "page=%C2%B2", "limit=%D9%A3"]


def _good(name: str, order_id: str) -> str:
    """A value of a path parameter that names something that exists."""
    return {"rid": "demo", "table": "A1", "order": order_id, "line": "L1", "dish": "d01",
            "station": "cold", "report": "summary", "station_id": "cold",
            "category_id": "cold", "dish_id": "d01", "set_id": "s1",
            "offer_id": "o1"}.get(name, "x")


async def _send(api: Api, ep: Endpoint, path: str, body: Any) -> None:
    if isinstance(body, bytes):
        res = await api.call(ep.method, path, api.merchant, content=body)
    else:
        res = await api.call(ep.method, path, api.merchant, body)
    assert res.status_code < 500, (path, body, res.status_code, res.text)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: f"{e.method} {e.path}")
async def test_no_5xx_for_odd_parameters_and_bodies(api: Api, endpoint: Endpoint) -> None:
    """Odd bodies and queries (on real things) and odd path parameters get 2xx or 4xx,
    never a 5xx."""
    if endpoint.path == "/healthz":
        return
    diner = await api.diner("A1")
    order = await api.order(diner, "A1", [{"dish_id": "d01"}])
    good = re.sub(r"\{(\w+)\}", lambda m: _good(m[1], order["id"]), endpoint.path)
    for body in ODD_BODIES if endpoint.method != "GET" else [None]:
        await _send(api, endpoint, good, body)
    for query in ODD_QUERIES if endpoint.method == "GET" else []:
        await _send(api, endpoint, f"{good}?{query}", None)
    for odd in ODD_PARAMS:
        path = endpoint.path.replace("{rid}", "demo")
        await _send(api, endpoint, re.sub(r"\{(\w+)\}", odd, path), None)
