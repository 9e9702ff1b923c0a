"""Settings fail loudly, naming the variable that is missing or malformed."""

from __future__ import annotations

import pytest

from kitchen.errors import ConfigError
from kitchen.settings import DEV_SECRET, Settings
from workers.config import WorkerConfig

KEY = "k" * 40


def test_missing_secret_keys_names_the_variable() -> None:
    """Without KITCHEN_SECRET_KEYS (and not in dev mode) the error names it."""
    with pytest.raises(ConfigError, match="KITCHEN_SECRET_KEYS"):
        Settings.from_env({})


def test_dev_mode_falls_back_to_the_dev_key() -> None:
    """KITCHEN_DEV=1 without keys signs with the development key."""
    settings = Settings.from_env({"KITCHEN_DEV": "1"})
    assert settings.dev is True
    assert settings.secret_key == DEV_SECRET


def test_a_short_secret_key_is_refused() -> None:
    """A key under 32 characters is refused, naming the variable."""
    with pytest.raises(ConfigError, match="KITCHEN_SECRET_KEYS"):
        Settings.from_env({"KITCHEN_SECRET_KEYS": f"{KEY},short"})


@pytest.mark.parametrize("value", ["eighty", "70000", "-1"])
def test_a_malformed_api_port_names_the_variable(value: str) -> None:
    """API_PORT that is not an integer in range is an error naming API_PORT."""
    with pytest.raises(ConfigError, match="API_PORT"):
        Settings.from_env({"KITCHEN_SECRET_KEYS": KEY, "API_PORT": value})


def test_database_url_with_a_wrong_scheme_names_the_variable() -> None:
    """A DATABASE_URL that is not postgres(ql):// is an error naming DATABASE_URL."""
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        Settings.from_env({"KITCHEN_SECRET_KEYS": KEY, "DATABASE_URL": "mysql://db/kitchen"})


def test_redis_url_with_a_wrong_scheme_names_the_variable() -> None:
    """A REDIS_URL that is not redis:// is an error naming REDIS_URL."""
    with pytest.raises(ConfigError, match="REDIS_URL"):
        Settings.from_env({"KITCHEN_SECRET_KEYS": KEY, "REDIS_URL": "http://cache:6379"})


def test_absent_urls_mean_embedded_servers() -> None:
    """No DATABASE_URL / REDIS_URL leaves both None: the embedded servers are used."""
    settings = Settings.from_env({"KITCHEN_SECRET_KEYS": KEY})
    assert settings.database_url is None
    assert settings.redis_url is None
    assert settings.secret_keys == (KEY,)


def test_the_access_log_is_off_unless_asked_for() -> None:
    """One log line per request only with API_ACCESS_LOG=1."""
    assert Settings.from_env({"KITCHEN_DEV": "1"}).access_log is False
    assert Settings.from_env({"KITCHEN_DEV": "1", "API_ACCESS_LOG": "1"}).access_log is True


def test_the_hub_follows_hints_unless_told_not_to() -> None:
    """HUB_NEWS=0 turns the hub's news subscription off; anything else keeps it."""
    assert Settings.from_env({"KITCHEN_DEV": "1"}).hub_news is True
    assert Settings.from_env({"KITCHEN_DEV": "1", "HUB_NEWS": "0"}).hub_news is False
    assert Settings.from_env({"KITCHEN_DEV": "1", "HUB_NEWS": "1"}).hub_news is True


def test_the_restaurants_time_zone_is_checked_and_shared() -> None:
    """KITCHEN_TZ sets the days of the API's reports as of the workers' day close; a zone
    the machine does not know is refused by name."""
    env = {"KITCHEN_DEV": "1", "KITCHEN_TZ": "Asia/Tokyo"}
    assert Settings.from_env(env).tz == "Asia/Tokyo"
    assert WorkerConfig.from_env(env).tz == "Asia/Tokyo"
    assert Settings.from_env({"KITCHEN_DEV": "1"}).tz == "Asia/Shanghai"
    for bad in ("Mars/Olympus", "../etc"):
        with pytest.raises(ConfigError, match="KITCHEN_TZ"):
            Settings.from_env({"KITCHEN_DEV": "1", "KITCHEN_TZ": bad})
        with pytest.raises(ConfigError, match="KITCHEN_TZ"):
            WorkerConfig.from_env({"KITCHEN_TZ": bad})
