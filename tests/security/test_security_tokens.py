"""Tokens on both doors: the API refuses, and the hub closes with 4001, every token that is
tampered with, expired, signed by a foreign or retired key, or revoked; a token of another
restaurant reaches nothing of this one; keys rotate without logging anyone out."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from hub.server import Hub
from kitchen import keys, tokens
from kitchen.settings import Settings
from tests.integration.api_fixtures import OTHER, Api, R, serving

pytestmark = pytest.mark.asyncio(loop_scope="session")

OLD = "old-signing-key-of-the-fault-suite-0123456789"
NEW = "new-signing-key-of-the-fault-suite-9876543210"
FOREIGN = "a-key-nobody-here-knows-about-0123456789abcdef"


def settings_of(database_url: str, redis_url: str, tmp: Path, *secret: str) -> Settings:
    return Settings(database_url=database_url, redis_url=redis_url, secret_keys=secret,
                    data_dir=tmp, hub_port=0, hub_window=100)


@asynccontextmanager
async def doors(settings: Settings, redis: aioredis.Redis) -> AsyncIterator[tuple[Api, str]]:
    """The API (in process) and a hub on a free port, with the same keys."""
    async with AsyncExitStack() as stack:
        api = await stack.enter_async_context(serving(settings, redis))
        hub = Hub(settings, hub_id="tokens")
        port = await hub.start(port=0)
        stack.push_async_callback(hub.stop)
        yield api, f"ws://127.0.0.1:{port}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def with_claims(token: str, **changes: object) -> str:
    """The same signature over edited claims (a forgery that keeps a real signature)."""
    payload, sig = token.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body.update(changes)
    return _b64(json.dumps(body, separators=(",", ":")).encode()) + "." + sig


async def hub_refuses(url: str, token: str) -> str:
    """The reason of the unauthorized error; asserts the close code is 4001."""
    async with connect(f"{url}/ws?token={token}", open_timeout=5) as ws:
        frame = json.loads(await ws.recv())
        assert (frame["op"], frame["code"]) == ("error", "unauthorized"), frame
        with pytest.raises(ConnectionClosed) as info:
            await ws.recv()
        assert info.value.rcvd is not None and info.value.rcvd.code == 4001
        return str(frame["reason"])


async def hub_accepts(url: str, token: str, channel: str) -> dict[str, object]:
    """The answer to subscribing ``channel`` with a token the hub lets in."""
    async with connect(f"{url}/ws?token={token}", open_timeout=5) as ws:
        assert json.loads(await ws.recv())["op"] == "hello"
        await ws.send(json.dumps({"op": "sub", "id": "1", "channels": [channel]}))
        answer: dict[str, object] = json.loads(await ws.recv())
        return answer


async def api_status(api: Api, token: str) -> tuple[int, int]:
    """Status of a snapshot read and of a command with this token."""
    read = await api.get(f"/api/r/{R}/expo", token)
    command = await api.post(f"/api/r/{R}/tables/A2/open", token, {"guests": 2})
    return read.status_code, command.status_code


async def test_bad_tokens_are_refused_by_the_api_and_the_hub(
        database_url: str, redis_url: str, redis: aioredis.Redis, tmp_path: Path) -> None:
    """Tampered (signature or claims), expired, foreign-key and revoked tokens: 401 on reads
    and commands, nothing changes, and the hub answers unauthorized and closes with 4001."""
    settings = settings_of(database_url, redis_url, tmp_path, NEW)
    merchant, _ = tokens.issue([NEW], "merchant", [R], ttl=600)
    revoked, claims = tokens.issue([NEW], "merchant", [R], ttl=600)
    await redis.sadd(keys.revoked(R), claims.jti)
    station, _ = tokens.issue([NEW], "station", [R], ttl=600, station="wok")
    bad = {
        "tampered signature": merchant[:-6] + ("AAAAAA" if merchant[-1] != "A" else "BBBBBB"),
        "claims edited": with_claims(station, role="merchant"),
        "restaurants edited": with_claims(tokens.issue([NEW], "merchant", [OTHER], ttl=600)[0],
                                          rs=[R]),
        "never expiring": with_claims(merchant, exp=0),
        "expired": tokens.issue([NEW], "merchant", [R], ttl=60, now=0)[0],
        "foreign key": tokens.issue([FOREIGN], "merchant", [R], ttl=600)[0],
        "revoked": revoked,
        "garbage": "x" * 3000,
    }
    async with doors(settings, redis) as (api, hub_url):
        before = await api.log_len()
        for name, token in bad.items():
            assert await api_status(api, token) == (401, 401), name
            await hub_refuses(hub_url, token)
        assert await api.log_len() == before
        assert await api_status(api, merchant) == (200, 200)


async def test_a_token_of_another_restaurant_reaches_nothing_here(
        database_url: str, redis_url: str, redis: aioredis.Redis, tmp_path: Path) -> None:
    """A valid merchant token of restaurant ``other``: 403 on this restaurant's reads and
    commands, and every channel of this restaurant is forbidden on the hub."""
    settings = settings_of(database_url, redis_url, tmp_path, NEW)
    foreign, _ = tokens.issue([NEW], "merchant", [OTHER], ttl=600)
    async with doors(settings, redis) as (api, hub_url):
        assert await api_status(api, foreign) == (403, 403)
        for channel in (f"expo:{R}", f"board:{R}", f"all:{R}", f"table:{R}:A1",
                        f"station:{R}:wok", f"menu:{R}"):
            answer = await hub_accepts(hub_url, foreign, channel)
            assert (answer["op"], answer["code"]) == ("error", "forbidden"), channel
        assert (await hub_accepts(hub_url, foreign, f"expo:{OTHER}"))["op"] == "ack"


async def test_key_rotation_keeps_old_tokens_until_the_old_key_is_retired(
        database_url: str, redis_url: str, redis: aioredis.Redis, tmp_path: Path) -> None:
    """KITCHEN_SECRET_KEYS=NEW,OLD: tokens of OLD still work on both doors and new tokens are
    signed with NEW; KITCHEN_SECRET_KEYS=NEW: tokens of OLD are refused, NEW's keep working."""
    old_token, _ = tokens.issue([OLD], "merchant", [R], ttl=600)
    rotating = settings_of(database_url, redis_url, tmp_path, NEW, OLD)
    async with doors(rotating, redis) as (api, hub_url):
        assert await api_status(api, old_token) == (200, 200)
        assert (await hub_accepts(hub_url, old_token, f"expo:{R}"))["op"] == "ack"
        res = await api.post(f"/api/r/{R}/tokens", old_token, {"role": "expo"})
        assert res.status_code == 201, res.text
        issued = res.json()["token"]
    payload = json.loads(base64.urlsafe_b64decode(issued.split(".")[0] + "=="))
    assert payload["kid"] == tokens.key_id(NEW)

    retired = settings_of(database_url, redis_url, tmp_path, NEW)
    async with doors(retired, redis) as (api, hub_url):
        res = await api.get(f"/api/r/{R}/expo", old_token)
        assert res.status_code == 401 and "retired" in res.json()["error"]["reason"]
        assert "retired" in await hub_refuses(hub_url, old_token)
        assert (await api.get(f"/api/r/{R}/expo", issued)).status_code == 200
        assert (await hub_accepts(hub_url, issued, f"expo:{R}"))["op"] == "ack"


