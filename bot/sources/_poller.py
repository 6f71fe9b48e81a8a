"""The poll job: one cycle = explicit phases, one store commit.

    due sources → fetch (conditional GET) → parse → dedupe → article text → extract → topics → ONE commit

A source's expected failure (HTTP error, timeout, not a feed, refused address) is recorded on the source
and the cycle goes on; an unexpected one is logged with its traceback and the cycle goes on too. After
``pause_after`` failures in a row a source is paused: retried every 6 hours, and resumed by itself on the
first success. The first poll of a new source stores its backlog without announcing it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import re
import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from rapidfuzz import fuzz

from bot.config import Config
from bot.errors import FetchError
from bot.extract import Extraction, article_text
from bot.model import Article, SourceState, Topic
from bot.sources._fetch import Fetcher
from bot.sources._parse import Entry, parse_feed
from bot.sources._urls import canonical_url
from storage import ArticleFacts, Batch
from storage.api import Fence

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from storage import Store

log = logging.getLogger(__name__)
PAUSED_RETRY = timedelta(hours=6)
MAX_BACKOFF = timedelta(hours=6)
STORY_WINDOW = timedelta(days=3)
STORY_SIMILARITY = 72
TICK = timedelta(minutes=5)
# A source is due at a tick when its next due time is at most this share of a tick away. Its next due time is
# the cycle's start plus its interval, and the cycle starts a few milliseconds after the tick: without the
# slack, the next tick one interval later finds it a few milliseconds short about half the time, and the
# interval doubles (15 min polls every 20). A tenth of a tick (30 s at the 5 min tick) absorbs any lateness of
# the event loop and never polls a source a whole tick early.
DUE_SLACK = 0.1


@dataclass
class CycleSummary:
    ok: int = 0
    failed: int = 0
    not_modified: int = 0
    skipped: int = 0  # not due yet (backoff, Retry-After, paused)
    new_articles: int = 0
    updated_articles: int = 0
    new_facts: int = 0
    errors: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = (f"sources: {self.ok} ok, {self.failed} failed, {self.not_modified} not modified, "
                f"{self.skipped} not due; {self.new_articles} new articles, {self.updated_articles} updated, "
                f"{self.new_facts} new facts")
        return text + "".join(f"\n  ! {e}" for e in self.errors)


@dataclass
class _SourceOutcome:
    state: SourceState
    items: list[ArticleFacts] = field(default_factory=list)
    status: str = "ok"  # ok, failed, not_modified


def fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c))


def topic_matcher(topics: Sequence[Topic]) -> Callable[[str], tuple[str, ...]]:
    """Keywords matched on word boundaries, case-insensitive, accents folded."""
    compiled = [(t.key, re.compile(r"(?<!\w)(?:" + "|".join(re.escape(fold(k)) for k in t.keywords) + r")(?!\w)"))
                for t in topics if t.keywords]

    def match(text: str) -> tuple[str, ...]:
        folded = fold(text)
        return tuple(key for key, pattern in compiled if pattern.search(folded))

    return match


class Poller:
    def __init__(self, config: Config, store: Store, fetcher: Fetcher, extractor: Extraction,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 fence: Callable[[], Fence | None] = lambda: None) -> None:
        self.config = config
        self.fence = fence  # the leader lease's (name, epoch): a deposed leader's cycle is refused by the store
        self.store = store
        self.fetcher = fetcher
        self.extractor = extractor
        self._topic_countries: dict[str, tuple[str, ...]] = {}
        self.clock = clock
        self._lock = asyncio.Lock()
        # What a digest waits for (settled()): when the cycle in flight started, and whether a cycle is owed,
        # i.e. the job was scheduled (at start, or by a new leader inheriting a dead one's work) and its first
        # cycle has not ended yet.
        self._started: datetime | None = None
        self._owed = False
        self._changed = asyncio.Condition()

    def schedule(self, scheduler: AsyncIOScheduler, after: Callable[[], Awaitable[object]] | None = None) -> None:
        """The poll job ticks at least every 5 minutes (the shortest interval a guild may choose); each source
        is fetched only when it is due, and a tick with nothing due writes nothing. ``after`` runs after every
        cycle (the bot's alerts), so what a cycle stored is acted on within that cycle."""
        tick = int(self.tick_interval.total_seconds())
        self._owed = True
        scheduler.add_job(self.tick, "interval", args=[after], id="poll", replace_existing=True, coalesce=True,
                          max_instances=1, misfire_grace_time=tick, seconds=tick, next_run_time=self.clock())

    def unschedule(self, scheduler: AsyncIOScheduler) -> None:
        """Stop polling (another process leads): a cycle in flight finishes; none is owed any more."""
        if scheduler.get_job("poll") is not None:
            scheduler.remove_job("poll")
        self._owed = False

    @property
    def tick_interval(self) -> timedelta:
        return min(self.config.poll_interval, TICK)

    async def settled(self, before: datetime, within: float) -> bool:
        """Wait until the poll work due at ``before`` is committed: no cycle that started before it is in
        flight, and no first cycle is owed since the job was scheduled. At most ``within`` seconds; whether
        it settled. The digest job's wait: a digest never runs ahead of a cycle already under way."""

        def quiet() -> bool:
            return not self._owed and (self._started is None or self._started >= before)

        async with self._changed:
            if quiet():
                return True
            try:
                await asyncio.wait_for(self._changed.wait_for(quiet), max(within, 0.0))
            except TimeoutError:
                return False
            return True

    async def _mark(self, started: datetime | None, *, done: bool = False) -> None:
        async with self._changed:
            self._started = started
            if done:
                self._owed = False
            self._changed.notify_all()

    async def tick(self, after: Callable[[], Awaitable[object]] | None = None) -> None:
        """One scheduled run: a poll cycle, then ``after``."""
        await self.run_cycle()
        if after is not None:
            await after()

    async def run_cycle(self) -> CycleSummary:
        async with self._lock:  # never two cycles at once, however they are started
            now = self.clock()
            await self._mark(now)
            try:
                return await self._cycle(now)
            finally:
                await self._mark(None, done=True)

    async def _cycle(self, now: datetime) -> CycleSummary:
        summary = CycleSummary()
        sources = self._sources_with_config()
        due = [s for s in sources if self._is_due(s, now)]
        summary.skipped = len(sources) - len(due)
        followed = [*self.config.topics, *self.store.topics()]
        topics = topic_matcher(followed)
        # the countries each topic's keywords name: extraction tells places apart by them
        self._topic_countries = {t.key: await self.extractor.countries_named((t.name, *t.keywords)) for t in followed}
        forced = {s.id: s.topics for s in self.config.sources}
        outcomes = await asyncio.gather(*(self._poll_source(s, now, topics, forced.get(s.id, ())) for s in due),
                                        return_exceptions=True)
        states = {s.id: s for s in sources}
        items: list[ArticleFacts] = []
        for source, result in zip(due, outcomes, strict=True):
            if isinstance(result, BaseException):
                log.error("unexpected error polling %s", source.url, exc_info=result)
                outcome = _SourceOutcome(self._failed(source, now, f"internal error: {type(result).__name__}"),
                                         status="failed")
            else:
                outcome = result
            states[source.id] = outcome.state
            items.extend(outcome.items)
            if outcome.status == "failed":
                summary.failed += 1
                summary.errors.append(f"{source.name}: {outcome.state.last_error}")
            elif outcome.status == "not_modified":
                summary.not_modified += 1
            else:
                summary.ok += 1
        items = self._link_stories(self._dedupe(items))
        changed = tuple(s for s in states.values() if s != self.store.source(s.id))
        committed = await self.store.commit(Batch(articles=tuple(items), sources=changed, fence=self.fence()))
        summary.new_articles, summary.updated_articles = committed.new_articles, committed.updated_articles
        summary.new_facts = committed.new_facts
        log.info("poll cycle: %s", str(summary).splitlines()[0])
        return summary

    # --- phases -------------------------------------------------------------------------------------

    def _sources_with_config(self) -> list[SourceState]:
        """config.toml's sources, with the fetch state the store keeps for them, then guild sources."""
        out = []
        for sc in self.config.sources:
            stored = self.store.source(sc.id)
            base = stored or SourceState(id=sc.id, name=sc.name, url=sc.url)
            if base.url != sc.url:  # the URL changed in config: its old fetch state says nothing
                base = SourceState(id=sc.id, name=sc.name, url=sc.url)
            out.append(replace(base, name=sc.name, full_text=sc.full_text, guild_id=None))
        config_ids = {s.id for s in out}
        out += [s for s in self.store.all_sources() if s.guild_id is not None and s.id not in config_ids]
        return out

    def _is_due(self, source: SourceState, now: datetime) -> bool:
        if source.paused:
            return source.last_attempt is None or now - source.last_attempt >= PAUSED_RETRY
        if self.fetcher.host_wait(source.url) > 0:
            return False
        return source.next_due is None or source.next_due <= now + self.tick_interval * DUE_SLACK

    async def _poll_source(self, source: SourceState, now: datetime, topics: Callable[[str], tuple[str, ...]],
                           forced_topics: tuple[str, ...]) -> _SourceOutcome:
        try:
            result = await self.fetcher.fetch(source.url, etag=source.etag, last_modified=source.last_modified)
            if result.not_modified:
                return _SourceOutcome(self._succeeded(source, now, result.etag, result.last_modified, 0),
                                      status="not_modified")
            feed = await asyncio.to_thread(parse_feed, result.body, source.url, now, result.content_type)
        except FetchError as exc:
            return _SourceOutcome(self._failed(source, now, str(exc)), status="failed")
        items = []
        for entry in feed.entries:
            item = await self._article(source, entry, now, topics, forced_topics)
            if item is not None:
                items.append(item)
        state = self._succeeded(source, now, result.etag, result.last_modified, len(feed.entries))
        if feed.problem:
            state = replace(state, last_error=feed.problem)
        return _SourceOutcome(state, items)

    async def _article(self, source: SourceState, entry: Entry, now: datetime,
                       topics: Callable[[str], tuple[str, ...]], forced: tuple[str, ...]) -> ArticleFacts | None:
        url = canonical_url(entry.link)
        known = self.store.article(url) or (self.store.article_by_guid(entry.guid) if entry.guid else None)
        text, preview = entry.summary, False
        if source.full_text and (known is None or known.source_id == source.id):
            try:
                page = await self.fetcher.fetch(entry.link, accept="text/html,application/xhtml+xml;q=0.9,*/*;q=0.5")
                clean = await asyncio.to_thread(article_text, page.body.decode("utf-8", errors="replace"))
                if clean.text.strip():
                    text, preview = clean.text, clean.preview
            except FetchError as exc:
                log.info("article page %s: %s (using the feed summary)", entry.link, exc)
        text_hash = hashlib.blake2b(fold(" ".join(text.split())).encode(), digest_size=12).hexdigest()
        if known is not None and known.text_hash == text_hash:
            return None  # the same article again: via another feed, or another poll
        same_text = self.store.article_by_hash(text_hash)
        if known is None and same_text is not None:
            return None  # the same text under another URL
        if known is not None:
            url = known.url  # an edit of an article we have: update it, don't duplicate it
        keys = tuple(dict.fromkeys((*forced, *topics(f"{entry.title}\n{text}"))))
        countries = tuple(dict.fromkeys(c for k in keys for c in self._topic_countries.get(k, ())))
        facts = await self.extractor.extract(text, published=entry.published, title=entry.title,
                                             countries=countries)
        article = Article(
            url=url, outlet=source.name, title=entry.title or url, published=entry.published,
            source_id=known.source_id if known else source.id, text_hash=text_hash,
            topics=keys, guid=entry.guid,
            summary=text[:500], story_id=known.story_id if known else None, fetched_at=now, preview=preview,
        )
        return ArticleFacts(article, tuple(facts), backlog=not source.seeded)

    @staticmethod
    def _dedupe(items: list[ArticleFacts]) -> list[ArticleFacts]:
        """The same article from two feeds in one cycle: keep the first."""
        seen: set[str] = set()
        out = []
        for item in items:
            key = item.article.url
            if key not in seen and item.article.text_hash not in seen:
                seen.update((key, item.article.text_hash))
                out.append(item)
        return out

    def _link_stories(self, items: list[ArticleFacts]) -> list[ArticleFacts]:
        """Articles about one incident from different outlets share a story id (title similarity)."""
        pool = [a for a in self.store.recent_articles(limit=300)]
        out = []
        for item in items:
            article = item.article
            if article.story_id is None:
                story = self._similar_story(article, pool)
                article = replace(article, story_id=story or hashlib.blake2b(article.url.encode(),
                                                                             digest_size=6).hexdigest())
            pool.append(article)
            out.append(replace(item, article=article))
        return out

    @staticmethod
    def _similar_story(article: Article, pool: list[Article]) -> str | None:
        when = article.published or article.fetched_at
        for other in reversed(pool):
            if other.outlet == article.outlet or other.story_id is None:
                continue
            other_when = other.published or other.fetched_at
            if when and other_when and abs(when - other_when) > STORY_WINDOW:
                continue
            if fuzz.token_set_ratio(fold(article.title), fold(other.title)) >= STORY_SIMILARITY:
                return other.story_id
        return None

    # --- source health ------------------------------------------------------------------------------

    def _succeeded(self, s: SourceState, now: datetime, etag: str | None, modified: str | None,
                   seen: int) -> SourceState:
        return replace(s, etag=etag or s.etag, last_modified=modified or s.last_modified, last_attempt=now,
                       last_success=now, last_error=None, consecutive_failures=0, items_seen=s.items_seen + seen,
                       paused=False, paused_at=None, next_due=now + self._interval(s), seeded=True)

    def _failed(self, s: SourceState, now: datetime, error: str) -> SourceState:
        failures = s.consecutive_failures + 1
        backoff = min(self._interval(s) * (2 ** (failures - 1)), MAX_BACKOFF)
        backoff *= random.uniform(0.8, 1.2)  # jitter: failing sources don't retry in lockstep
        paused = failures >= self.config.fetch.pause_after
        return replace(s, last_attempt=now, last_error=error, consecutive_failures=failures,
                       paused=paused, paused_at=(s.paused_at or now) if paused else None,
                       next_due=now + (PAUSED_RETRY if paused else backoff))

    def _interval(self, source: SourceState) -> timedelta:
        """config.toml's interval; a guild's own feeds follow the interval its admins chose."""
        if source.guild_id is not None:
            chosen = self.store.guild(source.guild_id).poll_interval_s
            if chosen:
                return timedelta(seconds=chosen)
        return self.config.poll_interval
