"""ESC/POS ticket rendering (pure)."""

from __future__ import annotations

import ast
from pathlib import Path

from kitchen import escpos
from kitchen.escpos import SlipKind, Ticket, TicketLine


def _ticket(**kw: object) -> Ticket:
    base: dict[str, object] = {
        "station": "热菜档口",
        "table_no": "A12",
        "order_no": 7,
        "time": "12:34",
        "lines": (
            TicketLine("宫保鸡丁", 2, note="不要花生", taste=("辣",)),
            TicketLine("米饭", 3),
        ),
    }
    base.update(kw)
    return Ticket(**base)  # type: ignore[arg-type]


def test_ticket_starts_with_init_and_chinese_mode_and_ends_with_a_cut() -> None:
    """A rendered ticket initialises the printer, enters Chinese mode and ends with feed + cut."""
    data = escpos.render(_ticket())
    assert data.startswith(escpos.INIT + escpos.CHINESE_ON)
    assert data.endswith(escpos.FEED_CUT)


def test_chinese_text_is_encoded_as_gb18030() -> None:
    """Dish names reach the printer as GB18030 bytes, not UTF-8."""
    data = escpos.render(_ticket())
    assert "宫保鸡丁".encode("gb18030") in data
    assert "宫保鸡丁".encode() not in data


def test_plain_text_shows_table_number_dishes_quantities_notes_and_taste() -> None:
    """The decoded ticket names the table, the ticket number, each dish with qty, note and taste."""
    text = escpos.plain_text(escpos.render(_ticket()))
    assert "桌 A12" in text
    assert "#7" in text
    assert "12:34" in text
    lines = text.splitlines()
    assert any(ln.startswith("宫保鸡丁") and ln.endswith("x2") for ln in lines)
    assert any(ln.startswith("米饭") and ln.endswith("x3") for ln in lines)
    assert "备注: 不要花生" in text
    assert "口味: 辣" in text
    assert "共 5 份" in text


def test_table_number_is_printed_bold_and_double_size() -> None:
    """The table number is printed in double size and bold so the cook sees it from afar."""
    data = escpos.render(_ticket())
    table = "桌 A12".encode("gb18030")
    assert escpos.SIZE_DOUBLE + escpos.BOLD_ON + table in data


def test_add_on_void_and_urge_slips_carry_their_banner_and_marks() -> None:
    """加菜 / 退菜 / 催菜 / 起菜 slips show their banner on top (and a mark before each dish)."""
    for kind, banner, mark in [
        (SlipKind.ADD, "【加菜】", "[加]"),
        (SlipKind.VOID, "【退菜】", "[退]"),
        (SlipKind.URGE, "【催菜】", "[催]"),
        (SlipKind.FIRE, "【起菜】", ""),
    ]:
        text = escpos.plain_text(escpos.render(_ticket(kind=kind)))
        assert banner in text
        assert f"{mark}宫保鸡丁" in text


def test_a_new_order_has_no_banner_and_a_reprint_says_so() -> None:
    """A plain new ticket carries no banner; a reprint is marked 补打."""
    assert "【" not in escpos.plain_text(escpos.render(_ticket()))
    assert "【补打】" in escpos.plain_text(escpos.render(_ticket(reprint=True)))


def test_lines_never_exceed_the_paper_width() -> None:
    """Long dish names and notes wrap within the paper's columns (CJK characters count double)."""
    long = TicketLine("超级无敌特别好吃的秘制红烧肉配上等米饭和小菜", 12, note="少盐" * 20)
    text = escpos.plain_text(escpos.render(_ticket(lines=(long,))))
    assert all(escpos.display_width(ln) <= 32 for ln in text.splitlines())
    assert text.count("x12") == 1


def test_display_width_counts_wide_characters_twice() -> None:
    """Chinese characters take two columns, ASCII one."""
    assert escpos.display_width("ab") == 2
    assert escpos.display_width("宫保") == 4


def test_escpos_imports_no_io_library() -> None:
    """The renderer is pure: it imports no network, database or Redis module."""
    tree = ast.parse(Path(escpos.__file__).read_text(encoding="utf-8"))
    names = {
        a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
    }
    names |= {
        (n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
    }
    assert not names & {"socket", "asyncio", "redis", "asyncpg", "starlette", "websockets"}
