"""quick_init: the same class as dataclasses makes, only quicker to build."""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass, field
from typing import Any

import pytest

from kitchen.events import EVENT_TYPES, OrderPlaced
from kitchen.frozen import quick_init
from kitchen.model import DishStatus, Line, Order, TableState


def _record(quick: bool) -> type[Any]:
    """The same class, as dataclasses makes it or with ``quick_init``."""

    @dataclass(frozen=True)
    class Record:
        a: str
        b: int = 2
        tags: list[str] = field(default_factory=list)
        c: str = field(default="c", kw_only=True)

    return quick_init(Record) if quick else Record


Plain, Quick = _record(False), _record(True)


def test_the_signature_is_the_dataclass_one() -> None:
    assert str(inspect.signature(Quick.__init__)) == str(inspect.signature(Plain.__init__))
    for cls in (Line, Order, TableState, *EVENT_TYPES.values()):
        init = cls.__init__
        assert init.__qualname__ == f"{cls.__qualname__}.__init__"
        assert "_set" in init.__code__.co_names  # the quick one: sets __dict__ at once


def test_values_defaults_and_factories_match() -> None:
    for args, kwargs in [(("x",), {}), (("x", 5), {"c": "z"}), ((), {"a": "y", "tags": ["t"]})]:
        assert dataclasses.asdict(Quick(*args, **kwargs)) == \
            dataclasses.asdict(Plain(*args, **kwargs))
    one, two = Quick("x"), Quick("x")
    one.tags.append("hot")
    assert two.tags == []  # a fresh list each time, not one shared default


def test_the_class_stays_frozen_comparable_and_replaceable() -> None:
    q = Quick("x", tags=["t"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        q.a = "y"
    assert q == Quick("x", tags=["t"]) and q != Quick("y")
    assert dataclasses.replace(q, b=9) == Quick("x", 9, ["t"])
    assert repr(q).endswith("Record(a='x', b=2, tags=['t'], c='c')")


def test_wrong_arguments_fail_as_they_would_in_python() -> None:
    with pytest.raises(TypeError):
        Quick()
    with pytest.raises(TypeError):
        Quick("x", 1, [], "positional c")
    with pytest.raises(TypeError):
        Quick("x", nope=1)


def test_an_order_line_and_its_event_behave_as_before() -> None:
    line = Line(id="L1", dish_id="d1", name_zh="宫保鸡丁", name_en="Kung pao chicken", qty=2,
                unit_price_fen=3800, station_id="wok")
    assert line.status is DishStatus.QUEUED and line.times == {} and line.total_fen == 7600
    assert Line.from_dict(line.to_dict()) == line
    order = Order("o1", "r1", "A1", "s1", 7, 1_000, (line,))
    placed = OrderPlaced("r1", order=order)
    other = OrderPlaced("r1", order=order)
    assert len(placed.id) == 32 and placed.id != other.id and placed.ts > 0
    assert dataclasses.replace(placed, ts=5).id == placed.id


def test_classes_it_cannot_speak_for_keep_their_own_init() -> None:
    @dataclass(frozen=True)
    class Checked:
        n: int

        def __post_init__(self) -> None:
            if self.n < 0:
                raise ValueError("negative")

    @dataclass(frozen=True)
    class Derived:
        n: int
        twice: int = field(init=False, default=0)

    for cls in (Checked, Derived):
        init = cls.__init__
        assert quick_init(cls).__init__ is init
    with pytest.raises(ValueError):
        Checked(-1)

    @dataclass
    class Mutable:
        n: int

    with pytest.raises(TypeError, match="not a frozen dataclass"):
        quick_init(Mutable)
