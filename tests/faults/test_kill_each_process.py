"""Promise 1 under SIGKILL: while diners order and cooks work, the api, the hub, the worker and
Redis (restarted from its AOF) are killed in turn and started again. Afterwards every order
the API acknowledged is in PostgreSQL exactly once, every screen equals a fresh snapshot, and
no screen was sent an event twice or missed one."""

from __future__ import annotations

from pathlib import Path

import pytest

from kitchen.embedded import EmbeddedRedis
from tests.faults.harness import Scale, run_scenario, running_system

REPORT = Path(__file__).resolve().parents[2] / "artifacts" / "faults-report.txt"

pytestmark = [pytest.mark.asyncio(loop_scope="session"),
              pytest.mark.timeout(240)]


async def test_every_acknowledged_order_survives_sigkill_of_each_process(
        durable_redis_server: EmbeddedRedis, database_url: str, tmp_path: Path) -> None:
    """Kill api, hub, worker and Redis in turn under load: 0 lost, 0 doubled, 0 duplicates."""
    scale = Scale.from_env()
    async with running_system(database_url, durable_redis_server, tmp_path / "logs") as system:
        report = await run_scenario(system, database_url, scale)
    text = "\n  ".join(["fault suite:", *report.lines()])
    print("\n" + text)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(text + "\n")
    assert report.kills
    assert report.acknowledged > 0
    assert report.problems == [], "\n".join(report.lines())
    assert report.persisted == report.acknowledged
    assert (report.lost, report.doubled, report.duplicates) == (0, 0, 0)
