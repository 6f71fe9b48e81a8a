"""Builders for store tests: realistic articles and facts with as few arguments as a test needs."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime
from pathlib import Path

from bot.model import Article, Casualty, Event, Fact
from storage.api import ArticleFacts, Batch
from storage.tinydb._lock import LOCK_FILE

T0 = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)


def article(url: str, *, published: datetime | None = T0, topics: tuple[str, ...] = ("gaza",), text: str = "v1",
            title: str = "Strikes hit the north", outlet: str = "Reuters", guid: str | None = None,
            story_id: str | None = None) -> Article:
    return Article(url=url, outlet=outlet, title=title, published=published, source_id="reuters",
                   text_hash=hashlib.sha1(f"{url}|{text}".encode()).hexdigest(), topics=topics, guid=guid,
                   story_id=story_id, fetched_at=T0)


def casualty(n: int, *, category: str = "killed", victim: str | None = "civilians", claimant: str | None = "UN",
             quote: str | None = None) -> Casualty:
    return Casualty(category=category, count=n, qualifier="at_least",  # type: ignore[arg-type]
                    quote=quote or f"At least {n} people were {category}, the {claimant} said.",
                    victim=victim, claimant=claimant)


def event(summary: str, *, date: str | None = "2025-03-09", actors: tuple[str, ...] = ("Israel",)) -> Event:
    return Event(summary=summary, quote=f"{summary}, officials said.", date=date,
                 date_precision="day" if date else None, actors=actors)


def facts_batch(url: str, facts: list[Fact] | tuple[Fact, ...], *, backlog: bool = False, **kw: object) -> Batch:
    return Batch(articles=(ArticleFacts(article(url, **kw), tuple(facts), backlog=backlog),))  # type: ignore[arg-type]


def snapshot(directory: Path) -> dict[str, tuple[bytes, int]]:
    """Every file's bytes and mtime: 'nothing was touched' means this is unchanged. The writer lock file
    (the writer's pid, not store data) is left out: opening a store for writing takes the lock first."""
    return {p.name: (p.read_bytes(), os.stat(p).st_mtime_ns) for p in sorted(directory.iterdir())
            if p.is_file() and p.name != LOCK_FILE}
