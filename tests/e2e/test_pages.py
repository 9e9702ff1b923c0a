"""The pages as HTTP resources: security headers, no inline script, dish pictures, QR sheets."""

from __future__ import annotations

import re
import urllib.request

import pytest
import segno

from kds_web import media, qr
from tests.e2e.conftest import api_call, token_of
from tests.e2e.stack import Stack

pytestmark = pytest.mark.e2e

PAGES = ("/kds/station", "/kds/expo", "/merchant", "/t/anything")


def fetch(url: str, token: str = "") -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.status, {k.lower(): v for k, v in answer.headers.items()}, answer.read()


@pytest.mark.parametrize("path", PAGES)
def test_every_page_has_a_strict_csp_and_no_inline_script(stack: Stack, path: str) -> None:
    """Each page allows scripts and styles from its own origin only and has none inline."""
    status, headers, body = fetch(stack.api_url + path)
    assert status == 200
    policy = headers["content-security-policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    assert f"connect-src 'self' {stack.hub_url}" in policy
    html = body.decode()
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []
    assert re.search(r"\son[a-z]+\s*=", html) is None  # no inline event handlers
    assert f'content="{stack.hub_url}"' in html


def test_static_files_and_dish_pictures_are_served(stack: Stack) -> None:
    """The page modules load, and a demo dish has a drawn picture (no network needed)."""
    status, headers, _ = fetch(stack.api_url + "/web/js/station.js")
    assert status == 200 and "javascript" in headers["content-type"]
    status, headers, body = fetch(stack.api_url + "/media/dish/d18.svg")
    assert status == 200 and headers["content-type"].startswith("image/svg+xml")
    assert "宫" in body.decode()


def test_the_qr_sheet_is_an_svg_page_of_table_codes(stack: Stack) -> None:
    """The merchant's printable sheet holds a code per table, page by page."""
    merchant = token_of(stack.url("merchant"))
    status, headers, body = fetch(stack.api_url + "/api/r/demo/qr-sheet.svg?page=1", merchant)
    assert status == 200 and headers["content-type"].startswith("image/svg+xml")
    assert int(headers["x-pages"]) == 2  # 20 tables, 12 a page
    assert body.decode().count('class="card"') == qr.PER_PAGE
    codes = api_call(stack, "GET", "/api/r/demo/qr", merchant)
    assert all(t["url"].startswith(stack.api_url + "/t/") for t in codes["tables"])


def test_a_dish_name_is_escaped_in_its_picture() -> None:
    """Text drawn into an SVG is XML-escaped."""
    svg = media.dish_svg("<script>x</script>", "wok")
    assert "<script>" not in svg and "&lt;" in svg


def test_the_drawn_qr_modules_are_exactly_segnos_matrix() -> None:
    """The path drawn for a code paints exactly the dark modules of segno's matrix."""
    url = "http://127.0.0.1:8000/t/" + "x" * 180
    path, size = qr.module_path(url)
    painted = [[False] * size for _ in range(size)]
    for x, y, w in re.findall(r"M(\d+) (\d+)h(\d+)", path):
        for dx in range(int(w)):
            painted[int(y)][int(x) + dx] = True
    expected = [[bool(v) for v in row]
                for row in segno.make(url, error="m", micro=False).matrix_iter(border=0)]
    assert painted == expected
