"""ESC/POS ticket rendering (pure)."""

from __future__ import annotations

import ast
from dataclasses import replace
from pathlib import Path
from typing import Any

from kitchen import codec, escpos
from kitchen.escpos import SlipKind, Ticket, TicketLine
from kitchen.events import (
    DishReturned,
    DishStatusChanged,
    DishUrged,
    LinesAdded,
    OrderPlaced,
    StatusChange,
)
from kitchen.model import DishStatus, Line, Order
from workers import printbook
from workers.tickets import Layout, Slip, StationPrinter, slips_for


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
    """Chinese characters take two columns, ASCII one; so do the punctuation marks a Chinese
    printer prints full width (· — … × ① ℃ and curly quotes)."""
    assert escpos.display_width("ab") == 2
    assert escpos.display_width("宫保") == 4
    assert escpos.display_width("·—…×①℃“”") == 16


def test_a_dish_and_note_full_of_chinese_punctuation_stay_on_the_paper() -> None:
    """A name and a note with · — … keep within 32 columns and the quantity on its line."""
    line = TicketLine("招牌·红烧肉（大份）—特辣……", 1, note="不要葱·不要蒜·少盐·少油·多辣")
    text = escpos.plain_text(escpos.render(_ticket(lines=(line,))))
    assert all(escpos.display_width(ln) <= 32 for ln in text.splitlines()), text


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


# -- which slips events print (workers.tickets) and their print state (workers.printbook) ----

T0 = 1_700_000_000_000
PRINTERS = {
    "wok": StationPrinter("wok", "炒锅", "10.0.0.5:9100"),
    "cold": StationPrinter("cold", "凉菜", "10.0.0.6"),
    "expo": StationPrinter("expo", "传菜口", "10.0.0.7:9101", is_expo=True),
}
LAYOUT = Layout("小馆", "Asia/Shanghai", 32)


def _order(*lines: Line) -> Order:
    return Order("o1", "r1", "A1", "s1", 12, T0, lines)


def _line(line_id: str, station: str, status: DishStatus = DishStatus.QUEUED) -> Line:
    return Line(line_id, "d" + line_id, "菜" + line_id, "dish", 1, 100, station, status=status)


def test_a_new_order_prints_each_station_its_dishes_and_the_pass_everything() -> None:
    """Each station with a printer gets its own dishes, the expo every dish, held ones wait."""
    order = _order(_line("L1", "wok"), _line("L2", "cold"), _line("L3", "wok", DishStatus.HELD),
                   _line("L4", "bar"))
    slips = {s.station_id: s for s in slips_for(OrderPlaced("r1", order=order, id="e1", ts=T0),
                                                 PRINTERS, LAYOUT)}
    assert {k: [ln.name for ln in s.ticket.lines] for k, s in slips.items()} == {
        "wok": ["菜L1"], "cold": ["菜L2"], "expo": ["菜L1", "菜L2", "菜L4"]}
    assert slips["wok"].id == "e1:wok"
    assert (slips["wok"].ticket.time, slips["wok"].ticket.order_no) == ("06:13", 12)


def test_follow_up_events_print_add_on_void_urge_and_fire_slips() -> None:
    """加菜, 退菜 (returned or voided after reaching the kitchen), 催菜 and 起菜 make their slips;
    returning a held dish prints nothing."""
    order = _order(_line("L1", "wok"), _line("L2", "wok"))
    wok = {"wok": PRINTERS["wok"]}

    def kinds(event: Any) -> list[tuple[SlipKind, list[str]]]:
        return [(s.ticket.kind, [ln.name for ln in s.ticket.lines])
                for s in slips_for(event, wok, LAYOUT)]

    change = (StatusChange("L2", "wok", "held", "queued"),)
    assert kinds(LinesAdded("r1", order=order, line_ids=("L2",))) == [(SlipKind.ADD, ["菜L2"])]
    assert kinds(DishReturned("r1", order=order, line_id="L1", prev="queued")) == [
        (SlipKind.VOID, ["菜L1"])]
    assert kinds(DishReturned("r1", order=order, line_id="L1", prev="held")) == []
    assert kinds(DishUrged("r1", order=order, line_id="L1")) == [(SlipKind.URGE, ["菜L1"])]
    held = _order(_line("L1", "wok"), replace(_line("L2", "wok"), status=DishStatus.HELD))
    assert kinds(DishUrged("r1", order=held, line_id="L2")) == []  # not in the kitchen yet
    assert kinds(DishStatusChanged("r1", order=order, action="fire", changes=change)) == [
        (SlipKind.FIRE, ["菜L2"])]
    assert kinds(DishStatusChanged("r1", order=order, action="start", changes=change)) == []


def test_a_slip_survives_its_round_trip_through_the_print_state() -> None:
    """A slip stored in the print state comes back equal; printer addresses default to 9100."""
    order = _order(_line("L1", "wok"))
    [slip] = slips_for(OrderPlaced("r1", order=order, ts=T0), {"wok": PRINTERS["wok"]}, LAYOUT)
    assert Slip.from_dict(codec.unpack(codec.pack(slip.to_dict()))) == slip
    assert PRINTERS["cold"].host_port == ("10.0.0.6", 9100)


def test_print_state_adds_a_slip_once_leases_it_and_records_the_outcome() -> None:
    """A slip is added once; one attempt at a time holds it; printed / failed show in the state."""
    order = _order(_line("L1", "wok"))
    [slip] = slips_for(OrderPlaced("r1", order=order, ts=T0), {"wok": PRINTERS["wok"]}, LAYOUT)
    record = printbook.with_slip(None, slip, T0)
    assert record is not None and record["state"] == "pending"
    assert printbook.with_slip(record, slip, T0) is None
    leased = printbook.claimed(record, slip.id, T0, 10_000)
    assert leased is not None and printbook.claimed(leased, slip.id, T0 + 1, 10_000) is None
    retry = printbook.attempt_failed(leased, slip.id, T0 + 2, "refused", give_up=False)
    assert retry is not None and (retry["state"], retry["error"]) == ("pending", "refused")
    assert printbook.claimed(retry, slip.id, T0 + 3, 10_000) is not None
    done = printbook.printed(retry, slip.id, T0 + 4)
    assert done is not None and done["state"] == "printed"
    assert printbook.attempt_failed(done, slip.id, T0 + 5, "late", give_up=True) is None


def test_print_state_lets_go_of_finished_slips_only() -> None:
    """Past 20 slips of one ticket the oldest printed or failed ones are let go, never one
    still waiting (an order's first ticket, behind a printer that is down, is printed when it
    comes back); a slip let go is not added, and so not printed, again."""
    order = _order(_line("L1", "wok"))
    [first] = slips_for(OrderPlaced("r1", order=order, ts=T0), {"wok": PRINTERS["wok"]}, LAYOUT)
    record = printbook.with_slip(None, first, T0)
    urges = [replace(first, id=f"urge-{n}") for n in range(30)]
    for n, slip in enumerate(urges):
        record = printbook.with_slip(record, slip, T0 + n)
        assert record is not None
        if n < 10:  # the first ten urges print; the first ticket waits for its printer
            record = printbook.printed(record, slip.id, T0 + n)
            assert record is not None
    ids = [s["id"] for s in record["slips"]]
    assert first.id in ids and record["state"] == "pending"
    assert len(ids) == printbook.KEEP_SLIPS + 1  # 21 waiting: none may go
    assert record["done"] == [f"urge-{n}" for n in range(10)]
    assert printbook.with_slip(record, urges[0], T0 + 99) is None  # printed before
    assert printbook.with_slip(record, urges[29], T0 + 99) is None  # waiting
