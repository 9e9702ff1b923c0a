"""The load run's record of Redis's own stalls: a command that holds Redis 80 ms is counted
in the window it happened in and in no other, and named; a project script by its file."""

from __future__ import annotations

import time

import redis

from kitchen.embedded import EmbeddedRedis
from kitchen.store import COMMIT_SCRIPT
from loadtests.stalls import Stalls, command_name

BUSY_80_MS = """
local t = redis.call('TIME')
local start = t[1] * 1000000 + t[2]
repeat
  t = redis.call('TIME')
until t[1] * 1000000 + t[2] - start >= 80000
return 1
"""


def test_a_stall_is_counted_in_its_window_only(redis_server: EmbeddedRedis) -> None:
    stalls = Stalls(redis_server.url, threshold_ms=20, every_s=0.2)
    stalls.start()
    client = redis.Redis.from_url(redis_server.url)
    try:
        before = time.time()
        client.eval(BUSY_80_MS, 0)
        after = time.time() + 1
        time.sleep(0.5)
    finally:
        stalls.stop()
        client.close()
    during = stalls.summary((before - 1, after + 1))
    assert during["events"]["command"]["seconds"] == 1
    assert during["events"]["command"]["max_ms"] >= 80
    assert during["events"]["command"]["seconds_over_50_ms"] == 1
    assert during["slow_commands"]["EVAL"]["count"] == 1
    assert "slow_commands_note" not in during
    busiest = during["busiest_commands"]["commands"]
    assert next(iter(busiest)) == "eval", "the 80 ms script took most of Redis's time"
    assert busiest["eval"]["calls"] == 1 and busiest["eval"]["ms"] >= 80
    assert during["slow_commands"]["EVAL"]["max_ms"] >= 80
    assert stalls.summary((before - 100, before - 2))["events"] == {}
    assert stalls.summary((before - 100, before - 2))["slow_commands"] == {}
    assert stalls.summary((before - 1, after + 1), limit_ms=500)["events"]["command"][
        "seconds_over_500_ms"] == 0


def test_the_monitor_is_switched_off_after_the_run(redis_server: EmbeddedRedis) -> None:
    stalls = Stalls(redis_server.url, threshold_ms=20, every_s=0.2)
    stalls.start()
    stalls.stop()
    client = redis.Redis.from_url(redis_server.url)
    try:
        assert client.config_get("latency-monitor-threshold") == {
            "latency-monitor-threshold": "0"}
    finally:
        client.close()


def test_a_project_script_is_named_by_its_file(redis_server: EmbeddedRedis) -> None:
    client = redis.Redis.from_url(redis_server.url)
    try:
        sha = client.script_load(COMMIT_SCRIPT)
    finally:
        client.close()
    assert command_name(f"EVALSHA {sha} 3 k:a k:b k:c".encode()) == "EVALSHA commit.lua"
    assert command_name(b"EVALSHA 0123456789abcdef0123 1 k") == "EVALSHA 0123456789ab"
    assert command_name(b"xreadgroup GROUP g c STREAMS k >") == "XREADGROUP"
    assert command_name(b"HSET k:o o1 \x88\xa1t\xc4") == "HSET"


def test_slow_commands_beyond_what_redis_keeps_are_said_to_be_missing(
        redis_server: EmbeddedRedis) -> None:
    stalls = Stalls(redis_server.url, threshold_ms=0, every_s=30)  # every command is "slow"
    stalls.start()
    client = redis.Redis.from_url(redis_server.url)
    try:
        pipe = client.pipeline(transaction=False)
        for n in range(1_500):
            pipe.set(f"stalls:{n}", n)
        pipe.execute()
    finally:
        stalls.stop()
        client.close()
    summary = stalls.summary((time.time() - 60, time.time() + 1))
    assert "not counted" in summary["slow_commands_note"]
    assert summary["slow_commands"]["SET"]["count"] <= 1_024
