"""The workers' own settings, read from the environment once (by the entry point).

    WORKER_CONSUMER         consumer name in every group (default: host name); a restarted
                            worker with the same name handles what it had not acked at once
    WORKER_METRICS_HOST     127.0.0.1        WORKER_METRICS_PORT  9108 (0: any free port)
    WORKER_BATCH            entries per read and stream (200)
    WORKER_BLOCK_MS         longest blocking read (1000)
    WORKER_LINGER_MS        wait after a read that was not a full batch (50): fewer, fuller
                            reads of every stream under load
    WORKER_VISIBILITY_MS    an entry unacked this long is taken over by another consumer (30000)
    WORKER_MAX_DELIVERIES   deliveries before an entry goes to the dead-letter stream (5)
    WORKER_DISCOVER_S       how often new restaurants are looked for (5)
    WORKER_RECLAIM_S        how often stuck entries are looked for (5)
    WORKER_OVERDUE_S        how often the overdue scan runs (5)
    PRINTER_TIMEOUT_S       connect / send timeout of one print attempt (5)
    PRINTER_RETRY_MAX_S     longest wait between two attempts while a printer is down (10)
    PRINTER_GIVE_UP_S       a ticket still unprinted after this long is marked failed (600)
    PRINTER_MAX_AGE_S       tickets of events older than this are not printed (900)
    PRINTER_WIDTH           characters per line of the paper (32 for 58 mm, 48 for 80 mm)
    KITCHEN_TZ              time zone of printed times, of stats days and of the day close
                            (Asia/Shanghai)
    WORKER_DAY_CLOSE_AT     local time (HH:MM) the day of every restaurant is closed (04:00)
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from dataclasses import dataclass

from kitchen.errors import ConfigError
from kitchen.settings import env_int, env_number, time_zone


@dataclass(frozen=True)
class WorkerConfig:
    consumer: str = "worker"
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 9108
    batch_size: int = 200
    block_ms: int = 1_000
    linger_ms: int = 50
    news: bool = True  # follow the commits' hints on k:news (kitchen/news.py)
    sweep_ms: int = 1_000  # with hints: every log is read at least this often
    visibility_ms: int = 30_000
    max_deliveries: int = 5
    discover_every_s: float = 5.0
    reclaim_every_s: float = 5.0
    overdue_every_s: float = 5.0
    print_timeout_s: float = 5.0
    print_retry_max_s: float = 10.0
    print_give_up_s: float = 600.0
    print_max_age_s: float = 900.0
    print_width: int = 32
    tz: str = "Asia/Shanghai"
    day_close_at: str = "04:00"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> WorkerConfig:
        width = env_int(env, "PRINTER_WIDTH", 32, 24, 64)
        return cls(
            consumer=env.get("WORKER_CONSUMER", "") or socket.gethostname() or "worker",
            metrics_host=env.get("WORKER_METRICS_HOST", "127.0.0.1"),
            metrics_port=env_int(env, "WORKER_METRICS_PORT", 9108, 0, 65535),
            batch_size=env_int(env, "WORKER_BATCH", 200, 1, 10_000),
            block_ms=env_int(env, "WORKER_BLOCK_MS", 1_000, 10, 60_000),
            linger_ms=env_int(env, "WORKER_LINGER_MS", 50, 0, 10_000),
            news=env.get("WORKER_NEWS", "1") not in {"0", "false", "no"},
            sweep_ms=env_int(env, "WORKER_SWEEP_MS", 1_000, 50, 60_000),
            visibility_ms=env_int(env, "WORKER_VISIBILITY_MS", 30_000, 100, 3_600_000),
            max_deliveries=env_int(env, "WORKER_MAX_DELIVERIES", 5, 1, 1_000),
            discover_every_s=env_number(env, "WORKER_DISCOVER_S", 5.0, 0.05, 3_600),
            reclaim_every_s=env_number(env, "WORKER_RECLAIM_S", 5.0, 0.05, 3_600),
            overdue_every_s=env_number(env, "WORKER_OVERDUE_S", 5.0, 0.05, 3_600),
            print_timeout_s=env_number(env, "PRINTER_TIMEOUT_S", 5.0, 0.1, 120),
            print_retry_max_s=env_number(env, "PRINTER_RETRY_MAX_S", 10.0, 0.05, 600),
            print_give_up_s=env_number(env, "PRINTER_GIVE_UP_S", 600.0, 1, 86_400),
            print_max_age_s=env_number(env, "PRINTER_MAX_AGE_S", 900.0, 1, 7 * 86_400),
            print_width=width,
            tz=time_zone(env.get("KITCHEN_TZ", "") or "Asia/Shanghai"),
            day_close_at=_clock(env.get("WORKER_DAY_CLOSE_AT", "") or "04:00"),
        )


def _clock(value: str) -> str:
    """``HH:MM`` of a day, checked."""
    hour, sep, minute = value.partition(":")
    if not (sep and hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60):
        raise ConfigError(f"WORKER_DAY_CLOSE_AT must be HH:MM, got {value!r}")
    return f"{int(hour):02d}:{int(minute):02d}"
