"""Feeds: feedparser on the fetched bytes (never a URL or a user string: it would fetch or open it), and
JSON Feed, which feedparser does not read. A malformed feed keeps its valid entries and says what is wrong;
nothing here raises on bad input except "this is not a feed at all"."""

from __future__ import annotations

import calendar
import html
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.errors import FetchError


@dataclass(frozen=True, slots=True)
class Entry:
    link: str
    guid: str | None
    title: str
    published: datetime | None
    summary: str  # plain text


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str
    entries: tuple[Entry, ...]
    problem: str | None = None  # human-readable: what was wrong with a feed we could still read


def parse_feed(body: bytes, url: str, now: datetime | None = None, content_type: str = "") -> ParsedFeed:
    """CPU work: call it off the event loop."""
    now = now or datetime.now(UTC)
    stripped = body.lstrip()
    if not stripped:
        raise FetchError("empty response (no feed)")
    if stripped[:1] == b"{":
        return _json_feed(stripped, now)
    import feedparser

    # The server's content type matters to feedparser (charset, and "is this XML at all"); without one it
    # would call every feed malformed.
    headers = {"content-location": url, "content-type": content_type or "application/xml"}
    parsed = feedparser.parse(body, sanitize_html=False, resolve_relative_uris=False, response_headers=headers)
    problems = []
    if parsed.get("bozo"):
        problems.append(f"malformed feed ({_bozo(parsed.get('bozo_exception'))})")
    entries = []
    future = 0
    for raw in parsed.entries:
        entry = _entry(raw, now)
        if entry is None:
            continue
        if entry.published and entry.published > now + timedelta(hours=1):
            future += 1
            entry = Entry(entry.link, entry.guid, entry.title, now, entry.summary)
        entries.append(entry)
    if future:
        problems.append(f"{future} entries dated in the future (taken as now)")
    if not entries:
        if re.search(rb"<html|<!doctype html", stripped[:2000], re.IGNORECASE):
            raise FetchError("not a feed (an HTML page)")
        if parsed.get("bozo") and not parsed.get("feed"):
            raise FetchError(f"not a readable feed ({_bozo(parsed.get('bozo_exception'))})")
    title = _text(parsed.feed.get("title", "")) if parsed.get("feed") else ""
    return ParsedFeed(title, tuple(entries), "; ".join(problems) or None)


def _entry(raw: Any, now: datetime) -> Entry | None:
    link = raw.get("link") or ""
    guid = raw.get("id") or None
    if not link and guid and str(guid).startswith(("http://", "https://")):
        link = guid
    if not link:
        return None
    struct = raw.get("published_parsed") or raw.get("updated_parsed")
    published = datetime.fromtimestamp(calendar.timegm(struct), UTC) if struct else None
    summary = ""
    if raw.get("content"):
        summary = raw["content"][0].get("value", "")
    summary = summary or raw.get("summary", "") or raw.get("description", "")
    return Entry(link.strip(), guid, _text(raw.get("title", "")), published, _text(summary))


def _json_feed(body: bytes, now: datetime) -> ParsedFeed:
    try:
        doc = json.loads(body)
    except ValueError as exc:
        raise FetchError(f"not a readable feed (bad JSON: {exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("items"), list):
        raise FetchError("not a readable feed (JSON without items)")
    entries = []
    for item in doc["items"]:
        if not isinstance(item, dict):
            continue
        link = item.get("url") or item.get("external_url") or ""
        if not isinstance(link, str) or not link:
            continue
        published = _iso(item.get("date_published") or item.get("date_modified"))
        if published and published > now + timedelta(hours=1):
            published = now
        summary = item.get("content_text") or _text(item.get("content_html") or "") or item.get("summary") or ""
        entries.append(Entry(link, str(item.get("id") or "") or None, _text(str(item.get("title") or "")), published,
                             str(summary)))
    return ParsedFeed(_text(str(doc.get("title") or "")), tuple(entries))


def _iso(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _text(fragment: str) -> str:
    """HTML fragment → plain text, paragraphs kept."""
    text = re.sub(r"(?i)<\s*(br|/p|/div|/li|/h[1-6])\s*/?>", "\n", fragment)
    text = html.unescape(re.sub(r"<[^>]+>", "", text))
    return re.sub(r"[ \t]+", " ", text).strip()


def _bozo(exc: Any) -> str:
    text = str(exc or "unknown problem").splitlines()[0]
    return text[:160]