async def test_revoking_a_device_cuts_it_off_on_both_doors(
        database_url: str, redis_url: str, redis: aioredis.Redis, tmp_path: Path) -> None:
    """A merchant revokes a station tablet's token through the API: the tablet's live hub
    connection is closed with 4001 and its next API call gets 401."""
    settings = settings_of(database_url, redis_url, tmp_path, NEW)
    merchant, _ = tokens.issue([NEW], "merchant", [R], ttl=600)
    async with doors(settings, redis) as (api, hub_url):
        res = await api.post(f"/api/r/{R}/tokens", merchant, {"role": "station",
                                                              "station": "wok"})
        assert res.status_code == 201, res.text
        tablet, token_id = res.json()["token"], res.json()["id"]
        async with connect(f"{hub_url}/ws?token={tablet}", open_timeout=5) as ws:
            assert json.loads(await ws.recv())["op"] == "hello"
            await ws.send(json.dumps({"op": "sub", "id": "1", "channels": [f"station:{R}:wok"]}))
            assert json.loads(await ws.recv())["op"] == "ack"
            res = await api.call("DELETE", f"/api/r/{R}/tokens/{token_id}", merchant)
            assert res.status_code == 200, res.text
            with pytest.raises(ConnectionClosed) as info:
                while True:
                    await ws.recv()
            assert info.value.rcvd is not None and info.value.rcvd.code == 4001
        assert (await api.get(f"/api/r/{R}/stations/wok/tickets", tablet)).status_code == 401
        await hub_refuses(hub_url, tablet)
