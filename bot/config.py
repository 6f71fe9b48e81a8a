"""config.toml, loaded with tomllib and validated into frozen, typed objects at start-up.

A bad file fails fast with one message naming the key and the problem (``ConfigError``, exit status 2):
an unknown key, a wrong type, a bad duration, an unknown time zone, a duplicate id. Secrets never live
here: the Discord token comes from the ``DISCORD_TOKEN`` environment variable only (:func:`discord_token`).
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.durations import parse_duration
from bot.errors import ConfigError
from bot.model import Topic

T = TypeVar("T")

DEFAULT_USER_AGENT = "Sitrep/0.1 (+https://github.com/sitrep-bot/sitrep; news fact bot)"
_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")


@dataclass(frozen=True, slots=True)
class SourceConfig:
    id: str
    name: str
    url: str
    full_text: bool = False
    topics: tuple[str, ...] = ()  # empty: assign topics by keywords only


@dataclass(frozen=True, slots=True)
class FetchConfig:
    allow_private: tuple[str, ...] = ()  # hosts or networks exempt from the SSRF guard (demo, tests)
    timeout: timedelta = timedelta(seconds=20)  # total time for one request, body included
    max_bytes: int = 5 * 1024 * 1024  # body cap after decompression
    max_redirects: int = 5
    concurrency: int = 32  # requests in flight overall
    per_host: int = 2  # requests in flight per host
    pause_after: int = 5  # consecutive failures before a source is paused
    user_agent: str = DEFAULT_USER_AGENT

    def is_allowed_private(self, host: str) -> bool:
        """Whether ``host`` (a name or an address) is on the explicit allow-list."""
        host = host.strip("[]").lower()
        for entry in self.allow_private:
            if entry.lower() == host:
                return True
            try:
                if ipaddress.ip_address(host) in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                continue
        return False


@dataclass(frozen=True, slots=True)
class StorageConfig:
    hot_weeks: int = 8  # weeks of facts kept in memory with full indexes; older ones are read on demand
    driver: str = "tinydb"  # "tinydb": files in data_dir; "postgres": SITREP_DATABASE_URL, shared by processes
    schema: str = "sitrep"  # the PostgreSQL schema the store's tables live in


@dataclass(frozen=True, slots=True)
class Config:
    data_dir: Path
    timezone: str = "UTC"
    poll_interval: timedelta = timedelta(minutes=15)
    fetch: FetchConfig = field(default_factory=FetchConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    topics: tuple[Topic, ...] = ()
    sources: tuple[SourceConfig, ...] = ()
    actors: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # canonical side → aliases
    places: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # canonical place → aliases
    alerts_per_hour: int = 10  # alert messages per guild per hour; the excess is summarised in one message
    path: Path | None = None  # the file it came from, for messages

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def topic(self, topic_id: str) -> Topic | None:
        return next((t for t in self.topics if t.id == topic_id), None)


def discord_token() -> str | None:
    """The bot token, from the environment only. Never logged, never read from a file."""
    token = os.environ.get("DISCORD_TOKEN", "").strip()
    return token or None


def database_url() -> str | None:
    """The PostgreSQL DSN, from the environment only (it may hold a password): never logged, never in a file."""
    url = os.environ.get("SITREP_DATABASE_URL", "").strip()
    return url or None


def load_config(path: Path, data_dir: Path | None = None) -> Config:
    """Read and validate ``path``. ``data_dir`` (the ``--data-dir`` option) overrides the file's."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("", f"config file {path} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError("", f"cannot read config file {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("", f"{path} is not valid TOML: {exc}") from None
    config = parse_config(raw, base=path.parent)
    config = _replace(config, path=path)
    if data_dir is not None:
        config = _replace(config, data_dir=data_dir)
    return config


