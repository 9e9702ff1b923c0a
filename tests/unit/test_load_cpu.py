"""What a load run reports of itself: CPU over the whole run and over its plateau alone,
orders accepted and served per second."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from loadtests.cpu import Meter
from loadtests.ledger import Ledger
from loadtests.run import order_rates

BUSY_THEN_IDLE = """
import time
end = time.monotonic() + 1.5
while time.monotonic() < end:
    pass
time.sleep(3)
"""


def test_the_window_counts_only_its_own_seconds() -> None:
    child = subprocess.Popen([sys.executable, "-c", BUSY_THEN_IDLE])
    try:
        meter = Meter({"child": lambda: [child.pid]}, every_s=0.1, window=(2.0, 3.0))
        meter.start()
        time.sleep(3.4)
        cores = meter.stop()
    finally:
        child.kill()
        child.wait()
    window = cores["window"]
    assert 0.9 <= window["wall_s"] <= 1.5
    assert window["child"] < 0.1, cores  # asleep all through the window
    assert cores["child"] > window["child"] + 0.1, cores  # busy for a while before it
    assert 0 <= window["machine_busy_share"] <= 1


def test_no_window_when_the_run_ends_before_it() -> None:
    meter = Meter({"none": lambda: []}, every_s=0.05, window=(5.0, 6.0))
    meter.start()
    time.sleep(0.2)
    cores = meter.stop()
    assert "window" not in cores and cores["none"] == 0


def test_order_rates_count_accepted_and_served_in_the_plateau(tmp_path: Path) -> None:
    """The plateau's orders per second, accepted and served: a kitchen that falls behind
    serves fewer than come in."""
    started = 1_700_000_000.0
    book = Ledger(tmp_path)
    for second in range(10, 20):  # 4 orders a second come in during the plateau
        for n in range(4):
            book.write("accepted", {"r": "r1", "o": f"o{second}-{n}",
                                    "pos": f"{int((started + second) * 1000) + n}-0"})
        for n in range(second % 2 * 2 + 1):  # served: 1 and 3 a second, turn about
            book.write("served", {"r": "r1", "o": f"o{second}-{n}",
                                  "ms": int((started + second) * 1000) + n})
    book.write("accepted", {"r": "r1", "o": "late", "pos": f"{int((started + 30) * 1000)}-0"})
    book.close()
    rates = order_rates(tmp_path, started, (10, 20))
    assert rates["accepted"] == 41 and rates["served"] == 20
    assert rates["plateau_mean_per_s"] == 4.0 and rates["plateau_served_mean_per_s"] == 2.0
