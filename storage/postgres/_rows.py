"""The PostgreSQL driver's rows ⇄ the model: the columns a fact row has, the jsonb codec, and the WHERE
clauses queries are built from. Values are encoded as the TinyDB driver encodes them (``_codec``), so both
drivers read back identical objects."""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

import asyncpg

from bot.model import Article, ArticleRef, GuildSettings, SourceState, StoredFact, Topic
from storage import _codec
from storage._state import State
from storage._words import fact_words
from storage.api import Batch

_MIN_TIME = datetime.min.replace(tzinfo=UTC)

FACT_ROW = ("id", "seq", "article_url", "kind", "t", "topics", "category", "victim", "claimant", "backlog",
             "words", "stored_at", "story_id", "article", "fact")


async def init_connection(conn: asyncpg.Connection) -> None:
    # jsonb as Python values, in binary format (a version byte, then the JSON text): COPY needs binary codecs.
    await conn.set_type_codec("jsonb", encoder=_jsonb, decoder=_from_jsonb, schema="pg_catalog", format="binary")


def _jsonb(value: Any) -> bytes:
    return b"\x01" + json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _from_jsonb(data: bytes) -> Any:
    return json.loads(data[1:])


def reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def aware(when: datetime | None) -> datetime | None:
    if when is None:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def topic_list(topics: Collection[str] | None) -> list[str] | None:
    return None if topics is None else list(topics)


class Where:
    """A WHERE clause built from the filters given: ``{}`` in a condition is its parameter."""

    def __init__(self, args: list[Any] | None = None) -> None:
        self.parts: list[str] = []
        self.args: list[Any] = [] if args is None else args  # shared with an enclosing clause: one numbering

    def add(self, condition: str, value: Any = True) -> None:
        if value is None:
            return
        if "{}" in condition:
            self.args.append(value)
            condition = condition.format(f"${len(self.args)}")
        self.parts.append(condition)

    @property
    def sql(self) -> str:
        return " AND ".join(self.parts)


def article_row(article: Article) -> tuple[Any, ...]:
    return (article.url, article.published or article.fetched_at or _MIN_TIME, article.guid, article.text_hash,
            article.story_id, list(article.topics), _codec.encode(article))


def fact_row(stored: StoredFact, backlog: bool) -> tuple[Any, ...]:
    fact = stored.fact
    casualty = fact.kind == "casualty"
    return (stored.id, stored.seq, stored.article.url, fact.kind, stored.article.published or stored.stored_at,
            list(stored.topics), fact.category if casualty else None,  # type: ignore[union-attr]
            (fact.victim or "").casefold() if casualty else None,  # type: ignore[union-attr]
            (fact.claimant or "").casefold() if casualty else None,  # type: ignore[union-attr]
            backlog, sorted(fact_words(stored)), stored.stored_at, stored.story_id,
            _codec.encode(stored.article), _codec.encode_fact(fact))


def stored(row: asyncpg.Record) -> StoredFact:
    return StoredFact(id=row["id"], seq=row["seq"], fact=_codec.decode_fact(row["fact"]),
                      article=_codec.decode(ArticleRef, row["article"]), topics=tuple(row["topics"]),
                      stored_at=row["stored_at"], story_id=row["story_id"])


def encode_state(batch: Batch) -> dict[str, list[Any]]:
    return {"sources": [(s.id, s.guild_id, _codec.encode(s)) for s in batch.sources],
            "topics": [(t.key, t.guild_id, _codec.encode(t)) for t in batch.topics],
            "guilds": [(g.guild_id, _codec.encode(g)) for g in batch.guilds]}


async def read_state(conn: asyncpg.Connection) -> tuple[int, int, tuple[list[Any], list[Any], list[Any]]]:
    """``meta``'s last seq and state version, and the rows of sources, topics and guilds, in one snapshot."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        meta = await conn.fetchrow("SELECT last_seq, state_version FROM meta")
        sources = await conn.fetch("SELECT doc FROM sources ORDER BY id")
        topics = await conn.fetch("SELECT doc FROM topics ORDER BY key")
        guilds = await conn.fetch("SELECT doc FROM guilds ORDER BY guild_id")
    return meta["last_seq"], meta["state_version"], (sources, topics, guilds)


def decode_state(sources: list[Any], topics: list[Any], guilds: list[Any]) -> State:
    return ({s.id: s for s in (_codec.decode(SourceState, r["doc"]) for r in sources)},
            {t.key: t for t in (_codec.decode(Topic, r["doc"]) for r in topics)},
            {g.guild_id: g for g in (_codec.decode(GuildSettings, r["doc"]) for r in guilds)})


# A process cut off by a lost network inside a write transaction holds the write lock until the server ends its
# session. Keepalives (5 s idle, 2 s apart, 3 probes) let the server notice a dead peer in about 11 s instead of
# the system's two hours, and a session idle inside a transaction for 20 s is ended (the case keepalives miss:
# a proxy's kernel answers them). A commit never pauses that long between its statements.
SESSION_SETTINGS = {"tcp_keepalives_idle": "5", "tcp_keepalives_interval": "2", "tcp_keepalives_count": "3",
                    "idle_in_transaction_session_timeout": "20s"}


def server_settings(schema: str, application_name: str) -> dict[str, str]:
    """What every session of the store sets on the server: its schema, its name, and the settings above."""
    return {"search_path": schema, "application_name": application_name, **SESSION_SETTINGS}
