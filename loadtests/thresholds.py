"""Targets that fail the run: checked when Locust quits, on the master (or a local run).

A violation sets Locust's exit code to 1 and is printed and written to
``<run dir>/thresholds.json`` with every figure it was judged on. Lost or duplicated tickets
are judged after the run by ``loadtests.check`` (it needs PostgreSQL to have caught up).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from loadtests.users import BUMP_TO_DINER, E2E, ORDER_TO_STATION


@dataclass(frozen=True)
class Target:
    what: str
    method: str
    name: str
    limit_ms: float
    percentile: float = 0.99


@dataclass(frozen=True)
class Verdict:
    what: str
    value: float | None
    limit: float
    ok: bool
    samples: int


def targets(options: Any) -> list[Target]:
    return [
        Target("p99 accept (place order)", "POST", "place order", float(options.p99_accept_ms)),
        Target("p99 order → station screen", E2E, ORDER_TO_STATION,
               float(options.p99_station_ms)),
        Target("p99 bump → diner page", E2E, BUMP_TO_DINER, float(options.p99_ready_ms)),
    ]


def judge(stats: Any, options: Any) -> list[Verdict]:
    verdicts: list[Verdict] = []
    total = stats.total
    verdicts.append(Verdict("failed requests", float(total.num_failures),
                            float(options.max_failures),
                            total.num_failures <= int(options.max_failures), total.num_requests))
    for t in targets(options):
        entry = stats.entries.get((t.name, t.method))
        if entry is None or entry.num_requests == 0:
            verdicts.append(Verdict(t.what, None, t.limit_ms, False, 0))
            continue
        # strictly below: Locust keeps times past 100 ms rounded to two figures, so a p99
        # shown as 100 may be 104; it fails a limit of 100 rather than pass it
        value = float(entry.get_response_time_percentile(t.percentile))
        verdicts.append(Verdict(t.what, value, t.limit_ms, value < t.limit_ms,
                                entry.num_requests))
    return verdicts


def report(environment: Any, options: Any) -> bool:
    """Judge, print, save; set the exit code. True when every target was met."""
    verdicts = judge(environment.stats, options)
    ok = all(v.ok for v in verdicts)
    lines = ["", "Thresholds:"]
    for v in verdicts:
        shown = "none" if v.value is None else f"{v.value:g}"
        lines.append(f"  {'ok  ' if v.ok else 'FAIL'} {v.what}: {shown} (limit {v.limit:g}, "
                     f"{v.samples} samples)")
    print("\n".join(lines), flush=True)
    out = Path(options.run_dir) / "thresholds.json"
    out.write_text(json.dumps({"ok": ok, "verdicts": [asdict(v) for v in verdicts]}, indent=1))
    if not ok:
        environment.process_exit_code = 1
    return ok
