"""The Store: Sitrep's repository API. (Contract first; the durable implementation fills the bodies.)

Reads are plain methods answered from in-memory indexes: no file I/O, so they are safe to call on the
event loop and always see whole batches. Writes go through :meth:`commit`, which serialises batches,
writes the touched partitions off the event loop (temp file, fsync, ``os.replace``, directory fsync) and
only then applies the batch to the in-memory indexes, in one step.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from pathlib import Path

from bot.model import Article, GuildSettings, Kind, SourceState, StoredFact, Topic
from storage.api import Batch, CommitResult


class Store:
    SCHEMA_VERSION = 1

    # --- life cycle ---------------------------------------------------------------------------------

    @classmethod
    async def open(cls, data_dir: Path) -> Store:
        """Open (creating, or migrating from an older schema) the store in ``data_dir``.

        Raises ``StoreError`` with a clear message, touching nothing, if the store is newer than this code
        or a file is corrupt.
        """
        raise NotImplementedError

    async def close(self) -> None:
        """Wait for the write in flight, then release the store. Idempotent."""
        raise NotImplementedError

    # --- the one write ------------------------------------------------------------------------------

    async def commit(self, batch: Batch) -> CommitResult:
        """Write ``batch`` atomically and durably, then make it visible to readers all at once.

        Raises ``StoreError`` (disk full, read-only, ...) having changed nothing, on disk or in memory.
        Values that cannot be serialised are rejected before anything is written.
        """
        raise NotImplementedError

    # --- facts --------------------------------------------------------------------------------------

    def facts(
        self,
        *,
        topics: Collection[str] | None = None,
        kind: Kind | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        category: str | None = None,
        victim: str | None = None,
        claimant: str | None = None,
        limit: int | None = None,
    ) -> list[StoredFact]:
        """Facts matching every filter given, newest article first.

        ``topics`` are Topic.key values (a fact matches if it has any of them); ``since``/``until`` bound the
        article's publication time (its ``stored_at`` when it has none); ``victim`` and ``claimant`` match
        the canonical names exactly (case-insensitive); ``claimant=""`` asks for unattributed figures.
        """
        raise NotImplementedError

    def fact(self, fact_id: str) -> StoredFact | None:
        """A fact by its id, or by a unique prefix of at least 4 characters."""
        raise NotImplementedError

    def facts_after(self, seq: int, *, topics: Collection[str] | None = None) -> list[StoredFact]:
        """Facts committed after ``seq`` (oldest first), leaving out backlog facts: what a digest covers."""
        raise NotImplementedError

    def search(self, words: str, *, topics: Collection[str] | None = None, limit: int = 50) -> list[StoredFact]:
        """Facts whose quote, summary, actors or article title contain every word (case- and
        accent-insensitive), newest first."""
        raise NotImplementedError

    @property
    def last_seq(self) -> int:
        raise NotImplementedError

    # --- articles -----------------------------------------------------------------------------------

    def article(self, url: str) -> Article | None:
        """By canonical URL."""
        raise NotImplementedError

    def article_by_guid(self, guid: str) -> Article | None:
        raise NotImplementedError

    def article_by_hash(self, text_hash: str) -> Article | None:
        raise NotImplementedError

    def recent_articles(self, *, topics: Collection[str] | None = None, limit: int = 50) -> list[Article]:
        """Newest first, by publication time."""
        raise NotImplementedError

    def story_articles(self, story_id: str) -> list[Article]:
        """Every article linked to one story (the same incident from several outlets)."""
        raise NotImplementedError

    # --- sources, topics, guilds --------------------------------------------------------------------

    def sources(self, guild_id: int | None = None) -> list[SourceState]:
        """The sources a guild sees: config.toml's (``guild_id`` None on the source) and its own.
        ``guild_id=None``: config.toml's only."""
        raise NotImplementedError

    def all_sources(self) -> list[SourceState]:
        """Every source of every guild: what the poll job polls."""
        raise NotImplementedError

    def source(self, source_id: str) -> SourceState | None:
        raise NotImplementedError

    def topics(self, guild_id: int | None = None) -> list[Topic]:
        """Guild topics stored by /config (config.toml's topics are not stored: they live in Config).
        With ``guild_id=None``: every guild's topics (the poll job assigns articles to all of them)."""
        raise NotImplementedError

    def guild(self, guild_id: int) -> GuildSettings:
        """A guild's settings; the defaults if the guild has none stored yet."""
        raise NotImplementedError

    def guilds(self) -> list[GuildSettings]:
        raise NotImplementedError

    def stats(self) -> dict[str, int]:
        """Counts for `ask sources` and logs: facts, articles, sources, guilds, partitions."""
        raise NotImplementedError


__all__: Sequence[str] = ["Store"]
