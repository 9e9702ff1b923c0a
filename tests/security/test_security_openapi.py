"""Hostile HTTP input generated from the API's own OpenAPI document (schemathesis): whatever
is sent, with or without a valid token, the answer is never a 5xx and matches the document."""

from __future__ import annotations

import zlib
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api import openapi, routes
from kitchen import demo
from kitchen.embedded import EmbeddedPostgres
from tests.security.support import Api, api_process

CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance,
          content_type_conformance]
TABLES = ("A1", "A2", "B1")


@pytest.fixture(scope="module")
def api(postgres_server: EmbeddedPostgres, pg_template: str,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with api_process(postgres_server, pg_template, tmp_path_factory.mktemp("openapi")) as api:
        yield api


def test_the_served_document_is_the_one_tested(api: Api) -> None:
    """/openapi.json of the running api is exactly the document the cases come from."""
    assert httpx.get(f"{api.url}/openapi.json").json() == schema.raw_schema


# the document the api serves at /openapi.json, built from the same routes table
schema = schemathesis.openapi.from_dict(openapi.document(routes.ENDPOINTS))


def _aim(case: schemathesis.Case) -> None:
    """Point most generated requests at the seeded restaurant and its tables, so they get past
    the tenant check and reach the handlers; leave some wholly random."""
    params = case.path_parameters or {}
    salt = zlib.crc32(repr(sorted(params.items())).encode())
    if "rid" in params and salt % 4:
        params["rid"] = demo.RESTAURANT
    if "table" in params and salt % 3:
        params["table"] = TABLES[salt % len(TABLES)]


@schema.parametrize()
@settings(max_examples=12, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_generated_requests_get_documented_answers_and_never_5xx(
        case: schemathesis.Case, api: Api) -> None:
    """Generated requests as a merchant of the demo restaurant: no 5xx, answers as documented."""
    _aim(case)
    case.call_and_validate(base_url=api.url, checks=CHECKS,
                           headers={"Authorization": f"Bearer {api.token('merchant')}"})


@pytest.fixture(scope="module")
def staff_and_diner(api: Api) -> dict[str, str]:
    """A wok station's token and a diner token of table A1 (seated by the demo seed)."""
    merchant = {"Authorization": f"Bearer {api.token('merchant')}"}
    qr = httpx.get(f"{api.url}/api/r/{demo.RESTAURANT}/tables/A1/qr", headers=merchant)
    session = httpx.post(f"{api.url}/api/diner/session", json={"qr": qr.json()["token"]})
    assert session.status_code == 200, session.text
    return {"station": api.token("station", station="wok"), "diner": session.json()["token"]}


@schema.parametrize()
@settings(max_examples=6, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_generated_requests_as_a_station_and_a_diner_never_5xx(
        case: schemathesis.Case, api: Api, staff_and_diner: dict[str, str]) -> None:
    """The same as a wok station and as the diner of A1: refusals are documented 4xx."""
    _aim(case)
    for token in staff_and_diner.values():
        case.call_and_validate(base_url=api.url, checks=CHECKS,
                               headers={"Authorization": f"Bearer {token}"})


@schema.parametrize()
@settings(max_examples=4, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_generated_requests_without_a_token_never_5xx(case: schemathesis.Case, api: Api
                                                      ) -> None:
    """The same requests with no token or a forged one: refused with a 4xx, never a 5xx."""
    _aim(case)
    forged = api.token("merchant")[:-4] + "AAAA"
    case.call_and_validate(base_url=api.url, checks=[not_a_server_error],
                           headers={"Authorization": f"Bearer {forged}"})
