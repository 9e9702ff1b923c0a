"""The accept benchmark's verdict: the API's share of the baseline round by round, and the
target judged on the closed loop's medians."""

from __future__ import annotations

from typing import Any

from benchmarks.accept_capacity import versus


def _run(name: str, mode: str, rate: float, p99: float) -> dict[str, Any]:
    return {"contestant": name, "mode": mode, "orders_per_s": rate, "p99_ms": p99}


def test_share_per_round_and_target_met() -> None:
    results = [_run("api", "closed", 4_168, 41.5), _run("api", "open", 500, 5.3),
               _run("baseline", "closed", 4_639, 35.8), _run("baseline", "open", 500, 2.8),
               _run("api", "closed", 4_753, 34.5), _run("baseline", "closed", 4_814, 34.5),
               _run("api", "closed", 4_036, 40.8), _run("baseline", "closed", 4_152, 41.9)]
    out = versus(results)
    assert out["api_share_of_baseline"] == [0.898, 0.987, 0.972]
    assert out["target"]["api_orders_per_s"] == 4_168
    assert out["target"]["met"] is True


def test_target_missed_on_rate_or_on_tail() -> None:
    slow = [_run("api", "closed", 2_555, 40.0), _run("baseline", "closed", 2_704, 40.0)]
    assert versus(slow)["target"]["met"] is False
    long_tail = [_run("api", "closed", 3_500, 62.0), _run("baseline", "closed", 3_600, 60.0)]
    assert versus(long_tail)["target"]["met"] is False


def test_baseline_alone_has_no_verdict() -> None:
    out = versus([_run("baseline", "closed", 3_000, 40.0)])
    assert out == {"api_share_of_baseline": []}
