"""Every screen shows user text as text: a merchant's dish, category and station names and a
diner's dish note and waiter call, each carrying markup, appear literally on the station,
expo, diner and merchant screens and never become elements. The pages' own defences are
checked too: a CSP without inline scripts that forbids framing, and scripts that never parse
data as HTML."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from kds_web import media
from kitchen.embedded import EmbeddedPostgres
from tests.security.support import Api, api_process

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
JS = Path(__file__).resolve().parents[2] / "kds_web" / "static" / "js"
PAGES = ("/kds/station", "/kds/expo", "/merchant", "/t/anything")
XSS = '<img src=x data-xss onerror=alert(1)><b data-xss>粗</b>"&'
NOTE = "<img src=x data-xss onerror=alert(2)>少辣"
R = "/api/r/demo"


# -------------------------------------------------------------------------------- headers


@pytest.fixture(scope="module")
def api(postgres_server: EmbeddedPostgres, pg_template: str,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with api_process(postgres_server, pg_template, tmp_path_factory.mktemp("pages"),
                     with_hub=True) as api:
        yield api


@pytest.mark.parametrize("path", PAGES)
def test_pages_forbid_inline_scripts_and_framing(api: Api, path: str) -> None:
    """Each page's CSP allows scripts from its origin only (no inline, no eval), forbids
    plugins, base changes and being framed; the HTML has no inline script or handler."""
    res = httpx.get(api.url + path)
    assert res.status_code == 200
    policy = dict(part.strip().split(" ", 1) for part in
                  res.headers["content-security-policy"].split(";"))
    assert policy["script-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["object-src"] == "'none'" and policy["base-uri"] == "'none'"
    assert policy["default-src"] == "'self'"
    assert res.headers["x-frame-options"] == "DENY"
    assert res.headers["x-content-type-options"] == "nosniff"
    assert re.findall(r"<script(?![^>]*\bsrc=)", res.text) == []
    assert re.search(r"\son[a-z]+\s*=", res.text) is None


def test_the_api_reference_page_runs_nothing_and_cannot_be_framed(api: Api) -> None:
    """/docs, the other HTML page the api serves, allows no script at all and no framing."""
    res = httpx.get(api.url + "/docs")
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/html")
    policy = res.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "script-src" not in policy and "<script" not in res.text
    assert res.headers["x-content-type-options"] == "nosniff"


def test_scripts_never_parse_data_as_html() -> None:
    """No page script uses innerHTML, outerHTML, insertAdjacentHTML, document.write, eval or
    new Function: text can only ever become text nodes."""
    sinks = re.compile(r"\.(innerHTML|outerHTML|insertAdjacentHTML)\b|document\.write|"
                       r"\beval\(|new Function\(|javascript:")
    found = [f"{p.name}: {m.group(0)}" for p in JS.rglob("*.js")
             for m in sinks.finditer(p.read_text())]
    assert found == []


def test_a_dish_picture_keeps_a_quoted_name_inside_its_attribute(api: Api) -> None:
    """A name with quotes cannot add attributes (an onload) to the drawn SVG picture."""
    svg = media.dish_svg('" onload="alert(1)', "wok")
    assert "onload=" not in svg.replace("&quot; onload=&quot;", "")
    res = httpx.get(api.url + "/media/dish/d18.svg", params={"name": '"><script>x</script>'})
    assert res.status_code == 200 and "<script>" not in res.text
    assert res.headers["content-security-policy"] == "default-src 'none'"


# -------------------------------------------------------------------------------- screens


def _call(api: Api, method: str, path: str, token: str, body: Any = None) -> Any:
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": f"k{hash(str(body))}"
               f"{path.replace('/', '')}"[:90]}
    res = httpx.request(method, api.url + path, json=body, headers=headers, timeout=10)
    assert res.status_code < 300, (path, res.text)
    return res.json()


@pytest.fixture(scope="module")
def hostile(api: Api) -> dict[str, str]:
    """Markup in every kind of user text, and the page URLs that show it."""
    merchant = api.token("merchant")
    _call(api, "PATCH", f"{R}/admin/dishes/d18", merchant, {"name_zh": XSS, "name_en": XSS})
    _call(api, "PUT", f"{R}/admin/categories/wok", merchant,
          {"name_zh": XSS, "name_en": XSS, "sort": 3})
    _call(api, "PUT", f"{R}/admin/stations/wok", merchant,
          {"name_zh": XSS, "name_en": XSS, "warn_after_s": 300, "late_after_s": 480})
    _call(api, "POST", f"{R}/tables/A3/open", merchant, {"guests": 2})
    qr = _call(api, "GET", f"{R}/tables/A3/qr", merchant)["token"]
    diner = httpx.post(api.url + "/api/diner/session", json={"qr": qr}).json()["token"]
    _call(api, "POST", f"{R}/tables/A3/orders", diner,
          {"items": [{"dish_id": "d18", "note": NOTE}, {"dish_id": "d04", "note": XSS}]})
    _call(api, "POST", f"{R}/tables/A3/waiter", diner, {"reason": XSS})
    return {
        "station": f"{api.url}/kds/station#token={api.token('station', station='wok')}",
        "expo": f"{api.url}/kds/expo#token={api.token('expo')}",
        "merchant": f"{api.url}/merchant#token={merchant}",
        "menu": f"{api.url}/merchant?tab=menu#token={merchant}",
        "diner": f"{api.url}/t/{qr}",
    }


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does it)")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def open_page(browser: Browser, url: str, problems: list[str]) -> Page:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    page = context.new_page()
    page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("console", lambda m: problems.append(m.text)
            if "Content Security Policy" in m.text else None)
    page.goto(url)
    return page


def shows_as_text(page: Page, *texts: str) -> None:
    for text in texts:
        page.wait_for_function("t => document.body.innerText.includes(t)", arg=text,
                               timeout=10_000)
    assert page.locator("[data-xss]").count() == 0
    assert page.locator('img[src="x"]').count() == 0


@pytest.mark.parametrize(("screen", "texts"), [
    ("station", (XSS, NOTE)),
    ("expo", (XSS, NOTE)),
    ("merchant", ()),
    ("menu", (XSS,)),
    ("diner", (XSS,)),
])
def test_user_text_stays_text_on_every_screen(browser: Browser, hostile: dict[str, str],
                                              screen: str, texts: tuple[str, ...]) -> None:
    """Names, notes and a waiter call carrying markup show literally; no element, no dialog,
    no script error and no CSP violation comes of them."""
    problems: list[str] = []
    page = open_page(browser, hostile[screen], problems)
    try:
        page.wait_for_load_state("networkidle")
        shows_as_text(page, *texts)
        if screen == "diner":
            page.click('[data-tab="orders"]')
            shows_as_text(page, NOTE)
        page.wait_for_timeout(300)
        assert problems == []
    finally:
        page.context.close()
