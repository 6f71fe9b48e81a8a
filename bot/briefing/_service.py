"""Briefing: the facade the cogs, the digest job and `ask` call. It reads the store, resolves options,
and hands plain lists of facts to the pure builders. It never writes, except to confirm a digest."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot.briefing._answers import Answer, DigestAnswer
from bot.briefing._casualties import build_casualties
from bot.briefing._views import (
    build_brief,
    build_digest,
    build_fact,
    build_search,
    build_sources,
    build_timeline,
    parse_date_bound,
)
from bot.durations import format_duration
from bot.errors import BadOption, NotFound
from bot.model import CATEGORIES, Kind, StoredFact, Topic

if TYPE_CHECKING:
    from bot.config import Config
    from storage import Store

DEFAULT_WINDOW = timedelta(days=30)
FACT_LIMIT = 5000  # facts read for one answer at most: answers stay fast on a store of any size
BRIEF_FACTS = 500  # the newest facts a brief is made of
RECENT_TIMELINE = 600  # events read for a timeline without a date range (it shows the latest 300 lines)
REPORTED_LATE = timedelta(days=90)  # a timeline range also reads articles published this long after it


class Briefing:
    def __init__(self, store: Store, config: Config) -> None:
        self.store = store
        self.config = config

    # --- topics -------------------------------------------------------------------------------------

    def topics_for(self, guild_id: int | None) -> list[Topic]:
        """config.toml's topics, then the guild's own."""
        own = self.store.topics(guild_id) if guild_id is not None else []
        return [*self.config.topics, *own]

    def resolve_topic(self, topic: str | None, guild_id: int | None) -> Topic | None:
        """A topic by id or name; with none given, the only topic, or None meaning all of them."""
        topics = self.topics_for(guild_id)
        if topic is None or not topic.strip():
            return topics[0] if len(topics) == 1 else None
        wanted = topic.strip().casefold()
        for t in topics:
            if wanted in (t.id.casefold(), t.name.casefold(), t.key.casefold()):
                return t
        choices = ", ".join(t.id for t in topics) or "none yet (admins add them with /config topics add)"
        raise BadOption(f"unknown topic {topic!r}; choose one of: {choices}")

    def _scope(self, topic: str | None, guild_id: int | None) -> tuple[list[str], str]:
        chosen = self.resolve_topic(topic, guild_id)
        if chosen is not None:
            return [chosen.key], chosen.name
        topics = self.topics_for(guild_id)
        return [t.key for t in topics], "all topics"

    # --- which answers read old partitions from disk (the bot computes those off the event loop) ------

    def casualties_reads_disk(self, topic: str | None = None, *, guild_id: int | None = None,
                             since: timedelta | None = None, now: datetime | None = None) -> bool:
        keys, _ = self._scope(topic, guild_id)
        return self.store.reads_disk(topics=keys, kind="casualty",
                                     since=(now or datetime.now(UTC)) - (since or DEFAULT_WINDOW))

    def timeline_reads_disk(self, topic: str | None = None, *, guild_id: int | None = None,
                            date_from: str | None = None, date_to: str | None = None) -> bool:
        keys, _ = self._scope(topic, guild_id)
        since, until, limit = self._timeline_reads(date_from, date_to)  # a bad date is refused here, at once
        return (self.store.reads_disk(topics=keys, kind="event", since=since, until=until, limit=limit)
                or self.store.reads_disk(topics=keys, kind="casualty", since=since, until=until, limit=limit // 5)
                or not self.store.facts(topics=keys, kind="event", since=since, until=until, limit=1))

    def brief_reads_disk(self, topic: str | None = None, *, guild_id: int | None = None) -> bool:
        keys, _ = self._scope(topic, guild_id)
        since = self.store.window_start()
        return self.store.reads_disk(topics=keys, since=since, limit=BRIEF_FACTS) or not self.store.facts(
            topics=keys, since=since, limit=1)

    def fact_reads_disk(self, fact_id: str) -> bool:
        return self.store.fact_reads_disk(fact_id)

    def search_reads_disk(self) -> bool:
        return self.store.reads_disk()

    # --- answers ------------------------------------------------------------------------------------

    def casualties(self, topic: str | None = None, *, guild_id: int | None = None, since: timedelta | None = None,
                   side: str | None = None, claimant: str | None = None, category: str | None = None,
                   now: datetime | None = None) -> Answer:
        if category is not None and category not in CATEGORIES:
            raise BadOption(f"unknown category {category!r}; choose one of: {', '.join(CATEGORIES)}")
        keys, name = self._scope(topic, guild_id)
        window = since or DEFAULT_WINDOW
        now = now or datetime.now(UTC)
        facts = self.store.facts(topics=keys, kind="casualty", since=now - window, category=category,
                                 victim=side, claimant=claimant, limit=FACT_LIMIT)
        filters = "".join([f", side {side}" if side else "", f", claimant {claimant}" if claimant else "",
                           f", {category}" if category else ""])
        return build_casualties(facts, topic_name=name, window=f"in the last {format_duration(window)}{filters}")

    def timeline(self, topic: str | None = None, *, guild_id: int | None = None, date_from: str | None = None,
                 date_to: str | None = None, newest_first: bool = False) -> Answer:
        keys, name = self._scope(topic, guild_id)
        since, until, limit = self._timeline_reads(date_from, date_to)
        latest = not (date_from or date_to)
        events = self._recent(keys, kind="event", since=since, until=until, limit=limit, latest=latest)
        claims = self._recent(keys, kind="casualty", since=since, until=until, limit=limit // 5, latest=latest)
        return build_timeline([*events, *claims], topic_name=name, date_from=date_from, date_to=date_to,
                              newest_first=newest_first)

    def _timeline_reads(self, date_from: str | None,
                        date_to: str | None) -> tuple[datetime | None, datetime | None, int]:
        """What a timeline reads, by publication time: with a date range, the articles published from the
        day before it to REPORTED_LATE after it (an article can date an event weeks before it was
        published); without one, the latest lines of the weeks the store keeps in memory."""
        lo = parse_date_bound(date_from, "from", end=False)
        hi = parse_date_bound(date_to, "to", end=True)
        if not (lo or hi):
            return self.store.window_start(), None, RECENT_TIMELINE
        since = _day(lo) - timedelta(days=1) if lo else None
        until = _day(hi) + REPORTED_LATE if hi else None
        return since, until, FACT_LIMIT

    def _recent(self, keys: list[str], *, kind: Kind | None, since: datetime | None, until: datetime | None,
                limit: int, latest: bool) -> list[StoredFact]:
        """Facts in [since, until]; with ``latest`` (``since`` is the loaded window's start) and none there,
        the latest ones before it instead (a quiet topic still shows its last lines)."""
        found = self.store.facts(topics=keys, kind=kind, since=since, until=until, limit=limit)
        if not found and latest:
            found = self.store.facts(topics=keys, kind=kind, until=until, limit=limit)
        return found

    def brief(self, topic: str | None = None, *, guild_id: int | None = None, now: datetime | None = None) -> Answer:
        keys, name = self._scope(topic, guild_id)
        return build_brief(self._recent(keys, kind=None, since=self.store.window_start(), until=None,
                                        limit=BRIEF_FACTS, latest=True), topic_name=name,
                           now=now or datetime.now(UTC))

    def fact(self, fact_id: str) -> Answer:
        found = self.store.fact(fact_id)
        if found is None:
            raise NotFound(f"no fact with id {fact_id!r} (ids are the short codes shown after each line)")
        names = {t.key: t.name for t in [*self.config.topics, *self.store.topics()]}
        return build_fact(found, [names.get(k, k) for k in found.topics])

    def search(self, words: str, *, topic: str | None = None, guild_id: int | None = None) -> Answer:
        if not words.strip():
            raise BadOption("search needs at least one word")
        keys, _ = self._scope(topic, guild_id)
        return build_search(self.store.search(words, topics=keys, limit=25), words=words.strip())

    def sources(self, guild_id: int | None = None, now: datetime | None = None) -> Answer:
        return build_sources(self.store.sources(guild_id), now or datetime.now(UTC))

    def digest(self, guild_id: int | None, *, since: timedelta | None = None,
               now: datetime | None = None) -> DigestAnswer:
        """Everything new for the guild's topics since its last delivered digest (or ``since`` ago)."""
        now = now or datetime.now(UTC)
        keys = [t.key for t in self.topics_for(guild_id)]
        settings = self.store.guild(guild_id) if guild_id is not None else None
        if since is not None:
            new = self.store.facts(topics=keys, since=now - since, limit=FACT_LIMIT)[::-1]  # oldest first
        else:
            new = self.store.facts_after(settings.digest_watermark if settings else 0, topics=keys)[:FACT_LIMIT]
        paused = [s for s in self.store.sources(guild_id) if s.paused]
        notices = settings.notices if settings else ()
        name = ", ".join(t.name for t in self.topics_for(guild_id)) or "no topics"
        return build_digest(new, topic_name=name, paused=paused, notices=notices, guild_id=guild_id,
                            up_to_seq=max([self.store.last_seq if since is None else 0, *(f.seq for f in new)]))

    async def confirm_digest(self, guild_id: int, digest: DigestAnswer, *, slot: str | None = None,
                             now: datetime | None = None) -> None:
        """Record a delivered digest: the watermark advances (never backwards) and its notices are cleared."""
        from storage import Batch

        settings = self.store.guild(guild_id)
        remaining = tuple(n for n in settings.notices if n not in digest.notices)
        updated = replace(settings, digest_watermark=max(settings.digest_watermark, digest.up_to_seq),
                          last_digest_at=now or datetime.now(UTC), last_digest_slot=slot or settings.last_digest_slot,
                          notices=remaining)
        await self.store.commit(Batch(guilds=(updated,)))


def _day(bound: str) -> datetime:
    """An ISO day bound of parse_date_bound ("2025-04-31" for the end of April, too) as a UTC datetime."""
    year, month, day = (int(part) for part in bound.split("-"))
    return datetime(year, month, 1, tzinfo=UTC) + timedelta(days=day - 1)
