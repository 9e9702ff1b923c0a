"""Printable sheets of table QR codes as SVG (pure; codes from the pure-Python ``segno``).

One sheet is one A4 page (210 × 297 mm) holding up to ``PER_PAGE`` cards; each card has the
code, the table number in large type and a short "scan to order" line in both languages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

import segno

PAGE_W, PAGE_H = 210, 297  # mm
COLS, ROWS = 3, 4
PER_PAGE = COLS * ROWS
MARGIN = 12
CARD_W = (PAGE_W - 2 * MARGIN) / COLS
CARD_H = (PAGE_H - 2 * MARGIN - 12) / ROWS
FONT = ("'Noto Sans CJK SC','Source Han Sans SC','PingFang SC','Microsoft YaHei',"
        "'WenQuanYi Micro Hei',sans-serif")


@dataclass(frozen=True)
class TableCode:
    table_no: str
    url: str


def module_path(url: str) -> tuple[str, int]:
    """SVG path data drawing the dark modules of ``url``'s QR code (one unit per module, no
    quiet zone), and the code's width in modules."""
    code = segno.make(url, error="m", micro=False)
    size = int(code.symbol_size(border=0)[0])
    parts: list[str] = []
    for y, row in enumerate(code.matrix_iter(border=0)):
        x = 0
        cells = list(row)
        while x < size:
            if cells[x]:
                start = x
                while x < size and cells[x]:
                    x += 1
                parts.append(f"M{start} {y}h{x - start}v1h{start - x}z")
            else:
                x += 1
    return "".join(parts), size


def _card(code: TableCode, x: float, y: float, restaurant: str) -> str:
    path, size = module_path(code.url)
    side = min(CARD_W, CARD_H) - 26  # the code's printed width in mm
    scale = side / size
    qx = x + (CARD_W - side) / 2
    qy = y + 14
    no = escape(code.table_no)
    return (
        f'<g class="card">'
        f'<rect x="{x + 2:.2f}" y="{y + 2:.2f}" width="{CARD_W - 4:.2f}" '
        f'height="{CARD_H - 4:.2f}" rx="3" fill="#fff" stroke="#999" stroke-width=".3" '
        f'stroke-dasharray="2 1.5"/>'
        f'<text x="{x + CARD_W / 2:.2f}" y="{y + 11:.2f}" text-anchor="middle" font-size="8" '
        f'font-weight="700" font-family="{FONT}">桌 {no}</text>'
        f'<g transform="translate({qx:.2f} {qy:.2f}) scale({scale:.4f})">'
        f'<rect x="-2" y="-2" width="{size + 4}" height="{size + 4}" fill="#fff"/>'
        f'<path d="{path}" fill="#000"/></g>'
        f'<text x="{x + CARD_W / 2:.2f}" y="{qy + side + 6:.2f}" text-anchor="middle" '
        f'font-size="3.6" font-family="{FONT}">扫码点餐 · Scan to order</text>'
        f'<text x="{x + CARD_W / 2:.2f}" y="{qy + side + 10.5:.2f}" text-anchor="middle" '
        f'font-size="2.8" fill="#555" font-family="{FONT}">{escape(restaurant)}</text>'
        f"</g>"
    )


def sheet_svg(codes: Sequence[TableCode], restaurant: str = "", page: int = 1,
              pages: int = 1) -> str:
    """One A4 page of up to PER_PAGE table cards."""
    if len(codes) > PER_PAGE:
        raise ValueError(f"at most {PER_PAGE} codes on one sheet")
    cards = []
    for n, code in enumerate(codes):
        col, row = n % COLS, n // COLS
        cards.append(_card(code, MARGIN + col * CARD_W, MARGIN + 10 + row * CARD_H,
                           restaurant))
    title = escape(restaurant)
    footer = f"{page} / {pages}"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{PAGE_W}mm" height="{PAGE_H}mm" '
        f'viewBox="0 0 {PAGE_W} {PAGE_H}">'
        f'<rect width="{PAGE_W}" height="{PAGE_H}" fill="#fff"/>'
        f'<text x="{MARGIN}" y="{MARGIN + 4}" font-size="5" font-weight="700" '
        f'font-family="{FONT}">{title} · 餐桌二维码 Table QR codes</text>'
        f'<text x="{PAGE_W - MARGIN}" y="{MARGIN + 4}" text-anchor="end" font-size="4" '
        f'font-family="{FONT}">{footer}</text>'
        + "".join(cards)
        + "</svg>\n"
    )


def sheets(codes: Sequence[TableCode], restaurant: str = "") -> list[str]:
    """Every page needed for ``codes``, in order."""
    chunks = [codes[i:i + PER_PAGE] for i in range(0, len(codes), PER_PAGE)] or [[]]
    return [sheet_svg(chunk, restaurant, n + 1, len(chunks)) for n, chunk in enumerate(chunks)]
