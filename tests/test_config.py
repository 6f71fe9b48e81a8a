"""config.toml validation: a bad file names the key and the problem; a good one becomes typed objects."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import load_config, parse_config
from bot.durations import format_duration, parse_duration
from bot.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_shipped_config_loads() -> None:
    config = load_config(ROOT / "config.toml")
    assert config.poll_interval == timedelta(minutes=15)
    assert config.topic("pak-afg") is not None
    assert "Islamabad" in config.actors["Pakistan"]
    assert config.data_dir == ROOT / "data"
    assert config.alerts_per_hour == 10
    assert config.storage.hot_weeks == 8


@pytest.mark.parametrize(
    ("raw", "key", "words"),
    [
        ({"bot": {"colour": "red"}}, "bot.colour", "unknown key"),
        ({"bot": {"poll_interval": "15x"}}, "bot.poll_interval", "not a duration"),
        ({"bot": {"poll_interval": 15}}, "bot.poll_interval", "must be a string"),
        ({"bot": {"timezone": "Mars/Olympus"}}, "bot.timezone", "unknown time zone"),
        ({"topics": [{"id": "a", "keywords": ["x"]}, {"id": "a", "keywords": ["y"]}]}, "topics[1].id",
         "duplicate topic id"),
        ({"topics": [{"id": "a", "keywords": []}]}, "topics[0].keywords", "at least one keyword"),
        ({"sources": [{"url": "ftp://example.org/feed"}]}, "sources[0].url", "http"),
        ({"fetch": {"per_host": True}}, "fetch.per_host", "must be an integer"),
        ({"fetch": {"per_host": 0}}, "fetch.per_host", "more than zero"),
        ({"alerts": {"max_per_hour": 0}}, "alerts.max_per_hour", "more than zero"),
        ({"alerts": {"max_per_hour": "10"}}, "alerts.max_per_hour", "must be an integer"),
        ({"alerts": {"per_hour": 10}}, "alerts.per_hour", "unknown key"),
        ({"actors": {"Pakistan": "Islamabad"}}, "actors.Pakistan", "must be an array"),
        ({"colour": 1}, "colour", "unknown key"),
        ({"storage": {"hot_weeks": 0}}, "storage.hot_weeks", "more than zero"),
        ({"storage": {"hot_weeks": "8"}}, "storage.hot_weeks", "must be an integer"),
        ({"storage": {"hot_weeks": 10_000}}, "storage.hot_weeks", "at most 520"),
        ({"storage": {"cold_weeks": 3}}, "storage.cold_weeks", "unknown key"),
    ],
)
def test_bad_config_names_key_and_problem(raw: dict, key: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(raw)
    assert info.value.key == key
    assert words in str(info.value)


def test_bad_file_exits_2_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "config.toml"
    bad.write_text('[bot]\npoll_interval = "15x"\n')
    result = subprocess.run([sys.executable, "-m", "bot", "--config", str(bad), "ask", "sources"],
                            capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: bot.poll_interval: '15x' is not a duration; use a number and a unit, like 90s, 15m, 2h or 7d"
    ]


def test_invalid_toml_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "config.toml"
    bad.write_text("[bot\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)


def test_allow_private_accepts_hosts_and_networks() -> None:
    config = parse_config({"fetch": {"allow_private": ["127.0.0.0/8", "feeds.internal"]}})
    assert config.fetch.is_allowed_private("127.3.4.5")
    assert config.fetch.is_allowed_private("feeds.internal")
    assert not config.fetch.is_allowed_private("10.0.0.1")


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("15m", 900), ("2h", 7200), ("1d", 86400),
                                               ("1h30m", 5400), ("7d", 604800)])
def test_durations_round_trip(text: str, seconds: int) -> None:
    assert parse_duration(text).total_seconds() == seconds
    assert parse_duration(format_duration(parse_duration(text))) == parse_duration(text)


@pytest.mark.parametrize("text", ["", "15", "m", "15x", "-5m", "0s", "1.5h"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match=r"duration|longer than zero"):
        parse_duration(text)
