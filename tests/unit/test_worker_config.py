"""Worker settings from the environment: hints on by default, the sweep within its bounds."""

from __future__ import annotations

import pytest

from kitchen.errors import ConfigError
from workers.config import WorkerConfig


def test_workers_follow_hints_unless_told_not_to() -> None:
    assert WorkerConfig.from_env({}).news is True
    assert WorkerConfig.from_env({"WORKER_NEWS": "0"}).news is False
    assert WorkerConfig.from_env({"WORKER_SWEEP_MS": "250"}).sweep_ms == 250


@pytest.mark.parametrize("value", ["10", "soon", "600000"])
def test_a_sweep_out_of_bounds_names_the_variable(value: str) -> None:
    with pytest.raises(ConfigError, match="WORKER_SWEEP_MS"):
        WorkerConfig.from_env({"WORKER_SWEEP_MS": value})
