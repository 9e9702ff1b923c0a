"""The seeded restaurants and their tokens (``loadtests.seed`` writes it), as users see them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EXPO = "expo"


@dataclass(frozen=True)
class Plan:
    api_url: str
    hub_url: str
    dishes: dict[str, str]  # dish id → station id
    stations: tuple[str, ...]  # cooking stations (each has a screen)
    restaurants: tuple[dict[str, Any], ...]

    @classmethod
    def load(cls, path: Path) -> Plan:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            api_url=data["api_url"],
            hub_url=data["hub_url"],
            dishes=dict(data["menu"]["dishes"]),
            stations=tuple(data["menu"]["stations"]),
            restaurants=tuple(data["restaurants"]),
        )

    @property
    def screens_per_restaurant(self) -> int:
        """One screen per cooking station plus the pass."""
        return len(self.stations) + 1

    def kitchen_slot(self, slot: int) -> tuple[dict[str, Any], str]:
        """(restaurant, station id or ``expo``) of kitchen screen number ``slot``."""
        per = self.screens_per_restaurant
        r = self.restaurants[(slot // per) % len(self.restaurants)]
        index = slot % per
        return r, (self.stations[index] if index < len(self.stations) else EXPO)

    @property
    def kitchen_slots(self) -> int:
        return len(self.restaurants) * self.screens_per_restaurant

    @property
    def table_slots(self) -> int:
        return sum(len(r["tables"]) for r in self.restaurants)

    def table_slot(self, slot: int) -> tuple[dict[str, Any], str]:
        """(restaurant, table) of diner number ``slot``: restaurants first, then tables."""
        n = len(self.restaurants)
        r = self.restaurants[slot % n]
        tables = sorted(r["tables"], key=lambda t: (len(t), t))
        return r, tables[(slot // n) % len(tables)]

    def restaurant_slot(self, slot: int, spread: int = 1) -> dict[str, Any]:
        return self.restaurants[(slot * spread) % len(self.restaurants)]
