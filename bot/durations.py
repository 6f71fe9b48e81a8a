"""Durations as people type them in config.toml and Discord options: "90s", "15m", "2h", "1d", "1h30m"."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+)\s*([smhdw])")
_WHOLE = re.compile(r"(?:\s*\d+\s*[smhdw])+\s*")


def parse_duration(text: str) -> timedelta:
    """Parse "15m", "2h", "1h30m", "7d". Raises ValueError with a readable message on anything else."""
    if not isinstance(text, str) or not _WHOLE.fullmatch(text.lower()):
        raise ValueError(f"{text!r} is not a duration; use a number and a unit, like 90s, 15m, 2h or 7d")
    seconds = sum(int(n) * _UNITS[u] for n, u in _PART.findall(text.lower()))
    if seconds <= 0:
        raise ValueError(f"{text!r} must be longer than zero")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """The shortest exact spelling: 900 s → "15m", 5400 s → "1h30m"."""
    seconds = int(delta.total_seconds())
    if seconds <= 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        n, seconds = divmod(seconds, size)
        if n:
            parts.append(f"{n}{unit}")
    return "".join(parts)