def parse_config(raw: Mapping[str, Any], base: Path = Path()) -> Config:
    """Validate an already-parsed TOML document. Relative ``data_dir`` is taken from ``base``."""
    _known(raw, "", {"bot", "fetch", "storage", "alerts", "topics", "sources", "actors", "places"})
    bot = _table(raw, "bot")
    _known(bot, "bot", {"data_dir", "timezone", "poll_interval"})
    data_dir = Path(_get(bot, "bot.data_dir", str, "data"))
    if not data_dir.is_absolute():
        data_dir = base / data_dir
    timezone = validate_timezone(_get(bot, "bot.timezone", str, "UTC"), "bot.timezone")
    poll_interval = _duration(bot, "bot.poll_interval", "15m", minimum=timedelta(seconds=30))
    alerts = _table(raw, "alerts")
    _known(alerts, "alerts", {"max_per_hour"})

    return Config(
        data_dir=data_dir,
        timezone=timezone,
        poll_interval=poll_interval,
        fetch=_fetch(_table(raw, "fetch")),
        storage=_storage(_table(raw, "storage")),
        topics=_topics(raw.get("topics", [])),
        sources=_sources(raw.get("sources", [])),
        actors=_aliases(_table(raw, "actors"), "actors"),
        places=_aliases(_table(raw, "places"), "places"),
        alerts_per_hour=_positive(alerts, "alerts.max_per_hour", 10),
    )


def validate_timezone(name: str, key: str = "timezone") -> str:
    """An IANA zone name such as "Asia/Karachi", or ConfigError."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(key, f"unknown time zone {name!r}; use an IANA name like 'Asia/Karachi' or 'UTC'") from None
    return name


def _fetch(table: Mapping[str, Any]) -> FetchConfig:
    keys = {"allow_private", "timeout", "max_bytes", "max_redirects", "concurrency", "per_host",
            "pause_after", "user_agent"}
    _known(table, "fetch", keys)
    allow = tuple(_list_of(table, "fetch.allow_private", str))
    for entry in allow:
        if "/" in entry:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ConfigError("fetch.allow_private", f"{entry!r} is not a host, address or network") from None
    defaults = FetchConfig()
    return FetchConfig(
        allow_private=allow,
        timeout=_duration(table, "fetch.timeout", "20s"),
        max_bytes=_positive(table, "fetch.max_bytes", defaults.max_bytes),
        max_redirects=_positive(table, "fetch.max_redirects", defaults.max_redirects, allow_zero=True),
        concurrency=_positive(table, "fetch.concurrency", defaults.concurrency),
        per_host=_positive(table, "fetch.per_host", defaults.per_host),
        pause_after=_positive(table, "fetch.pause_after", defaults.pause_after),
        user_agent=_get(table, "fetch.user_agent", str, defaults.user_agent),
    )


def _storage(table: Mapping[str, Any]) -> StorageConfig:
    if any(k in table for k in ("dsn", "url", "database_url", "password")):
        raise ConfigError("storage", "the database URL is a secret: set SITREP_DATABASE_URL, not config.toml")
    _known(table, "storage", {"hot_weeks", "driver", "schema"})
    hot_weeks = _positive(table, "storage.hot_weeks", StorageConfig().hot_weeks)
    if hot_weeks > 520:
        raise ConfigError("storage.hot_weeks", f"must be at most 520 (ten years), not {hot_weeks}")
    driver = _get(table, "storage.driver", str, StorageConfig().driver)
    if driver not in ("tinydb", "postgres"):
        raise ConfigError("storage.driver", f'must be "tinydb" or "postgres", not {driver!r}')
    schema = _get(table, "storage.schema", str, StorageConfig().schema)
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", schema):
        raise ConfigError("storage.schema", f"must be lower-case letters, digits and _ (a PostgreSQL schema), "
                                            f"not {schema!r}")
    return StorageConfig(hot_weeks=hot_weeks, driver=driver, schema=schema)


def _topics(items: Any) -> tuple[Topic, ...]:
    if not isinstance(items, list):
        raise ConfigError("topics", "must be an array of tables ([[topics]])")
    topics: list[Topic] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        key = f"topics[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(key, "must be a table")
        _known(item, key, {"id", "name", "keywords"})
        topic_id = _required(item, f"{key}.id", str)
        if not _ID.fullmatch(topic_id):
            raise ConfigError(f"{key}.id", f"{topic_id!r} must be lower-case letters, digits, '-' or '_'")
        if topic_id in seen:
            raise ConfigError(f"{key}.id", f"duplicate topic id {topic_id!r}")
        seen.add(topic_id)
        keywords = tuple(k.strip() for k in _list_of(item, f"{key}.keywords", str) if k.strip())
        if not keywords:
            raise ConfigError(f"{key}.keywords", "needs at least one keyword")
        topics.append(Topic(id=topic_id, name=_get(item, f"{key}.name", str, topic_id), keywords=keywords))
    return tuple(topics)


def _sources(items: Any) -> tuple[SourceConfig, ...]:
    if not isinstance(items, list):
        raise ConfigError("sources", "must be an array of tables ([[sources]])")
    sources: list[SourceConfig] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        key = f"sources[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(key, "must be a table")
        _known(item, key, {"id", "name", "url", "full_text", "topics"})
        url = _required(item, f"{key}.url", str)
        if not re.match(r"https?://[^/\s]+", url, re.IGNORECASE):
            raise ConfigError(f"{key}.url", f"{url!r} must be an http:// or https:// URL")
        name = _get(item, f"{key}.name", str, url)
        source_id = _get(item, f"{key}.id", str, slug(name) or "source")
        if source_id in seen:
            raise ConfigError(f"{key}.id", f"duplicate source id {source_id!r}; give one an explicit id")
        seen.add(source_id)
        sources.append(SourceConfig(
            id=source_id, name=name, url=url,
            full_text=_get(item, f"{key}.full_text", bool, False),
            topics=tuple(_list_of(item, f"{key}.topics", str)),
        ))
    return tuple(sources)


def _aliases(table: Mapping[str, Any], key: str) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for name in table:
        out[name] = tuple(_list_of(table, f"{key}.{name}", str, name=name))
    return out


def slug(text: str) -> str:
    """Lower-case letters, digits and dashes, at most 40 characters: an id made from a name."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40]


