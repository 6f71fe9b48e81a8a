"""Sources, topics and guild settings: few, and read by every command and job, so both drivers keep them in
memory and answer these reads from there. One definition of the reads and of how a batch changes them."""

from __future__ import annotations

from bot.model import GuildSettings, SourceState, Topic
from storage.api import Batch

State = tuple[dict[str, SourceState], dict[str, Topic], dict[int, GuildSettings]]


def merged(sources: dict[str, SourceState], topics: dict[str, Topic], guilds: dict[int, GuildSettings],
           batch: Batch) -> State:
    """New dicts with the batch's upserts and removals applied (the given ones are left as they are: readers in
    other threads may hold them)."""
    sources = {**sources, **{s.id: s for s in batch.sources}}
    for sid in batch.remove_sources:
        sources.pop(sid, None)
    topics = {**topics, **{t.key: t for t in batch.topics}}
    for key in batch.remove_topics:
        topics.pop(key, None)
    return sources, topics, {**guilds, **{g.guild_id: g for g in batch.guilds}}


class StateReads:
    """The reads of the state, for a driver that keeps it in ``_sources``, ``_topics`` and ``_guilds``."""

    _sources: dict[str, SourceState]
    _topics: dict[str, Topic]
    _guilds: dict[int, GuildSettings]

    def sources(self, guild_id: int | None = None) -> list[SourceState]:
        """The sources a guild sees: config.toml's (``guild_id`` None on the source) and its own.
        ``guild_id=None``: config.toml's only."""
        return [s for s in self._sources.values() if s.guild_id is None or s.guild_id == guild_id]

    def all_sources(self) -> list[SourceState]:
        """Every source of every guild: what the poll job polls."""
        return list(self._sources.values())

    def source(self, source_id: str) -> SourceState | None:
        return self._sources.get(source_id)

    def topics(self, guild_id: int | None = None) -> list[Topic]:
        """Guild topics stored by /config (config.toml's topics are not stored: they live in Config).
        With ``guild_id=None``: every guild's topics (the poll job assigns articles to all of them)."""
        return [t for t in self._topics.values() if guild_id is None or t.guild_id == guild_id]

    def guild(self, guild_id: int) -> GuildSettings:
        """A guild's settings; the defaults if the guild has none stored yet."""
        return self._guilds.get(guild_id) or GuildSettings(guild_id=guild_id)

    def guilds(self) -> list[GuildSettings]:
        return list(self._guilds.values())
