"""What goes into the store: one :class:`Batch` per commit. Everything a poll cycle or an admin command
changes travels in one batch and lands atomically: all of it, or (after a crash) none of it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from bot.model import Article, Fact, GuildSettings, SourceState, Topic


def fact_id(article_url: str, fact: Fact) -> str:
    """A short, stable id for a fact: the same fact from the same article always gets the same id.

    10 characters of base-32 (50 bits): at a million facts the chance of any collision is below 1 in 2,000,
    and the store refuses a colliding id rather than overwriting (it keeps the first).
    """
    if fact.kind == "casualty":
        key = f"{fact.category}|{fact.count}|{fact.count_high}|{fact.qualifier}|{fact.victim}|{fact.claimant}"
    elif fact.kind == "territory":
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


@dataclass(frozen=True, slots=True)
class Batch:
    """One atomic write. Every field is optional; an empty batch writes nothing."""

    articles: tuple[ArticleFacts, ...] = ()
    sources: tuple[SourceState, ...] = ()  # upsert by id (fetch state, health)
    remove_sources: tuple[str, ...] = ()  # source ids
    topics: tuple[Topic, ...] = ()  # upsert guild topics by Topic.key
    remove_topics: tuple[str, ...] = ()  # Topic.key values
    guilds: tuple[GuildSettings, ...] = ()  # upsert by guild_id

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
