"""A load run whose generator hangs is stopped and fails, instead of holding the machine
(and CI) for ever."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from loadtests.run import failures, run_locust


def test_a_generator_that_never_ends_is_killed_at_the_deadline(tmp_path: Path) -> None:
    hang = [sys.executable, "-c", "import time; time.sleep(600)"]
    t0 = time.monotonic()
    code, cores, _ = run_locust([hang, hang], tmp_path, {}, deadline_s=1.5)
    took = time.monotonic() - t0
    assert code != 0
    assert took < 20, f"the run went on {took:.1f} s past a 1.5 s deadline"
    assert "generator" in cores


def test_a_generator_that_ends_in_time_gives_its_exit_status(tmp_path: Path) -> None:
    ok = [sys.executable, "-c", "print('done')"]
    failed = [sys.executable, "-c", "raise SystemExit(3)"]
    assert run_locust([ok], tmp_path, {}, deadline_s=30)[0] == 0
    assert run_locust([failed], tmp_path, {}, deadline_s=30)[0] == 3


def test_a_failed_probe_order_fails_the_run() -> None:
    """Locust and the check both passed, but an order the probe placed failed: the run
    fails, and says why."""
    assert failures(0, True, {"probe": {"orders": 110, "failed": 0}}) == []
    assert failures(0, True, {}) == []
    assert failures(0, True, {"probe": {"orders": 110, "failed": 1}}) == [
        "1 of the probe's orders failed"]
    assert len(failures(1, False, {})) == 2
