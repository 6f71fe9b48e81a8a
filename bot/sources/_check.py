"""Checking a feed URL before an admin's /config feeds add stores it: SSRF guard, a test fetch, a parse."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bot.errors import FetchError
from bot.sources._fetch import Fetcher
from bot.sources._parse import parse_feed


@dataclass(frozen=True, slots=True)
class FeedCheck:
    ok: bool
    title: str = ""
    entries: int = 0
    error: str | None = None
    problem: str | None = None


async def check_feed_url(fetcher: Fetcher, url: str) -> FeedCheck:
    try:
        result = await fetcher.fetch(url)
        feed = await asyncio.to_thread(parse_feed, result.body, url, None, result.content_type)
    except FetchError as exc:
        return FeedCheck(False, error=str(exc))
    return FeedCheck(True, feed.title, len(feed.entries), problem=feed.problem)
