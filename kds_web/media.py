"""Dish pictures drawn on the fly (pure): a plate with the dish's first character on it.

Every dish of the demo has ``photo = /media/dish/<id>.svg``; nothing is fetched from the
internet. The plate's colour follows the dish's category so a menu page reads at a glance.
"""

from __future__ import annotations

import hashlib
from xml.sax.saxutils import escape

# category id → (background, plate centre, character colour)
PALETTE: dict[str, tuple[str, str, str]] = {
    "cold": ("#d8efe4", "#2f8f6b", "#ffffff"),
    "river": ("#d9e8f6", "#2c6aa6", "#ffffff"),
    "wok": ("#fbe0d4", "#c4441c", "#ffffff"),
    "stew": ("#f6ead2", "#a0661b", "#ffffff"),
    "staple": ("#f3e9c8", "#b58b12", "#ffffff"),
    "drink": ("#e9e1f5", "#6b46a8", "#ffffff"),
}
_FALLBACK = (
    ("#e4e8ee", "#44546a", "#ffffff"),
    ("#f5dde3", "#a3324f", "#ffffff"),
    ("#dff0f0", "#1f7a7a", "#ffffff"),
    ("#ece6da", "#6d5a3a", "#ffffff"),
)


def colours(category_id: str) -> tuple[str, str, str]:
    """The category's colours; unknown categories get a stable colour of their own."""
    if category_id in PALETTE:
        return PALETTE[category_id]
    digest = hashlib.sha256(category_id.encode()).digest()
    return _FALLBACK[digest[0] % len(_FALLBACK)]


def first_char(name: str) -> str:
    """The first visible character of a dish name (a placeholder when it is empty)."""
    for ch in name.strip():
        if not ch.isspace():
            return ch
    return "菜"


def dish_svg(name_zh: str, category_id: str) -> str:
    """A 400×300 SVG picture of the dish: a plate in its category colour with one character."""
    bg, centre, ink = colours(category_id)
    ch = escape(first_char(name_zh))
    label = escape(name_zh.strip()[:24], {'"': "&quot;"})  # it goes into an attribute
    return f"""<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 300" width="400" \
height="300" role="img" aria-label="{label}">
<rect width="400" height="300" fill="{bg}"/>
<ellipse cx="200" cy="162" rx="150" ry="118" fill="#000" opacity=".10"/>
<circle cx="200" cy="150" r="122" fill="#ffffff"/>
<circle cx="200" cy="150" r="122" fill="none" stroke="#d9d9d9" stroke-width="3"/>
<circle cx="200" cy="150" r="96" fill="none" stroke="#ececec" stroke-width="6"/>
<circle cx="200" cy="150" r="82" fill="{centre}"/>
<text x="200" y="150" text-anchor="middle" dominant-baseline="central" font-size="96" \
font-weight="700" fill="{ink}" font-family="'Noto Sans CJK SC','Source Han Sans SC',\
'PingFang SC','Microsoft YaHei','WenQuanYi Micro Hei',sans-serif">{ch}</text>
</svg>
"""
