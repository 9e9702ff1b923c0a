"""The CPU meter of load runs: figures over the whole run and over its plateau alone."""

from __future__ import annotations

import subprocess
import sys
import time

from loadtests.cpu import Meter

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
