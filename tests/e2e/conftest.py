"""End-to-end fixtures: the real processes (api, hub, workers) and a real Chromium.

The processes run once for the whole ``tests/e2e`` package, against a database of their own
(copied from the migrated template) and the session's Redis, emptied first; they are stopped
when the package is done, before any other test empties that Redis again. Each test gets fresh
browser contexts; pages report console errors and CSP violations, which fail the test.
"""

from __future__ import annotations

import json
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    ViewportSize,
    sync_playwright,
)

from kitchen.embedded import EmbeddedPostgres, EmbeddedRedis
from tests.e2e.stack import ROOT, Stack, fresh_database, run_async

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
TABLET: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}


async def _flush(url: str) -> None:
    client = aioredis.Redis.from_url(url)
    try:
        await client.flushall()
    finally:
        await client.aclose()


@pytest.fixture(scope="package")
def stack(postgres_server: EmbeddedPostgres, redis_server: EmbeddedRedis, pg_template: str,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """api, hub and workers as subprocesses on free ports, the demo restaurant seeded."""
    database_url = run_async(fresh_database(postgres_server, pg_template, "e2e"))
    run_async(_flush(redis_server.url))
    running = Stack(database_url, redis_server.url, tmp_path_factory.mktemp("e2e-stack"))
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does it)")
    pw = sync_playwright().start()
    try:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        pw.stop()


class Screens:
    """Opens pages in fresh browser contexts and collects what went wrong in them."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.contexts: list[BrowserContext] = []
        self.problems: list[str] = []

    def open(self, url: str, size: ViewportSize | None = None, name: str = "",
             clock_off_s: float | None = None) -> Page:
        """``clock_off_s``: the page runs on a clock the test can move (``page.clock``), that
        many seconds ahead of the real one (behind if < 0)."""
        context = self.browser.new_context(viewport=size or TABLET, locale="zh-CN",
                                           timezone_id="Asia/Shanghai")
        self.contexts.append(context)
        page = context.new_page()
        if clock_off_s is not None:
            page.clock.install(time=datetime.now() + timedelta(seconds=clock_off_s))
        label = name or url.split("#")[0]
        page.on("console", lambda msg: self._console(label, msg))
        page.on("pageerror", lambda exc: self.problems.append(f"{label}: page error {exc}"))
        page.goto(url)
        return page

    def _console(self, label: str, msg: ConsoleMessage) -> None:
        text = msg.text
        if msg.type == "error" and not _expected_network_error(text):
            self.problems.append(f"{label}: console {msg.type}: {text}")
        elif "Content Security Policy" in text:
            self.problems.append(f"{label}: CSP: {text}")

    def close(self) -> None:
        for context in self.contexts:
            context.close()


def _expected_network_error(text: str) -> bool:
    """Errors a browser logs on purpose while a test takes it offline or a command is refused."""
    return any(part in text for part in (
        "net::ERR_INTERNET_DISCONNECTED", "Failed to load resource", "WebSocket connection",
        "net::ERR_CONNECTION_REFUSED"))


@pytest.fixture
def screens(browser: Browser) -> Iterator[Screens]:
    opened = Screens(browser)
    try:
        yield opened
    finally:
        opened.close()
    assert not opened.problems, "\n".join(opened.problems)


@pytest.fixture(scope="package")
def screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


# -- talking to the API directly (the parts of a scenario that are not under test) ------------


def api_call(stack: Stack, method: str, path: str, token: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{stack.api_url}{path}", data=data, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    request.add_header("Content-Type", "application/json")
    if method != "GET":
        request.add_header("Idempotency-Key", uuid.uuid4().hex)
    with urllib.request.urlopen(request, timeout=10) as answer:
        raw = answer.read()
    return json.loads(raw) if raw else None


def token_of(url: str) -> str:
    """The token in a page URL (``…#token=…`` or ``/t/<token>``)."""
    if "#token=" in url:
        return url.split("#token=", 1)[1]
    return url.rsplit("/t/", 1)[1]
