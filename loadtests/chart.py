"""A picture of several load runs: p99 latencies against the order rate, with the limits.

    python -m loadtests.chart OUT.svg artifacts/loadtest/full-*/

Each run folder's ``summary.json`` gives one point per measure: the plateau's accepted
orders a second across, and up a logarithmic scale the p99 of the accept (``POST place
order``), of order → station screen and of bump → diner page. Runs with Redis's
``appendfsync everysec`` are drawn hollow. The limits of the profile (``p99-*-ms``) are dashed
lines. A plain SVG file, no plotting library.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
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
class Run:
    folder: str
    rate: float  # accepted orders a second over the plateau
    fsync: str
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

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
           f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">',
           '<rect width="100%" height="100%" fill="white"/>',
           f'<text x="{LEFT}" y="22" font-size="15" font-weight="bold">{escape(title)}</text>']
    for ms in (1, 10, 100, 1_000, 10_000):
        out.append(f'<line class="grid" x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(ms):.1f}" '
                   f'y2="{y(ms):.1f}" stroke="#e5e5e5"/>')
        label = f"{ms:,} ms" if ms < 1000 else f"{ms // 1000} s"
        out.append(f'<text x="{LEFT - 8}" y="{y(ms) + 4:.1f}" text-anchor="end">{label}</text>')
    tick = 0.0
    while tick <= x_hi + 1e-9:
        out.append(f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{TOP + plot_h}" '
                   f'y2="{TOP + plot_h + 5}" stroke="black"/>')
        out.append(f'<text x="{x(tick):.1f}" y="{TOP + plot_h + 18}" '
                   f'text-anchor="middle">{tick:g}</text>')
        tick += step
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="the SVG file to write")
    parser.add_argument("runs", type=Path, nargs="+", help="run folders with a summary.json")
    parser.add_argument("--title", default="p99 latency against the order rate")
    args = parser.parse_args(argv)
    folders = [f for f in args.runs if (f / "summary.json").exists()]
    skipped = sorted(set(args.runs) - set(folders))
    for folder in skipped:
        print(f"skipped {folder}: no summary.json", file=sys.stderr)
    if not folders:
        print("no run folder with a summary.json", file=sys.stderr)
        return 2
    args.out.write_text(render([load(f) for f in folders], args.title), encoding="utf-8")
    print(f"{args.out}: {len(folders)} runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
