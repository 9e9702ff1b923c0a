"""The codec: every event type round-trips; broken or unknown bytes fail clearly."""

from __future__ import annotations

import json

import msgpack
import pytest

from kitchen import codec, events
from kitchen.errors import CodecError
from kitchen.model import DishStatus, Line, Order, TableState, TableStatus

ORDER = Order("o1", "r1", "A1", "s1", 3, 10, (
    Line("L1", "d1", "醉虾", "Drunken shrimp", 2, 5800, "cold", note="<b>少酒</b>",
         status=DishStatus.COOKING, times={"queued": 10, "cooking": 20}),
))
TABLE = TableState("A1", TableStatus.ORDERING, "s1", 1, 2, ("o1",))
SAMPLES: list[events.Event] = [
    events.OrderPlaced("r1", order=ORDER),
    events.LinesAdded("r1", order=ORDER, line_ids=("L1",)),
    events.DishStatusChanged("r1", order=ORDER, action="start",
                             changes=(events.StatusChange("L1", "cold", "queued", "cooking"),)),
    events.ReturnRequested("r1", order=ORDER, line_id="L1"),
    events.DishReturned("r1", order=ORDER, line_id="L1", prev="queued"),
    events.ReturnRefused("r1", order=ORDER, line_id="L1"),
    events.DishUrged("r1", order=ORDER, line_id="L1"),
    events.DishOverdue("r1", order=ORDER, line_id="L1"),
    events.OrderRushed("r1", order=ORDER),
    events.TicketPrinted("r1", order_id="o1", station_id="cold", ok=False, error="offline"),
    events.TableOpened("r1", table=TABLE),
    events.TableTransferred("r1", source=TableState("A1"), target=TABLE, orders=(ORDER,)),
    events.TableMerged("r1", source=TableState("A2"), target=TABLE, orders=(ORDER,)),
    events.TableCleared("r1", table=TableState("A1"), session_id="s1", total_fen=11600),
    events.BillRequested("r1", table=TABLE, total_fen=11600),
    events.TableReopened("r1", table=TABLE),
    events.WaiterCalled("r1", table=TABLE, reason="加水"),
    events.CartChanged("r1", table_no="A1", items=(events.CartItem("d1", 2, "少酒"),)),
    events.StockChanged("r1", dish_id="d1", remaining=0),
    events.StockChanged("r1", dish_id="d1", remaining=None),
    events.DishSoldOut("r1", dish_id="d1"),
    events.DishRestocked("r1", dish_id="d1", remaining=5),
    events.MenuChanged("r1", menu_version=2),
]


def test_every_event_type_has_a_sample() -> None:
    """The samples cover every registered event type."""
    assert {type(e) for e in SAMPLES} == set(events.EVENT_TYPES.values())


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: e.type)
def test_round_trip(event: events.Event) -> None:
    """msgpack bytes decode to an equal event; the JSON form carries type, id and position."""
    assert codec.decode(codec.encode(event)) == event
    obj = json.loads(codec.event_json(event, "5-0"))
    assert (obj["type"], obj["id"], obj["pos"]) == (event.type, event.id, "5-0")


def test_a_plain_form_already_made_is_used_only_for_its_own_object() -> None:
    """An order its command already turned into a dict is not turned again; a form kept for
    another object that happens to share its id() is not used."""
    placed = events.OrderPlaced("r1", order=ORDER)
    made = ORDER.to_dict()
    assert codec.encode(placed, {id(ORDER): (ORDER, made)}) == codec.encode(placed)
    marked = {**made, "no": 99}
    assert codec.decode(codec.encode(placed, {id(ORDER): (ORDER, marked)})).order.no == 99
    twin = Order.from_dict(made)
    assert codec.decode(codec.encode(placed, {id(ORDER): (twin, marked)})).order.no == 3


def test_bytes_already_packed_are_reused_and_give_the_same_bytes() -> None:
    """The order a command stores is packed once; its event and its answer take those bytes.
    What comes out is exactly what packing the whole would give, key order included."""
    made = ORDER.to_dict()
    blob = codec.pack(made)
    packed = {id(made): (made, blob)}
    placed = events.OrderPlaced("r1", order=ORDER)
    assert codec.encode(placed, {id(ORDER): (ORDER, made)}, packed) == \
        codec.encode(placed, {id(ORDER): (ORDER, made)})
    answers: list[object] = [
        {"fp": "f", "body": {"order": made, "table": TABLE.to_dict(), "n": 1}},
        {"order": made, "changes": [{"line_id": "L1"}], "pos": "1-0"},
        {"a": {"b": {"c": {"order": made}}}},  # deeper than it looks: packed again
        {}, [made], "text", {str(n): n for n in range(20)} | {"order": made},
    ]
    for answer in answers:
        assert codec.pack_reusing(answer, packed) == codec.pack(answer)
    stale = {**made, "no": 99}  # bytes kept for a dict that shares its id() are not used
    assert codec.unpack(codec.pack_reusing({"order": stale}, {id(stale): (made, blob)})) == \
        {"order": stale}
    assert codec.pack_reusing({"order": made}, packed) == b"\x81\xa5order" + blob


def test_ids_are_unique() -> None:
    """Each event gets its own id, so consumers can deduplicate."""
    assert len({e.id for e in SAMPLES}) == len(SAMPLES)


@pytest.mark.parametrize("raw", [
    b"", b"\xc1", b"not msgpack at all", msgpack.packb([1, 2]),
    msgpack.packb({"t": "order.placed"}),
    msgpack.packb({"t": "order.placed", "v": 1, "id": "x", "r": "r", "ts": 1, "p": []}),
])
def test_broken_bytes_raise_codec_error(raw: bytes) -> None:
    """Garbage or half an envelope is a CodecError, never another exception."""
    with pytest.raises(CodecError):
        codec.decode(raw)


def test_unknown_type_newer_version_and_bad_payload_are_refused() -> None:
    """Unknown event types, versions from the future and wrong payloads are CodecErrors."""
    base = {"v": 1, "id": "x", "r": "r", "ts": 1, "p": {"dish_id": "d"}}
    with pytest.raises(CodecError, match="unknown"):
        codec.decode(msgpack.packb({**base, "t": "dish.teleported"}))
    with pytest.raises(CodecError, match="newer"):
        codec.decode(msgpack.packb({**base, "t": "dish.sold_out", "v": 99}))
    with pytest.raises(CodecError):
        codec.decode(msgpack.packb({**base, "t": "order.placed", "p": {"order": {"id": 1}}}))


def test_a_line_keeps_every_field() -> None:
    """A line's dict names every field, so nothing of a dish is dropped on its way to Redis."""
    import dataclasses

    line = dataclasses.replace(ORDER.lines[0], added=True, urges=2, last_urged_at=30,
                               overdue=True, return_requested=True, set_meal_id="m1",
                               course=2, target_s=300)
    assert list(line.to_dict()) == [f.name for f in dataclasses.fields(Line)]
    assert Line.from_dict(codec.unpack(codec.pack(line.to_dict()))) == line
