"""Briefing: the facade the cogs, the digest job and `ask` call. It reads the store, resolves options,
and hands plain lists of facts to the pure builders. It never writes, except to confirm a digest."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot.briefing._alerts import AlertPlan, plan_alerts, recent_alerts
from bot.briefing._answers import Answer, DigestAnswer, by_topic
from bot.briefing._casualties import build_casualties
from bot.briefing._chart import prepare_chart
from bot.briefing._chart_data import ChartData
from bot.briefing._export import (
    Export,
    ExportFile,
    ExportScope,
    Format,
    build_export,
    export_files,
    file_stem,
    parse_since,
)
from bot.briefing._incidents import Incident, build_incident, build_incidents, incident_label, incidents_of
from bot.briefing._map import prepare_map
from bot.briefing._map_data import MapData
from bot.briefing._territory import build_territory
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
from bot.model import CATEGORIES, GuildSettings, Kind, StoredFact, Topic

if TYPE_CHECKING:
    from bot.config import Config
    from storage import Store

DEFAULT_WINDOW = timedelta(days=30)
FACT_LIMIT = 5000  # facts read for one answer at most: answers stay fast on a store of any size
BRIEF_FACTS = 500  # the newest facts a brief is made of
RECENT_TIMELINE = 600  # events read for a timeline without a date range (it shows the latest 300 lines)
REPORTED_LATE = timedelta(days=90)  # a timeline range also reads articles published this long after it
LATE_SLICE = timedelta(days=14)  # ... two weeks at a time, oldest first, until the range has its FACT_LIMIT


class Briefing:
    def __init__(self, store: Store, config: Config) -> None:
        self.store = store
        self.config = config

    # --- topics -------------------------------------------------------------------------------------

    def topics_for(self, guild_id: int | None) -> list[Topic]:
        """config.toml's topics, then the guild's own."""
        own = self.store.topics(guild_id) if guild_id is not None else []
        return [*self.config.topics, *own]

    def topic_choices(self, current: str, guild_id: int | None) -> list[tuple[str, str]]:
        """(name, id) of the topics whose name or id contains ``current``, for autocomplete."""
        wanted = current.casefold()
        return [(t.name[:100], t.id) for t in self.topics_for(guild_id)
                if wanted in t.name.casefold() or wanted in t.id.casefold()][:25]

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

    def _each_topic(self, topic: str | None, guild_id: int | None, build: Callable[[list[str], str], Answer],
                    title: str) -> Answer:
        """``build(topic keys, name)`` for the chosen topic; with none chosen in a server of several, once per
        topic, each its own section (a figure of one topic never sits in another's list)."""
        topics = self.topics_for(guild_id)
        if self.resolve_topic(topic, guild_id) is not None or len(topics) < 2:
            return build(*self._scope(topic, guild_id))
        return by_topic([(t.name, build([t.key], t.name)) for t in topics], title=f"{title}: all topics",
                        empty=build([t.key for t in topics], "all topics"))

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

    def territory_reads_disk(self, topic: str | None = None, *, guild_id: int | None = None,
                             since: timedelta | None = None, now: datetime | None = None) -> bool:
        keys, _ = self._scope(topic, guild_id)
        return self.store.reads_disk(topics=keys, kind="territory",
                                     since=(now or datetime.now(UTC)) - (since or DEFAULT_WINDOW))

    @property
    def remote(self) -> bool:
        """Whether even the newest facts are read with I/O (the PostgreSQL driver): every answer is then
        built off the event loop."""
        return self.store.reads_disk(since=datetime.now(UTC))

    # --- answers ------------------------------------------------------------------------------------

    def casualties(self, topic: str | None = None, *, guild_id: int | None = None, since: timedelta | None = None,
                   side: str | None = None, claimant: str | None = None, category: str | None = None,
                   now: datetime | None = None) -> Answer:
        def build(keys: list[str], name: str) -> Answer:
            facts, window = self._casualty_facts(keys, since, side, claimant, category, now)
            return build_casualties(facts, topic_name=name, window=window, story_outlets=self._story_outlets(facts))

        return self._each_topic(topic, guild_id, build, "Casualty claims")

    def casualties_chart(self, topic: str | None = None, *, guild_id: int | None = None,
                         since: timedelta | None = None, side: str | None = None, claimant: str | None = None,
                         category: str | None = None, now: datetime | None = None) -> ChartData:
        """What the casualties chart draws, for the same facts as :meth:`casualties`. Cheap; the drawing
        (:func:`render_chart`) is the slow part and needs no store."""
        now = now or datetime.now(UTC)
        keys, name = self._scope(topic, guild_id)
        facts, window = self._casualty_facts(keys, since, side, claimant, category, now)
        return prepare_chart(facts, topic_name=name, window=window, start=(now - (since or DEFAULT_WINDOW)).date())

    def digest_chart(self, guild_id: int, topic_keys: list[str], *, now: datetime | None = None) -> ChartData | None:
        """The /casualties chart of a digest's topics over the default window, or None when it has nothing to
        plot: the digest carries it only where it shows something."""
        now = now or datetime.now(UTC)
        facts = self.store.facts(topics=topic_keys, kind="casualty", since=now - DEFAULT_WINDOW, limit=FACT_LIMIT)
        names = ", ".join(t.name for t in self.topics_for(guild_id) if t.key in topic_keys) or "no topics"
        data = prepare_chart(facts, topic_name=names, window=f"in the last {format_duration(DEFAULT_WINDOW)}",
                             start=(now - DEFAULT_WINDOW).date())
        return data if data.panels else None

    def _casualty_facts(self, keys: list[str], since: timedelta | None, side: str | None, claimant: str | None,
                        category: str | None, now: datetime | None) -> tuple[list[StoredFact], str]:
        if category is not None and category not in CATEGORIES:
            raise BadOption(f"unknown category {category!r}; choose one of: {', '.join(CATEGORIES)}")
        window = since or DEFAULT_WINDOW
        now = now or datetime.now(UTC)
        facts = self.store.facts(topics=keys, kind="casualty", since=now - window, category=category,
                                 victim=side, claimant=claimant, limit=FACT_LIMIT)
        filters = "".join([f", side {side}" if side else "", f", claimant {claimant}" if claimant else "",
                           f", {category}" if category else ""])
        return facts, f"in the last {format_duration(window)}{filters}"

    def _story_outlets(self, facts: list[StoredFact]) -> dict[str, int]:
        stories = {f.story_id for f in facts if f.story_id}
        return {s: len({a.outlet for a in self.store.story_articles(s)}) for s in stories}

    # --- incidents ----------------------------------------------------------------------------------

    def incidents(self, topic: str | None = None, *, guild_id: int | None = None,
                  now: datetime | None = None) -> Answer:
        keys, name = self._scope(topic, guild_id)
        return build_incidents(self._incidents(keys, now), topic_name=name)

    def incident(self, incident_id: str, *, topic: str | None = None, guild_id: int | None = None) -> Answer:
        keys, _ = self._scope(topic, guild_id)
        wanted = incident_id.strip()
        found = next((i for i in self._incidents(keys, None) if i.id == wanted or wanted in i.stories), None)
        if found is None:
            raise NotFound(f"no incident {incident_id!r} in the last {format_duration(DEFAULT_WINDOW)} "
                           "(pick one from the list /incident offers)")
        return build_incident(found)

    def incident_choices(self, current: str, *, topic: str | None = None, guild_id: int | None = None,
                         now: datetime | None = None) -> list[tuple[str, str]]:
        """(label, id) of recent incidents whose label contains ``current``, for autocomplete."""
        keys, _ = self._scope(topic, guild_id)
        wanted = current.casefold()
        labels = [(incident_label(i), i.id) for i in self._incidents(keys, now)]
        return [(label, i) for label, i in labels if wanted in label.casefold() or wanted in i][:25]

    def _incidents(self, keys: list[str], now: datetime | None, window: timedelta = DEFAULT_WINDOW) -> list[Incident]:
        since = (now or datetime.now(UTC)) - window
        return incidents_of(self.store.facts(topics=keys, since=since, limit=FACT_LIMIT))

    def map(self, topic: str | None = None, *, guild_id: int | None = None, since: timedelta | None = None,
            now: datetime | None = None, topic_keys: list[str] | None = None) -> MapData:
        """What the map of the topic's incidents in the window shows (cheap); :func:`render_map` draws it."""
        keys, name = self._scope(topic, guild_id)
        if topic_keys is not None:  # a digest's topics
            keys = topic_keys
            name = ", ".join(t.name for t in self.topics_for(guild_id) if t.key in keys) or "no topics"
        window = since or DEFAULT_WINDOW
        return prepare_map(self._incidents(keys, now, window), topic_name=name,
                           window=f"last {format_duration(window)}")

    def territory(self, topic: str | None = None, *, guild_id: int | None = None, since: timedelta | None = None,
                  now: datetime | None = None) -> Answer:
        window = since or DEFAULT_WINDOW
        start = (now or datetime.now(UTC)) - window

        def build(keys: list[str], name: str) -> Answer:
            facts = self.store.facts(topics=keys, kind="territory", since=start, limit=FACT_LIMIT)
            return build_territory(facts, topic_name=name, window=f"in the last {format_duration(window)}")

        return self._each_topic(topic, guild_id, build, "Territory claims")

    def timeline(self, topic: str | None = None, *, guild_id: int | None = None, date_from: str | None = None,
                 date_to: str | None = None, newest_first: bool = False) -> Answer:
        since, until, limit = self._timeline_reads(date_from, date_to)

        def build(keys: list[str], name: str) -> Answer:
            if date_from or date_to:
                hi = parse_date_bound(date_to, "to", end=True)
                end = _day(hi) + timedelta(days=1) if hi else None
                events = self._ranged(keys, "event", since, end, until, limit)
                claims = self._ranged(keys, "casualty", since, end, until, limit // 5)
            else:
                events = self._recent(keys, kind="event", since=since, until=until, limit=limit, latest=True)
                claims = self._recent(keys, kind="casualty", since=since, until=until, limit=limit // 5, latest=True)
            return build_timeline([*events, *claims], topic_name=name, date_from=date_from, date_to=date_to,
                                  newest_first=newest_first)

        return self._each_topic(topic, guild_id, build, "Timeline")

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

    def _ranged(self, keys: list[str], kind: Kind, since: datetime | None, end: datetime | None,
                until: datetime | None, limit: int) -> list[StoredFact]:
        """A date range's facts by publication time: those published by the range's ``end`` first, then the
        REPORTED_LATE weeks after it (up to ``until``), LATE_SLICE at a time, oldest first, until ``limit``.
        Read newest first over the whole window, a busy topic's limit went to the latest late reports, which date
        events after the range: at a million facts a month's timeline came out empty."""
        if end is None or until is None:
            return self.store.facts(topics=keys, kind=kind, since=since, until=until, limit=limit)
        found = self.store.facts(topics=keys, kind=kind, since=since, until=end, limit=limit)
        seen = {f.id for f in found}
        while len(found) < limit and end < until:
            start, end = end, min(end + LATE_SLICE, until)
            late = self.store.facts(topics=keys, kind=kind, since=start, until=end, limit=limit - len(found))
            found += [f for f in late if f.id not in seen]  # one published at a slice's edge is in both
            seen.update(f.id for f in late)
        return found

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

    def export(self, topic: str | None = None, *, guild_id: int | None = None, since: str | None = None,
               now: datetime | None = None) -> Export:
        """Every casualty and territory claim of the topic (all of the guild's topics when none is given and
        there are several), published since a duration ago or a date; everything stored without ``since``."""
        return build_export(*self._export_facts(topic, guild_id, since, now))

    async def export_files(self, topic: str | None = None, *, guild_id: int | None = None, since: str | None = None,
                           fmt: Format = "csv", limit: int, now: datetime | None = None,
                           ) -> tuple[Export, list[ExportFile]]:
        """:meth:`export` as files of at most ``limit`` bytes, for /export. All of it runs in a worker thread:
        an export without ``since`` reads every week stored, most of them from disk, and the rows and files of a
        large export take seconds to build; the bot's event loop waits for neither."""

        def build() -> tuple[Export, list[ExportFile]]:
            export = build_export(*self._export_facts(topic, guild_id, since, now))
            return export, export_files(export, fmt, limit=limit) if export.rows else []

        return await asyncio.to_thread(build)

    def check_export(self, topic: str | None = None, *, guild_id: int | None = None, since: str | None = None) -> None:
        """Raises BadOption for an unknown topic or a malformed ``since``: /export checks before it defers."""
        self.resolve_topic(topic, guild_id)
        parse_since(since, datetime.now(UTC))

    def _export_facts(self, topic: str | None, guild_id: int | None, since: str | None,
                      now: datetime | None) -> tuple[list[StoredFact], ExportScope]:
        keys, name = self._scope(topic, guild_id)
        chosen = self.resolve_topic(topic, guild_id)
        now = now or datetime.now(UTC)
        start, window = parse_since(since, now)
        # One read of every claim of every topic: the store reads each old week once (a query per topic read every
        # week once per topic: 8,600 rows/s at 100k facts), and decodes only its claims. The builder orders them.
        facts = self.store.claims(topics=keys, since=start)
        scope = ExportScope(topic_name=name, window=window, topics=tuple(keys),
                            stem=file_stem(chosen.id if chosen else None, now))
        return facts, scope

    def sources(self, guild_id: int | None = None, now: datetime | None = None) -> Answer:
        return build_sources(self.store.sources(guild_id), now or datetime.now(UTC))

    def digest(self, guild_id: int | None, *, since: timedelta | None = None, now: datetime | None = None,
               topic_keys: list[str] | None = None, route: str | None = None,
               up_to: int | None = None) -> DigestAnswer:
        """Everything new for the guild's topics (or ``topic_keys``) since its last delivered digest (the
        ``route``'s own watermark for a routed channel), or since ``since`` ago; with ``up_to``, nothing stored
        after that seq (the re-send of a digest that was in flight)."""
        now = now or datetime.now(UTC)
        topics = self.topics_for(guild_id)
        keys = topic_keys if topic_keys is not None else [t.key for t in topics]
        settings = self.store.guild(guild_id) if guild_id is not None else None
        if since is not None:
            new = self.store.facts(topics=keys, since=now - since, limit=FACT_LIMIT)[::-1]  # oldest first
        elif settings is None:
            new = self.store.facts_after(0, topics=keys)[:FACT_LIMIT]
        else:  # each topic from its own watermark: what was delivered for it, wherever it was delivered
            marks = {k: settings.watermark(k) for k in keys}
            new = [f for f in self.store.facts_after(min(marks.values(), default=0), topics=keys)
                   if any(f.seq > marks[k] for k in f.topics if k in marks)][:FACT_LIMIT]
        if up_to is not None:
            new = [f for f in new if f.seq <= up_to]
        paused = [s for s in self.store.sources(guild_id) if s.paused] if route is None else []
        notices = settings.notices if settings and route is None else ()
        name = ", ".join(t.name for t in topics if t.key in keys) or "no topics"
        last = self.store.last_seq if up_to is None else up_to
        return build_digest(new, topic_name=name, paused=paused, notices=notices, guild_id=guild_id,
                            up_to_seq=max([last if since is None else 0, *(f.seq for f in new)]))

    def alerts(self, guild_id: int, *, limit: int, now: datetime | None = None) -> AlertPlan:
        """The alerts due for the guild's rules: facts stored since its alert watermark (never backlog)."""
        settings = self.store.guild(guild_id)
        rules = settings.rules
        up_to = self.store.last_seq
        if not rules:
            return AlertPlan((), (), up_to)
        start = max(settings.alert_watermark, min(r.since_seq for r in rules))
        new = self.store.facts_after(start, topics=[t.key for t in self.topics_for(guild_id)])
        if len(new) > FACT_LIMIT:  # a huge backlog of alerts: the rest waits for the next cycle
            new = new[:FACT_LIMIT]
            up_to = new[-1].seq
        return plan_alerts([f for f in new if f.seq <= up_to], rules, sent=set(settings.alerts_sent),
                           posts=settings.alert_posts, threads=settings.alert_threads,
                           alerts_this_hour=len(recent_alerts(settings.alert_times, now or datetime.now(UTC))),
                           limit=limit, up_to_seq=up_to, names=settings.alert_names,
                           in_flight=settings.alerts_in_flight)

    async def update_guild(self, guild_id: int, change: Callable[[GuildSettings], GuildSettings]) -> GuildSettings:
        """Apply ``change`` to the guild's settings as stored now, and commit, with no other write of them in
        between, in this process or another (``Store.update_guild``): /config, digest and alert records each
        change their own fields of one record, and a write from a copy read earlier would undo another's."""
        return await self.store.update_guild(guild_id, change)

    async def confirm_digest(self, guild_id: int, digest: DigestAnswer, *, slot: str | None = None,
                             now: datetime | None = None, route: str | None = None,
                             topic_keys: list[str] | None = None, nonce: str | None = None) -> None:
        """Record a delivered digest: the watermarks of its topics advance (never backwards) and its notices are
        cleared. A routed channel's digest records that channel's own slot."""
        keys = topic_keys if topic_keys is not None else [t.key for t in self.topics_for(guild_id)]

        def record(settings: GuildSettings) -> GuildSettings:
            if nonce is not None and nonce in settings.digests_in_flight:
                settings = replace(settings, digests_in_flight={
                    k: v for k, v in settings.digests_in_flight.items() if k != nonce})
            marks = {**settings.topic_watermarks, **{k: max(settings.watermark(k), digest.up_to_seq) for k in keys
                                                     if route is not None or k in settings.topic_watermarks}}
            if route is not None:
                slots = {**settings.channel_slots, route: slot or settings.channel_slots.get(route, "")}
                return replace(settings, channel_slots=slots, topic_watermarks=marks)
            remaining = tuple(n for n in settings.notices if n not in digest.notices)
            return replace(settings, digest_watermark=max(settings.digest_watermark, digest.up_to_seq),
                           topic_watermarks=marks, last_digest_at=now or datetime.now(UTC),
                           last_digest_slot=slot or settings.last_digest_slot, notices=remaining)

        await self.update_guild(guild_id, record)


def _day(bound: str) -> datetime:
    """An ISO day bound of parse_date_bound ("2025-04-31" for the end of April, too) as a UTC datetime."""
    year, month, day = (int(part) for part in bound.split("-"))
    return datetime(year, month, 1, tzinfo=UTC) + timedelta(days=day - 1)
