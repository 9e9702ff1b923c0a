"""Pictures of several load runs. Plain SVG files, no plotting library.

    python -m loadtests.chart OUT.svg artifacts/loadtest/full-*/        # p99 against the rate
    python -m loadtests.chart --cpu OUT.svg artifacts/loadtest/full-*/  # CPU per order

The first: each run folder's ``summary.json`` gives one point per measure: the plateau's
accepted orders a second across, and up a logarithmic scale the p99 of the accept (``POST
place order``), of order → station screen and of bump → diner page. Runs with Redis's
``appendfsync everysec`` are drawn hollow. The limits of the profile (``p99-*-ms``) are dashed
lines.

The second (``--cpu``): one bar per run, the milliseconds of CPU an order cost over the
plateau, split by process (the cores each used over the plateau, divided by the orders
accepted a second), against the budget a target rate leaves on the machine's cores
(``--target-rate 500 --cores 2``: 4 ms), a dashed line.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

MEASURES = (  # (request type, name, label, colour, the profile's limit key)
    ("POST", "place order", "accept", "#d1495b", "p99-accept-ms"),
    ("E2E", "order → station screen", "order → station", "#00798c", "p99-station-ms"),
    ("E2E", "bump → diner page", "bump → diner", "#edae49", "p99-ready-ms"),
)
WIDTH, HEIGHT = 720, 420
LEFT, RIGHT, TOP, BOTTOM = 70, 200, 40, 50
Y_LO_MS, Y_HI_MS = 1.0, 10_000.0


@dataclass(frozen=True)
class Plateau:
    """One run: its folder, the orders accepted a second over its plateau, Redis's fsync."""

    folder: str
    rate: float
    fsync: str


@dataclass(frozen=True)
class Run(Plateau):
    p99_ms: dict[str, float]  # label → p99
    limits_ms: dict[str, float]


def load(folder: Path) -> Run:
    summary: dict[str, Any] = json.loads((folder / "summary.json").read_text())
    rows = {(r["Type"], r["Name"]): r for r in summary["requests"]}
    profile = summary["profile"]
    p99, limits = {}, {}
    for kind, name, label, _, limit_key in MEASURES:
        row = rows.get((kind, name))
        if row and row.get("99%") not in (None, "", "N/A"):
            p99[label] = float(row["99%"])
        if limit_key in profile:
            limits[label] = float(profile[limit_key])
    return Run(folder.name, float(summary["orders"].get("plateau_mean_per_s") or 0),
               profile.get("redis-fsync", "always"), p99, limits)


def _nice_step(span: float) -> float:
    raw = span / 6
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def _head(width: int, height: int, left: int, title: str) -> list[str]:
    return [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
            '<rect width="100%" height="100%" fill="white"/>',
            f'<text x="{left}" y="22" font-size="15" font-weight="bold">{escape(title)}</text>']


def _ticks(x: Callable[[float], float], x_hi: float, step: float, line_y: tuple[float, float],
           label_y: float, colour: str) -> list[str]:
    """A mark and a number every ``step`` along the horizontal axis."""
    out, tick = [], 0.0
    while tick <= x_hi + 1e-9:
        out.append(f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{line_y[0]}" '
                   f'y2="{line_y[1]}" stroke="{colour}"/>')
        out.append(f'<text x="{x(tick):.1f}" y="{label_y}" text-anchor="middle">{tick:g}</text>')
        tick += step
    return out