def _replace(config: Config, **changes: Any) -> Config:
    from dataclasses import replace

    return replace(config, **changes)


# --- small typed accessors: each raises ConfigError naming the key -----------------------------------

_TYPE_NAMES = {str: "a string", bool: "true or false", int: "an integer", list: "an array", dict: "a table"}


def _known(table: Mapping[str, Any], where: str, allowed: set[str]) -> None:
    for key in table:
        if key not in allowed:
            path = f"{where}.{key}" if where else key
            raise ConfigError(path, f"unknown key (expected one of: {', '.join(sorted(allowed))})")


def _table(raw: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(key, "must be a table")
    return value


def _check(value: Any, key: str, kind: type[T]) -> T:
    # bool is an int in Python; a config that says `per_host = true` is still wrong.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(key, f"must be {_TYPE_NAMES.get(kind, kind.__name__)}, not {type(value).__name__}")
    return value


def _get(table: Mapping[str, Any], key: str, kind: type[T], default: T) -> T:
    name = key.rsplit(".", 1)[-1]
    return _check(table[name], key, kind) if name in table else default


def _required(table: Mapping[str, Any], key: str, kind: type[T]) -> T:
    name = key.rsplit(".", 1)[-1]
    if name not in table:
        raise ConfigError(key, "is required")
    return _check(table[name], key, kind)


def _list_of(table: Mapping[str, Any], key: str, kind: type[T], name: str | None = None) -> list[T]:
    name = name or key.rsplit(".", 1)[-1]
    value = table.get(name, [])
    _check(value, key, list)
    return [_check(v, f"{key}[{i}]", kind) for i, v in enumerate(value)]


def _duration(table: Mapping[str, Any], key: str, default: str, minimum: timedelta | None = None) -> timedelta:
    text = _get(table, key, str, default)
    try:
        value = parse_duration(text)
    except ValueError as exc:
        raise ConfigError(key, str(exc)) from None
    if minimum is not None and value < minimum:
        raise ConfigError(key, f"{text!r} is too short (at least {int(minimum.total_seconds())}s)")
    return value


def _positive(table: Mapping[str, Any], key: str, default: int, allow_zero: bool = False) -> int:
    value = _get(table, key, int, default)
    if value < 0 or (value == 0 and not allow_zero):
        raise ConfigError(key, f"must be {'zero or more' if allow_zero else 'more than zero'}, not {value}")
    return value

