"""Settings, read from the environment once into a frozen object.

Only entry points call :func:`Settings.from_env`; everything else receives the object.
A missing or malformed value raises :class:`ConfigError` naming the variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kitchen.errors import ConfigError

DEV_SECRET = "dev-only-secret-change-me-0123456789abcdef"


def env_number(env: Mapping[str, str], name: str, default: float, lo: float, hi: float
               ) -> float:
    """The number in variable ``name`` (``default`` when unset or empty), within [lo, hi];
    ConfigError naming the variable otherwise."""
    raw = env.get(name, "")
    if raw == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from exc
    if not lo <= value <= hi:
        raise ConfigError(f"{name} must be between {lo:g} and {hi:g}, got {raw}")
    return value


def time_zone(name: str) -> str:
    """An IANA time zone name this machine knows (``KITCHEN_TZ``), checked."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"KITCHEN_TZ: unknown time zone {name!r}") from exc
    return name


def env_int(env: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    """:func:`env_number`, and a whole one."""
    value = env_number(env, name, default, lo, hi)
    if value != int(value):
        raise ConfigError(f"{name} must be a whole number, got {env[name]!r}")
    return int(value)


def _url(env: Mapping[str, str], name: str, schemes: tuple[str, ...]) -> str | None:
    raw = env.get(name)
    if raw is None or raw == "":
        return None
    parsed = urlparse(raw)
    if parsed.scheme not in schemes or not parsed.hostname:
        raise ConfigError(f"{name} must be a {'/'.join(schemes)} URL, got {raw!r}")
    return raw


@dataclass(frozen=True)
class Settings:
    """Everything configurable. ``database_url`` / ``redis_url`` of ``None`` mean: embedded."""

    database_url: str | None = None
    redis_url: str | None = None
    secret_keys: tuple[str, ...] = (DEV_SECRET,)
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    hub_host: str = "127.0.0.1"
    hub_port: int = 8001
    public_api_url: str = "http://127.0.0.1:8000"
    public_hub_url: str = "ws://127.0.0.1:8001"
    data_dir: Path = field(default_factory=lambda: Path(".data"))
    stream_maxlen: int = 100_000
    hub_window: int = 2_000
    hub_news: bool = True  # the hub follows the commits' hints on k:news (kitchen/news.py)
    idempotency_ttl: int = 86_400
    token_ttl: int = 12 * 3600
    send_buffer_bytes: int = 256 * 1024
    access_log: bool = False  # a log line per API request (the reverse proxy usually keeps one)
    # how long the API keeps an idle keep-alive connection: longer than the pace of a kitchen
    # screen's taps, so a tablet does not connect anew for each (uvicorn's default is 5 s)
    api_keep_alive_s: int = 75
    tz: str = "Asia/Shanghai"  # the restaurants' time zone: their days, in reports and at close
    dev: bool = False

    @property
    def secret_key(self) -> str:
        """The key new tokens are signed with (the first of ``KITCHEN_SECRET_KEYS``)."""
        return self.secret_keys[0]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        dev = env.get("KITCHEN_DEV", "") in {"1", "true", "yes"}
        keys_raw = env.get("KITCHEN_SECRET_KEYS", "")
        if keys_raw:
            keys = tuple(k.strip() for k in keys_raw.split(",") if k.strip())
            short = [k for k in keys if len(k) < 32]
            if not keys or short:
                raise ConfigError("KITCHEN_SECRET_KEYS: every key must be at least 32 characters")
        elif dev:
            keys = (DEV_SECRET,)
        else:
            raise ConfigError(
                "KITCHEN_SECRET_KEYS is not set: give one or more comma-separated keys of at "
                "least 32 characters (the first signs new tokens), or KITCHEN_DEV=1 for a "
                "development key"
            )
        api_port = env_int(env, "API_PORT", 8000, 0, 65535)
        hub_port = env_int(env, "HUB_PORT", 8001, 0, 65535)
        api_host = env.get("API_HOST", "127.0.0.1")
        hub_host = env.get("HUB_HOST", "127.0.0.1")
        return cls(
            database_url=_url(env, "DATABASE_URL", ("postgres", "postgresql")),
            redis_url=_url(env, "REDIS_URL", ("redis", "rediss", "unix")),
            secret_keys=keys,
            api_host=api_host,
            api_port=api_port,
            hub_host=hub_host,
            hub_port=hub_port,
            public_api_url=env.get("PUBLIC_API_URL", f"http://{api_host}:{api_port}"),
            public_hub_url=env.get("PUBLIC_HUB_URL", f"ws://{hub_host}:{hub_port}"),
            data_dir=Path(env.get("KITCHEN_DATA_DIR", ".data")),
            stream_maxlen=env_int(env, "STREAM_MAXLEN", 100_000, 1_000, 100_000_000),
            hub_window=env_int(env, "HUB_WINDOW", 2_000, 10, 1_000_000),
            hub_news=env.get("HUB_NEWS", "1") not in {"0", "false", "no"},
            idempotency_ttl=env_int(env, "IDEMPOTENCY_TTL", 86_400, 60, 30 * 86_400),
            token_ttl=env_int(env, "TOKEN_TTL", 12 * 3600, 60, 365 * 86_400),
            send_buffer_bytes=env_int(env, "HUB_SEND_BUFFER", 256 * 1024, 4096, 64 * 1024 * 1024),
            access_log=env.get("API_ACCESS_LOG", "") in {"1", "true", "yes"},
            api_keep_alive_s=env_int(env, "API_KEEP_ALIVE_S", 75, 1, 3_600),
            tz=time_zone(env.get("KITCHEN_TZ", "") or "Asia/Shanghai"),
            dev=dev,
        )