def render(runs: list[Run], title: str = "p99 latency against the order rate") -> str:
    if not runs:
        raise ValueError("no runs to draw")
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    x_hi = max(r.rate for r in runs) * 1.1 or 1.0
    step = _nice_step(x_hi)
    x_hi = math.ceil(x_hi / step) * step

    def x(rate: float) -> float:
        return LEFT + plot_w * rate / x_hi

    def y(ms: float) -> float:
        ms = min(max(ms, Y_LO_MS), Y_HI_MS)
        share = math.log10(ms / Y_LO_MS) / math.log10(Y_HI_MS / Y_LO_MS)
        return TOP + plot_h * (1 - share)

    out = _head(WIDTH, HEIGHT, LEFT, title)
    for ms in (1, 10, 100, 1_000, 10_000):
        out.append(f'<line class="grid" x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(ms):.1f}" '
                   f'y2="{y(ms):.1f}" stroke="#e5e5e5"/>')
        label = f"{ms:,} ms" if ms < 1000 else f"{ms // 1000} s"
        out.append(f'<text x="{LEFT - 8}" y="{y(ms) + 4:.1f}" text-anchor="end">{label}</text>')
    out += _ticks(x, x_hi, step, (TOP + plot_h, TOP + plot_h + 5), TOP + plot_h + 18, "black")
    out.append(f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 10}" text-anchor="middle">'
               'orders accepted per second (plateau)</text>')
    out.append(f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" '
               'stroke="black"/>')
    limits: dict[float, list[str]] = {}
    for run in runs:
        for label, ms in run.limits_ms.items():
            if label not in limits.setdefault(ms, []):
                limits[ms].append(label)
    for ms, labels in sorted(limits.items()):
        out.append(f'<line class="limit" data-ms="{ms:g}" x1="{LEFT}" x2="{LEFT + plot_w}" '
                   f'y1="{y(ms):.1f}" y2="{y(ms):.1f}" stroke="black" stroke-dasharray="6 4"/>')
        out.append(f'<text x="{LEFT + 6}" y="{y(ms) - 4:.1f}">'
                   f'limit {ms:g} ms: {escape(", ".join(labels))}</text>')
    for _, _, label, colour, _ in MEASURES:
        for run in sorted(runs, key=lambda r: r.rate):
            if label not in run.p99_ms:
                continue
            hollow = run.fsync != "always"
            fill = "white" if hollow else colour
            out.append(
                f'<circle class="point" data-measure="{escape(label)}" '
                f'data-run="{escape(run.folder)}" data-ms="{run.p99_ms[label]:g}" '
                f'cx="{x(run.rate):.1f}" cy="{y(run.p99_ms[label]):.1f}" r="5" fill="{fill}" '
                f'fill-opacity="0.85" stroke="{colour}" stroke-width="2">'
                f'<title>{escape(run.folder)}: {escape(label)} p99 '
                f'{run.p99_ms[label]:g} ms at {run.rate:g}/s ({run.fsync})</title></circle>')
    legend_x = LEFT + plot_w + 16
    for n, (_, _, label, colour, _) in enumerate(MEASURES):
        ly = TOP + 12 + 22 * n
        out.append(f'<circle cx="{legend_x + 6}" cy="{ly - 4}" r="5" fill="{colour}"/>')
        out.append(f'<text x="{legend_x + 16}" y="{ly}">p99 {escape(label)}</text>')
    ly = TOP + 12 + 22 * len(MEASURES)
    out.append(f'<circle cx="{legend_x + 6}" cy="{ly - 4}" r="5" fill="white" stroke="#555" '
               'stroke-width="2"/>')
    out.append(f'<text x="{legend_x + 16}" y="{ly}">hollow: Redis everysec</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


PARTS = (  # (process in summary.json's cores, label, colour)
    ("generator", "load generator", "#9e9e9e"),
    ("api", "api", "#d1495b"),
    ("workers", "workers", "#00798c"),
    ("redis", "Redis", "#edae49"),
    ("hub", "hub", "#66a182"),
    ("postgres", "PostgreSQL", "#2e4057"),
)
CPU_WIDTH, BAR_H, BAR_GAP = 760, 26, 14
CPU_LEFT, CPU_RIGHT = 190, 40


@dataclass(frozen=True)
class Cost(Plateau):
    ms: dict[str, float]  # process → ms of CPU per order


def load_cost(folder: Path) -> Cost:
    summary: dict[str, Any] = json.loads((folder / "summary.json").read_text())
    rate = float(summary["orders"].get("plateau_mean_per_s") or 0)
    cores = summary.get("cores", {}).get("window") or {}
    if rate <= 0 or not cores:
        raise ValueError(f"{folder}: no plateau rate or no CPU over the plateau")
    ms = {key: float(cores[key]) * 1000 / rate for key, _, _ in PARTS if key in cores}
    return Cost(folder.name, rate, summary["profile"].get("redis-fsync", "always"), ms)


def render_cpu(costs: list[Cost], budget_ms: float, budget_label: str,
               title: str = "CPU per order, by process") -> str:
    if not costs:
        raise ValueError("no runs to draw")
    costs = sorted(costs, key=lambda c: c.rate)
    plot_w = CPU_WIDTH - CPU_LEFT - CPU_RIGHT
    top = 62
    plot_h = len(costs) * (BAR_H + BAR_GAP)
    height = top + plot_h + 90
    x_hi = max(max(sum(c.ms.values()) for c in costs), budget_ms) * 1.08
    step = _nice_step(x_hi)
    x_hi = math.ceil(x_hi / step) * step

    def x(ms: float) -> float:
        return CPU_LEFT + plot_w * ms / x_hi

    out = _head(CPU_WIDTH, height, CPU_LEFT, title)
    out += _ticks(x, x_hi, step, (top - 6, top + plot_h), top + plot_h + 16, "#e5e5e5")
    out.append(f'<text x="{CPU_LEFT + plot_w / 2}" y="{top + plot_h + 34}" '
               'text-anchor="middle">ms of CPU per order (plateau), every process on the '
               'machine</text>')
    for n, cost in enumerate(costs):
        y = top + n * (BAR_H + BAR_GAP)
        out.append(f'<text x="{CPU_LEFT - 8}" y="{y + BAR_H / 2 + 4:.1f}" text-anchor="end">'
                   f'{cost.rate:.0f} orders/s ({escape(cost.fsync)})</text>')
        at = 0.0
        for key, label, colour in PARTS:
            ms = cost.ms.get(key, 0.0)
            if ms <= 0:
                continue
            out.append(
                f'<rect class="part" data-run="{escape(cost.folder)}" data-part="{key}" '
                f'data-ms="{ms:.3f}" x="{x(at):.1f}" y="{y}" width="{x(at + ms) - x(at):.1f}" '
                f'height="{BAR_H}" fill="{colour}"><title>{escape(cost.folder)}: '
                f'{escape(label)} {ms:.2f} ms per order</title></rect>')
            at += ms
        out.append(f'<text x="{x(at) + 6:.1f}" y="{y + BAR_H / 2 + 4:.1f}">{at:.1f} ms'
                   '</text>')
    out.append(f'<line class="budget" data-ms="{budget_ms:g}" x1="{x(budget_ms):.1f}" '
               f'x2="{x(budget_ms):.1f}" y1="{top - 10}" y2="{top + plot_h}" stroke="black" '
               'stroke-width="2" stroke-dasharray="6 4"/>')
    out.append(f'<text x="{x(budget_ms) + 4:.1f}" y="{top - 14}">{escape(budget_label)}</text>')
    lx, ly = CPU_LEFT, top + plot_h + 58
    for _, label, colour in PARTS:
        out.append(f'<rect x="{lx}" y="{ly - 10}" width="12" height="12" fill="{colour}"/>')
        out.append(f'<text x="{lx + 16}" y="{ly}">{escape(label)}</text>')
        lx += 24 + 7 * len(label)
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="the SVG file to write")
    parser.add_argument("runs", type=Path, nargs="+", help="run folders with a summary.json")
    parser.add_argument("--title", default=None)
    parser.add_argument("--cpu", action="store_true", help="CPU per order, not latencies")
    parser.add_argument("--target-rate", type=float, default=500.0,
                        help="--cpu: the orders a second the budget line is drawn for")
    parser.add_argument("--cores", type=float, default=2.0,
                        help="--cpu: the machine's cores (everything, the generator included)")
    args = parser.parse_args(argv)
    folders = [f for f in args.runs if (f / "summary.json").exists()]
    skipped = sorted(set(args.runs) - set(folders))
    for folder in skipped:
        print(f"skipped {folder}: no summary.json", file=sys.stderr)
    if not folders:
        print("no run folder with a summary.json", file=sys.stderr)
        return 2
    if args.cpu:
        budget = args.cores * 1000 / args.target_rate
        label = f"budget at {args.target_rate:g} orders/s on {args.cores:g} cores: {budget:g} ms"
        svg = render_cpu([load_cost(f) for f in folders], budget, label,
                         args.title or "CPU per order, by process")
    else:
        svg = render([load(f) for f in folders], args.title or "p99 latency against the order rate")
    args.out.write_text(svg, encoding="utf-8")
    print(f"{args.out}: {len(folders)} runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
