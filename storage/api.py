"""The repository API (:class:`Store`) and what goes into it: one :class:`Batch` per commit. Everything a
poll cycle or an admin command changes travels in one batch and lands atomically: all of it, or (after a
crash) none of it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from bot.model import Article, Casualty, Fact, GuildSettings, Kind, SourceState, StoredFact, Territory, Topic

DEFAULT_HOT_WEEKS = 8  # [storage] hot_weeks: the recent weeks each driver answers from memory


def fact_id(article_url: str, fact: Fact) -> str:
    """A short, stable id for a fact: the same fact from the same article always gets the same id.

    10 characters of base-32 (50 bits): at a million facts the chance of any collision is below 1 in 2,000,
    and the store refuses a colliding id rather than overwriting (it keeps the first).
    """
    if isinstance(fact, Casualty):
        key = f"{fact.category}|{fact.count}|{fact.count_high}|{fact.qualifier}|{fact.victim}|{fact.claimant}"
    elif isinstance(fact, Territory):
        key = f"{fact.action}|{fact.object}|{fact.count}|{fact.qualifier}|{fact.by_side}|{fact.claimant}"
    else:
        key = f"{fact.date}|{fact.summary}"
    digest = hashlib.blake2b(f"{article_url}\n{fact.kind}\n{fact.quote}\n{key}".encode(), digest_size=8)
    alphabet = "abcdefghijkmnpqrstuvwxyz23456789"  # no l/o/0/1: ids are typed by people
    n = int.from_bytes(digest.digest(), "big")
    return "".join(alphabet[(n >> (5 * i)) & 31] for i in range(10))


@dataclass(frozen=True, slots=True)
class ArticleFacts:
    """An article and every fact extracted from it.

    If the store already has this canonical URL with the same ``text_hash``, nothing changes. If the hash
    differs (the article was edited), the article is updated and its facts are replaced: facts whose id is
    unchanged keep their ``seq`` (so they are not announced again), new ones get new ``seq`` numbers,
    vanished ones are removed.

    ``backlog`` marks the first poll of a new source: stored and searchable, but never announced in a
    digest.
    """

    article: Article
    facts: tuple[Fact, ...]
    backlog: bool = False


Fence = tuple[str, int]


@dataclass(frozen=True, slots=True)
class Batch:
    """One atomic write. Every field is optional; an empty batch writes nothing."""

    articles: tuple[ArticleFacts, ...] = ()
    sources: tuple[SourceState, ...] = ()  # upsert by id (fetch state, health)
    remove_sources: tuple[str, ...] = ()  # source ids
    topics: tuple[Topic, ...] = ()  # upsert guild topics by Topic.key
    remove_topics: tuple[str, ...] = ()  # Topic.key values
    guilds: tuple[GuildSettings, ...] = ()  # upsert by guild_id
    # The leader's (lease name, epoch) for a write only the leader may make (a poll cycle): a store shared by
    # several processes refuses it once another process has been elected since (StoreError, nothing written).
    fence: Fence | None = None

    def __bool__(self) -> bool:
        return any((self.articles, self.sources, self.remove_sources, self.topics, self.remove_topics,
                    self.guilds))


@dataclass(frozen=True, slots=True)
class CommitResult:
    new_articles: int = 0
    updated_articles: int = 0
    new_facts: int = 0
    removed_facts: int = 0
    last_seq: int = 0  # the store's highest seq after the commit


# A guild-settings change: a pure function of the settings as they are now (see Store.update_guild).
GuildChange = Callable[[GuildSettings], GuildSettings]
# Told which guilds' settings another process changed (see Store.subscribe); called on the subscriber's loop.
Subscriber = Callable[[frozenset[int]], None]


@runtime_checkable
class Store(Protocol):
    """The repository API: what sources, briefing, cogs and the CLI see of storage, whichever driver answers
    (``TinyStore``: TinyDB files, the embedded default; ``PgStore``: PostgreSQL, for several processes).

    Reads are synchronous. ``reads_disk``/``fact_reads_disk`` say whether a read may block on I/O (an old
    TinyDB partition, any PostgreSQL query): callers on the event loop run those reads in a worker thread.
    Sources, topics and guild settings are always answered from memory.
    """

    read_only: bool

    # --- life cycle and writes
    async def commit(self, batch: Batch) -> CommitResult: ...
    def commit_sync(self, batch: Batch) -> CommitResult: ...
    async def update_guild(self, guild_id: int, change: GuildChange) -> GuildSettings: ...
    def subscribe(self, callback: Subscriber) -> None: ...
    async def warm_search(self) -> None: ...
    async def close(self) -> None: ...
    def close_sync(self) -> None: ...

    # --- facts
    def facts(self, *, topics: Collection[str] | None = None, kind: Kind | None = None,
              since: datetime | None = None, until: datetime | None = None, category: str | None = None,
              victim: str | None = None, claimant: str | None = None,
              limit: int | None = None) -> list[StoredFact]: ...
    def fact(self, fact_id: str) -> StoredFact | None: ...
    def claims(self, *, topics: Collection[str], since: datetime | None = None) -> list[StoredFact]: ...
    def facts_after(self, seq: int, *, topics: Collection[str] | None = None) -> list[StoredFact]: ...
    def search(self, words_: str, *, topics: Collection[str] | None = None, limit: int = 50) -> list[StoredFact]: ...
    def reads_disk(self, *, topics: Collection[str] | None = None, kind: Kind | None = None,
                   since: datetime | None = None, until: datetime | None = None,
                   limit: int | None = None) -> bool: ...
    def fact_reads_disk(self, fact_id: str) -> bool: ...
    def window_start(self) -> datetime: ...
    @property
    def last_seq(self) -> int: ...

    # --- articles
    def article(self, url: str) -> Article | None: ...
    def article_by_guid(self, guid: str) -> Article | None: ...
    def article_by_hash(self, text_hash: str) -> Article | None: ...
    def recent_articles(self, *, topics: Collection[str] | None = None, limit: int = 50) -> list[Article]: ...
    def story_articles(self, story_id: str) -> list[Article]: ...

    # --- sources, topics, guilds (from memory)
    def sources(self, guild_id: int | None = None) -> list[SourceState]: ...
    def all_sources(self) -> list[SourceState]: ...
    def source(self, source_id: str) -> SourceState | None: ...
    def topics(self, guild_id: int | None = None) -> list[Topic]: ...
    def guild(self, guild_id: int) -> GuildSettings: ...
    def guilds(self) -> list[GuildSettings]: ...
    def stats(self) -> dict[str, int]: ...
