"""Menu edits keep the menu whole and raise its version (pure)."""

from __future__ import annotations

import pytest

from api import menu_edit
from kitchen import demo
from kitchen.errors import InvalidInput, NotFound

MENU = demo.menu(now_ms=1_800_000_000_000)


def test_menu_edits_bump_the_version_and_keep_integrity() -> None:
    """Edits raise the version; deleting what is in use or naming what is missing fails."""
    new, dish = menu_edit.patch_dish(MENU, "d40", {"price_fen": 700})
    assert new.version == MENU.version + 1 and dish.price_fen == 700
    assert new.dish("d40") == dish and new.dish("d39") == MENU.dish("d39")
    with pytest.raises(menu_edit.InUse):
        menu_edit.delete_station(MENU, "wok")
    with pytest.raises(menu_edit.InUse):
        menu_edit.delete_dish(MENU, "d18")  # in set meal s2
    with pytest.raises(NotFound):
        menu_edit.delete_offer(MENU, "nope")
    with pytest.raises(InvalidInput):
        menu_edit.put_offer(MENU, "o2", {"dish_id": "d01", "price_fen": 1, "starts_at": 2,
                                          "ends_at": 1})
    dropped = menu_edit.delete_dish(MENU, "d16")
    assert dropped.dish("d16") is None and dropped.offers == ()
