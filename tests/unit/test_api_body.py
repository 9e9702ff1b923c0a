"""Checks of request body fields."""

from __future__ import annotations

import pytest

from api import body
from kitchen.errors import InvalidInput, NotFound


def test_body_checks_name_the_field() -> None:
    """Body checks refuse wrong types and ranges, naming the field; defaults pass through."""
    assert body.integer({}, "n", lo=1, hi=5, default=0) == 0
    assert body.optional_int({"n": None}, "n", lo=0, hi=5) is None
    for bad in ({"n": True}, {"n": "3"}, {"n": 9}, {}):
        with pytest.raises(InvalidInput) as caught:
            body.integer(bad, "n", lo=1, hi=5)
        assert caught.value.details["field"] == "n"
    with pytest.raises(InvalidInput):
        body.ident({"id": "a/b"}, "id")
    assert body.texts({"t": ["a"]}, "t", max_len=3) == ("a",)


@pytest.mark.parametrize("value", ["A\x00", "a\x7fb", "\n", "x" * 129])
def test_a_path_parameter_no_id_can_be_names_nothing(value: str) -> None:
    """Control characters or an overlong id in the path: 404, naming the parameter."""
    from api.endpoint import check_path

    with pytest.raises(NotFound) as caught:
        check_path({"table": value})
    assert caught.value.details == {"param": "table"}


def test_ordinary_path_parameters_pass() -> None:
    from api.endpoint import check_path

    check_path({"table": "A1", "dish": "醉虾", "order": "x" * 128})
