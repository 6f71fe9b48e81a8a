"""Everything the bot stores comes back exactly as it went in, after a reopen too."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.model import CATEGORIES, PRECISIONS, QUALIFIERS, Article, Casualty, Event, GuildSettings, SourceState, Topic
from storage.api import ArticleFacts, Batch, fact_id
from storage.tinydb.store import TinyStore

text = st.text(max_size=40)
opt_text = st.none() | text
aware = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC))
opt_int = st.none() | st.integers(min_value=0, max_value=10**12)
names = st.sampled_from(["Hamas", "Israel", "UN", "Ukraine", "Russia", "Pakistán"])

casualties = st.builds(
    Casualty, category=st.sampled_from(CATEGORIES), count=opt_int, qualifier=st.sampled_from(QUALIFIERS),
    quote=text, count_high=opt_int, victim=st.none() | names, victim_text=opt_text, claimant=st.none() | names,
    claimant_text=opt_text, date=st.none() | st.sampled_from(["2025", "2025-10", "2025-10-09"]),
    location=opt_text, cumulative=st.booleans(), breakdown=st.booleans(),
)
events = st.builds(
    Event, summary=text, quote=text, date=st.none() | st.just("2025-10-09"),
    date_precision=st.none() | st.sampled_from(PRECISIONS), actors=st.lists(names, max_size=3).map(tuple),
    location=opt_text,
)
articles = st.builds(
    Article, url=st.text(min_size=1, max_size=30).map(lambda s: "https://example.org/" + s), outlet=text,
    title=text, published=st.none() | aware, source_id=text, text_hash=st.text(min_size=1, max_size=20),
    topics=st.lists(st.sampled_from(["gaza", "ukraine", "1:sudan"]), max_size=3, unique=True).map(tuple),
    guid=opt_text, summary=text, story_id=opt_text, fetched_at=st.none() | aware, preview=st.booleans(),
)
sources = st.builds(
    SourceState, id=text, name=text, url=text, guild_id=st.none() | st.integers(1, 2**62), full_text=st.booleans(),
    etag=opt_text, last_modified=opt_text, last_attempt=st.none() | aware, last_success=st.none() | aware,
    last_error=opt_text, consecutive_failures=st.integers(0, 1000), items_seen=st.integers(0, 10**9),
    paused=st.booleans(), paused_at=st.none() | aware, next_due=st.none() | aware, seeded=st.booleans(),
)
topics = st.builds(Topic, id=text, name=text, keywords=st.lists(text, max_size=4).map(tuple),
                   guild_id=st.none() | st.integers(1, 2**62))
guilds = st.builds(
    GuildSettings, guild_id=st.integers(1, 2**62), digest_channel_id=st.none() | st.integers(1, 2**62),
    digest_time=st.just("08:00"), timezone=st.sampled_from(["UTC", "Europe/Paris"]), digest_enabled=st.booleans(),
    digest_disabled_reason=opt_text, poll_interval_s=st.none() | st.integers(60, 86400),
    digest_watermark=st.integers(0, 10**9), last_digest_at=st.none() | aware, last_digest_slot=opt_text,
    notices=st.lists(text, max_size=3).map(tuple),
)

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@contextlib.contextmanager
def _reopened(batch: Batch) -> Iterator[tuple[TinyStore, TinyStore]]:
    """The store right after the commit, and the same directory opened again (deleted afterwards: old
    partitions are read from their files when asked for, so the directory must outlive the reads)."""
    with tempfile.TemporaryDirectory(prefix="sitrep-rt-") as tmp:
        store = TinyStore.open_sync(Path(tmp))
        store.commit_sync(batch)
        reopened = TinyStore.open_sync(Path(tmp))
        try:
            yield store, reopened
        finally:
            store.close_sync()
            reopened.close_sync()


@SETTINGS
@given(article=articles, facts=st.lists(casualties | events, min_size=1, max_size=4))
def test_articles_and_facts_round_trip(article: Article, facts: list[Casualty | Event]) -> None:
    with _reopened(Batch(articles=(ArticleFacts(article, tuple(facts)),))) as (live, reopened):
        expected: dict[str, Casualty | Event] = {}
        for f in facts:  # two facts with the same id (same quote and figures): the first one wins
            expected.setdefault(fact_id(article.url, f), f)
        for store in (live, reopened):
            assert store.article(article.url) == article
            got = {s.id: s.fact for s in store.facts()}
            assert got == expected
            for stored in store.facts():
                assert stored.article == article.ref
                assert stored.topics == article.topics
                assert stored.story_id == article.story_id
                assert stored.stored_at.tzinfo is not None
                assert store.fact(stored.id) == stored
        assert sorted(live.facts(), key=lambda f: f.seq) == sorted(reopened.facts(), key=lambda f: f.seq)


@SETTINGS
@given(source=sources, topic=topics, guild=guilds)
def test_state_records_round_trip(source: SourceState, topic: Topic, guild: GuildSettings) -> None:
    with _reopened(Batch(sources=(source,), topics=(topic,), guilds=(guild,))) as (live, reopened):
        for store in (live, reopened):
            assert store.source(source.id) == source
            assert store.all_sources() == [source]
            assert store.topics() == [topic]
            assert store.guild(guild.guild_id) == guild
            assert store.guilds() == [guild]

