"""Kitchen tickets as ESC/POS bytes (pure: no I/O).

A :class:`Ticket` is what one station's printer should print for one order: a new order, the
dishes added to it (加菜), a returned or voided dish (退菜), an urge (催菜), a held course sent
to the kitchen (起菜), or a reprint (补打).
:func:`render` turns it into the byte stream that common 58 / 80 mm thermal printers understand:
initialise, Chinese character mode, bold and double-size headings, the dishes, a feed and a cut.
Text is encoded as GB18030, the encoding of Chinese thermal printers.

:func:`plain_text` does the reverse for the subset of commands :func:`render` emits, so that
tests and previews can read a ticket.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum

ENCODING = "gb18030"

ESC = b"\x1b"
GS = b"\x1d"
FS = b"\x1c"

INIT = ESC + b"@"
CHINESE_ON = FS + b"&"
BOLD_ON = ESC + b"E\x01"
BOLD_OFF = ESC + b"E\x00"
ALIGN_LEFT = ESC + b"a\x00"
ALIGN_CENTER = ESC + b"a\x01"
SIZE_NORMAL = GS + b"!\x00"
SIZE_TALL = GS + b"!\x01"
SIZE_DOUBLE = GS + b"!\x11"
FEED_CUT = GS + b"V\x42\x03"  # feed 3 lines, then a partial cut

# every command render() emits, longest first (for plain_text)
COMMANDS = (FEED_CUT, BOLD_ON, BOLD_OFF, ALIGN_LEFT, ALIGN_CENTER, SIZE_NORMAL, SIZE_TALL,
            SIZE_DOUBLE, INIT, CHINESE_ON)


class SlipKind(StrEnum):
    NEW = "new"  # a new order
    ADD = "add"  # 加菜
    VOID = "void"  # 退菜: returned or voided dishes
    URGE = "urge"  # 催菜
    FIRE = "fire"  # 起菜: a held course is sent to the kitchen


BANNERS: dict[SlipKind, str] = {
    SlipKind.NEW: "",
    SlipKind.ADD: "【加菜】",
    SlipKind.VOID: "【退菜】",
    SlipKind.URGE: "【催菜】",
    SlipKind.FIRE: "【起菜】",
}
MARKS: dict[SlipKind, str] = {
    SlipKind.NEW: "",
    SlipKind.ADD: "加",
    SlipKind.VOID: "退",
    SlipKind.URGE: "催",
    SlipKind.FIRE: "",
}


@dataclass(frozen=True)
class TicketLine:
    name: str
    qty: int
    note: str = ""
    taste: tuple[str, ...] = ()


@dataclass(frozen=True)
class Ticket:
    station: str  # the station's name, printed on top
    table_no: str
    order_no: int
    time: str  # local time to print, e.g. "12:34"
    lines: tuple[TicketLine, ...]
    kind: SlipKind = SlipKind.NEW
    restaurant: str = ""
    guests: int = 0
    rush: bool = False
    reprint: bool = False
    width: int = 32  # characters per line: 32 on 58 mm paper, 48 on 80 mm
    extra: tuple[str, ...] = field(default=())  # free lines printed under the dishes


def display_width(text: str) -> int:
    """Columns ``text`` takes on a thermal printer: wide (CJK) characters take two, and so do
    the ones of ambiguous width (· — … × ① ℃ “ ”), which a Chinese printer's GB18030 font
    prints full width."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WFA" and not ch.isascii() else 1
               for ch in text)


def wrap(text: str, width: int) -> list[str]:
    """Split ``text`` into pieces of at most ``width`` columns (never splitting a character)."""
    pieces: list[str] = []
    current, used = "", 0
    for ch in text:
        w = display_width(ch)
        if used + w > width and current:
            pieces.append(current)
            current, used = "", 0
        current += ch
        used += w
    if current or not pieces:
        pieces.append(current)
    return pieces


def columns(left: str, right: str, width: int) -> str:
    """``left`` and ``right`` on one line, right-aligned; wraps ``left`` if they do not fit."""
    gap = width - display_width(left) - display_width(right)
    if gap >= 1:
        return left + " " * gap + right
    head = wrap(left, max(1, width - display_width(right) - 1))
    last = head[-1]
    pad = width - display_width(last) - display_width(right)
    return "\n".join([*head[:-1], last + " " * max(1, pad) + right])


def _text(text: str) -> bytes:
    return text.encode(ENCODING, errors="replace") + b"\n"


def _header(ticket: Ticket) -> list[bytes]:
    out = [ALIGN_CENTER]
    if ticket.restaurant:
        out.append(_text(ticket.restaurant))
    banner = BANNERS[ticket.kind] + ("【加急】" if ticket.rush else "")
    if ticket.reprint:
        banner += "【补打】"
    if banner:
        out += [SIZE_DOUBLE, BOLD_ON, _text(banner), BOLD_OFF, SIZE_NORMAL]
    out += [BOLD_ON, _text(ticket.station), BOLD_OFF]
    out += [SIZE_DOUBLE, BOLD_ON, _text(f"桌 {ticket.table_no}"), BOLD_OFF, SIZE_NORMAL]
    out.append(ALIGN_LEFT)
    guests = f"  {ticket.guests}人" if ticket.guests else ""
    out.append(_text(columns(f"单号 #{ticket.order_no}{guests}", ticket.time, ticket.width)))
    out.append(_text("-" * ticket.width))
    return out


def _dish(ticket: Ticket, line: TicketLine) -> list[bytes]:
    mark = MARKS[ticket.kind]
    name = f"[{mark}]{line.name}" if mark else line.name
    # double height keeps the width: the line fits the same columns
    out = [SIZE_TALL, BOLD_ON, _text(columns(name, f"x{line.qty}", ticket.width)),
           BOLD_OFF, SIZE_NORMAL]
    if line.taste:
        out += [_text(p) for p in wrap("  口味: " + " ".join(line.taste), ticket.width)]
    if line.note:
        out += [BOLD_ON, *[_text(p) for p in wrap("  备注: " + line.note, ticket.width)],
                BOLD_OFF]
    return out


def render(ticket: Ticket) -> bytes:
    """The whole ticket as ESC/POS bytes, ending with a feed and a cut."""
    parts: list[bytes] = [INIT, CHINESE_ON, *_header(ticket)]
    for line in ticket.lines:
        parts += _dish(ticket, line)
    parts.append(_text("-" * ticket.width))
    total = sum(ln.qty for ln in ticket.lines)
    parts.append(_text(f"共 {total} 份"))
    parts += [_text(p) for p in ticket.extra]
    parts.append(FEED_CUT)
    return b"".join(parts)


def plain_text(data: bytes) -> str:
    """The text of bytes made by :func:`render`, without its commands (for tests and previews)."""
    out = bytearray()
    i = 0
    while i < len(data):
        for cmd in COMMANDS:
            if data.startswith(cmd, i):
                i += len(cmd)
                break
        else:
            out.append(data[i])
            i += 1
    return out.decode(ENCODING)
