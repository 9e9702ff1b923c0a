"""The picture of several load runs: one point per run and measure, placed by its rate and
p99, runs with Redis's everysec hollow, the profile's limits drawn."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from loadtests.chart import main

SVG = "{http://www.w3.org/2000/svg}"


def _run(folder: Path, rate: float, accept: int, station: int, diner: int,
         fsync: str = "always") -> Path:
    folder.mkdir()
    rows = [("POST", "place order", accept), ("E2E", "order → station screen", station),
            ("E2E", "bump → diner page", diner), ("POST", "kitchen bump", 9_999)]
    (folder / "summary.json").write_text(json.dumps({
        "profile": {"p99-accept-ms": "50", "p99-station-ms": "100", "p99-ready-ms": "100",
                    "redis-fsync": fsync},
        "orders": {"plateau_mean_per_s": rate},
        "requests": [{"Type": t, "Name": n, "99%": str(ms)} for t, n, ms in rows],
    }))
    return folder


def _points(svg: Path) -> dict[tuple[str, str], ET.Element]:
    root = ET.parse(svg).getroot()
    return {(c.get("data-run", ""), c.get("data-measure", "")): c
            for c in root.iter(f"{SVG}circle") if c.get("class") == "point"}


def test_each_run_and_measure_is_a_point_where_its_figures_say(tmp_path: Path) -> None:
    slow = _run(tmp_path / "slow", rate=160, accept=560, station=200, diner=280)
    fast = _run(tmp_path / "fast", rate=80, accept=38, station=26, diner=28)
    calm = _run(tmp_path / "calm", rate=120, accept=44, station=28, diner=27, fsync="everysec")
    out = tmp_path / "chart.svg"
    assert main([str(out), str(slow), str(fast), str(calm)]) == 0
    points = _points(out)
    assert len(points) == 9, "three runs × three measures; other requests are not drawn"
    # a faster rate is further right, a longer p99 higher up (smaller y)
    assert float(points[("slow", "accept")].get("cx", 0)) > float(
        points[("fast", "accept")].get("cx", 0))
    assert float(points[("slow", "accept")].get("cy", 0)) < float(
        points[("fast", "accept")].get("cy", 0))
    assert points[("calm", "accept")].get("fill") == "white"
    assert points[("fast", "accept")].get("fill") != "white"
    root = ET.parse(out).getroot()
    limits = sorted(float(line.get("data-ms", 0)) for line in root.iter(f"{SVG}line")
                    if line.get("class") == "limit")
    assert limits == [50, 100]
    limit_50 = next(line for line in root.iter(f"{SVG}line") if line.get("data-ms") == "50")
    # the 38 ms point sits below the 50 ms limit, the 560 ms one above it
    assert float(points[("fast", "accept")].get("cy", 0)) > float(limit_50.get("y1", 0))
    assert float(points[("slow", "accept")].get("cy", 0)) < float(limit_50.get("y1", 0))


def test_no_run_to_draw_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert main([str(tmp_path / "chart.svg"), str(tmp_path / "empty")]) == 2
    assert not (tmp_path / "chart.svg").exists()


def _costed(folder: Path, rate: float, cores: dict[str, float]) -> Path:
    folder.mkdir()
    (folder / "summary.json").write_text(json.dumps({
        "profile": {"redis-fsync": "always"},
        "orders": {"plateau_mean_per_s": rate},
        "cores": {"api": 9.9, "window": {**cores, "machine_busy_share": 0.9, "wall_s": 60}},
        "requests": [],
    }))
    return folder


def test_the_cpu_picture_splits_each_run_by_process_against_the_budget(
        tmp_path: Path) -> None:
    """Each bar is a run, each segment a process's ms of CPU per order over the plateau
    (its cores there / orders a second), laid end to end; the budget line sits at what the
    target rate leaves on the cores."""
    slow = _costed(tmp_path / "slow", 120, {"api": 0.42, "generator": 0.51, "redis": 0.24})
    quick = _costed(tmp_path / "quick", 80, {"api": 0.30, "hub": 0.12})
    out = tmp_path / "cpu.svg"
    assert main(["--cpu", str(out), str(slow), str(quick), "--target-rate", "500"]) == 0
    root = ET.parse(out).getroot()
    parts = {(r.get("data-run"), r.get("data-part")): r for r in root.iter(f"{SVG}rect")
             if r.get("class") == "part"}
    assert set(parts) == {("slow", "api"), ("slow", "generator"), ("slow", "redis"),
                          ("quick", "api"), ("quick", "hub")}
    assert float(parts[("slow", "api")].get("data-ms", 0)) == 3.5  # 0.42 cores / 120 per s
    assert float(parts[("quick", "hub")].get("data-ms", 0)) == 1.5
    # segments are laid end to end, widths in proportion to their ms
    gen, api = parts[("slow", "generator")], parts[("slow", "api")]
    assert abs(float(gen.get("x", 0)) + float(gen.get("width", 0))
               - float(api.get("x", 0))) < 0.2
    per_ms = float(api.get("width", 0)) / 3.5
    assert abs(float(parts[("slow", "redis")].get("width", 0)) - 2.0 * per_ms) < 0.2
    budget = next(line for line in root.iter(f"{SVG}line") if line.get("class") == "budget")
    assert budget.get("data-ms") == "4"  # 2 cores × 1,000 ms / 500 orders
    start = float(gen.get("x", 0))
    assert abs(float(budget.get("x1", 0)) - (start + 4 * per_ms)) < 0.2


def test_a_run_without_cpu_figures_is_an_error(tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "summary.json").write_text(json.dumps({"profile": {}, "orders": {},
                                                   "requests": []}))
    with pytest.raises(ValueError, match="no plateau rate"):
        main(["--cpu", str(tmp_path / "cpu.svg"), str(bare)])
