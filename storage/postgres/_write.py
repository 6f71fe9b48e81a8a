"""What a PostgreSQL commit writes, inside the transaction ``PgStore`` holds under the write lock: the
articles and facts of a batch (planned as ``_plan.py`` plans a TinyDB commit), the topics of each fact, the
state tables, a guild's read-and-change, a bulk import, the fence check of a leader-only write, and the NOTIFY
that tells the other processes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from bot.errors import StoreError
from bot.model import Article, GuildSettings, StoredFact
from storage import _codec
from storage.api import Batch, CommitResult, Fence, GuildChange, fact_id
from storage.postgres._rows import FACT_ROW, article_row, fact_row


async def write_fact_topics(conn: asyncpg.Connection, schema: str, fact_rows: Sequence[tuple[Any, ...]]) -> None:
    """Each fact's topics, one row each (``fact_topics``), for rows of ``FACT_ROW``."""
    if fact_rows:
        await conn.copy_records_to_table(
            "fact_topics", records=[(topic, row[3], row[4], row[1], row[0], row[6]) for row in fact_rows
                                    for topic in dict.fromkeys(row[5])],
            columns=["topic", "kind", "t", "seq", "fact_id", "category"], schema_name=schema)


async def check_fence(conn: asyncpg.Connection, fence: Fence) -> None:
    """Refuse a leader-only write from a process deposed since: under the write lock, so no election's
    epoch can change between this check and the commit mattering (a later election sees this commit)."""
    name, epoch = fence
    current = await conn.fetchval("SELECT epoch FROM leader_epoch WHERE name = $1", name)
    if current is not None and current != epoch:
        raise StoreError(f"refused a write of leader epoch {epoch}: another process leads now (epoch "
                         f"{current}); this process is not the leader any more")


async def write_articles(conn: asyncpg.Connection, schema: str, batch: Batch, now: datetime,
                          seq: int) -> tuple[CommitResult, int]:
    """The TinyDB driver's commit semantics (storage/tinydb/_plan.py), in SQL: an article whose text hash is
    unchanged is skipped; an edited one replaces its facts, those with an unchanged id keeping their
    seq; a fact id already held by another article is a collision, and the first one wins."""
    if not batch.articles:
        return CommitResult(), seq
    urls = list({item.article.url for item in batch.articles})
    stored_hash = dict(await conn.fetch("SELECT url, text_hash FROM articles WHERE url = ANY($1)", urls))
    planned: dict[str, Article] = {}
    items = []
    for item in batch.articles:
        article = item.article
        previous = planned[article.url].text_hash if article.url in planned else stored_hash.get(article.url)
        if previous == article.text_hash:
            continue
        planned[article.url] = article
        items.append(item)
    if not items:
        return CommitResult(), seq
    changed_urls = list(planned)
    kept: dict[str, dict[str, tuple[int, bool, datetime]]] = {}
    for row in await conn.fetch("SELECT article_url, id, seq, backlog, stored_at FROM facts "
                                "WHERE article_url = ANY($1)", changed_urls):
        kept.setdefault(row["article_url"], {})[row["id"]] = (row["seq"], row["backlog"], row["stored_at"])
    ids = [fact_id(item.article.url, fact) for item in items for fact in item.facts]
    elsewhere = dict(await conn.fetch("SELECT id, article_url FROM facts WHERE id = ANY($1)", ids))
    new_articles = sum(1 for url in planned if url not in stored_hash)
    article_rows = [article_row(a) for a in planned.values()]
    fact_rows: list[tuple[Any, ...]] = []
    gone: set[str] = set()
    taken: set[str] = set()
    new_facts = 0
    first = seq
    for item in items:
        article = planned[item.article.url]
        if item.article is not article:  # the same URL twice in one batch: the last one is stored
            continue
        keep = kept.get(article.url, {})
        wanted = []
        for fact in item.facts:
            fid = fact_id(article.url, fact)
            if fid in taken or (fid not in keep and fid in elsewhere and elsewhere[fid] != article.url):
                continue
            taken.add(fid)
            wanted.append((fid, fact))
        gone |= set(keep) - {fid for fid, _ in wanted}
        ref = article.ref
        for fid, fact in wanted:
            if fid in keep:
                fact_seq, backlog, stored_at = keep[fid]
            else:
                seq += 1
                fact_seq, backlog, stored_at = seq, item.backlog, now
                new_facts += 1
            stored = StoredFact(id=fid, seq=fact_seq, fact=fact, article=ref, topics=article.topics,
                                stored_at=stored_at, story_id=article.story_id)
            fact_rows.append(fact_row(stored, backlog))
    await conn.executemany(
        "INSERT INTO articles (url, sort_time, guid, text_hash, story_id, topics, doc) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (url) DO UPDATE SET sort_time = EXCLUDED.sort_time, "
        "guid = EXCLUDED.guid, text_hash = EXCLUDED.text_hash, story_id = EXCLUDED.story_id, "
        "topics = EXCLUDED.topics, doc = EXCLUDED.doc", article_rows)
    if gone:
        await conn.execute("DELETE FROM facts WHERE id = ANY($1)", list(gone))
    replaced = [row for row in fact_rows if row[1] <= first]
    added = [row for row in fact_rows if row[1] > first]
    if replaced:
        await conn.executemany(
            f"UPDATE facts SET {', '.join(f'{c} = ${i}' for i, c in enumerate(FACT_ROW, 1) if i > 2)}, "
            "rev = txid_current() WHERE id = $1 AND seq = $2", replaced)
        await conn.execute("DELETE FROM fact_topics WHERE fact_id = ANY($1)", [row[0] for row in replaced])
    if added:
        await conn.copy_records_to_table("facts", records=added, columns=list(FACT_ROW),
                                         schema_name=schema)
    await write_fact_topics(conn, schema, fact_rows)
    return CommitResult(new_articles=new_articles, updated_articles=len(planned) - new_articles,
                        new_facts=new_facts, removed_facts=len(gone)), seq


async def write_state(conn: asyncpg.Connection, batch: Batch, payloads: dict[str, list[Any]]) -> None:
    if payloads["sources"]:
        await conn.executemany("INSERT INTO sources (id, guild_id, doc) VALUES ($1, $2, $3) ON CONFLICT (id) "
                               "DO UPDATE SET guild_id = EXCLUDED.guild_id, doc = EXCLUDED.doc",
                               payloads["sources"])
    if batch.remove_sources:
        await conn.execute("DELETE FROM sources WHERE id = ANY($1)", list(batch.remove_sources))
    if payloads["topics"]:
        await conn.executemany("INSERT INTO topics (key, guild_id, doc) VALUES ($1, $2, $3) ON CONFLICT (key) "
                               "DO UPDATE SET guild_id = EXCLUDED.guild_id, doc = EXCLUDED.doc",
                               payloads["topics"])
    if batch.remove_topics:
        await conn.execute("DELETE FROM topics WHERE key = ANY($1)", list(batch.remove_topics))
    if payloads["guilds"]:
        await conn.executemany("INSERT INTO guilds (guild_id, doc) VALUES ($1, $2) ON CONFLICT (guild_id) "
                               "DO UPDATE SET doc = EXCLUDED.doc", payloads["guilds"])


async def write_rows(conn: asyncpg.Connection, schema: str, article_rows: list[tuple[Any, ...]],
                     fact_rows: list[tuple[Any, ...]], state: Batch, payloads: dict[str, list[Any]]) -> bool:
    """``PgStore.import_rows``'s writes (inside its transaction): every row as it is, by COPY. False, writing
    nothing, if the schema holds anything."""
    if await conn.fetchval("SELECT EXISTS (SELECT FROM facts) OR EXISTS (SELECT FROM articles) OR "
                           "EXISTS (SELECT FROM sources) OR EXISTS (SELECT FROM topics) OR "
                           "EXISTS (SELECT FROM guilds)"):
        return False
    await conn.copy_records_to_table("articles", records=article_rows, schema_name=schema, columns=[
        "url", "sort_time", "guid", "text_hash", "story_id", "topics", "doc"])
    await conn.copy_records_to_table("facts", records=fact_rows, columns=list(FACT_ROW), schema_name=schema)
    await write_fact_topics(conn, schema, fact_rows)
    await write_state(conn, state, payloads)
    return True


async def write_guild(conn: asyncpg.Connection, guild_id: int, change: GuildChange) -> GuildSettings:
    """``change`` applied to the guild's settings as committed now (inside the write transaction)."""
    row = await conn.fetchrow("SELECT doc FROM guilds WHERE guild_id = $1", guild_id)
    current = _codec.decode(GuildSettings, row["doc"]) if row else GuildSettings(guild_id=guild_id)
    updated = change(current)
    await conn.execute("INSERT INTO guilds (guild_id, doc) VALUES ($1, $2) ON CONFLICT (guild_id) DO "
                       "UPDATE SET doc = EXCLUDED.doc", guild_id, _codec.encode(updated))
    return updated


async def bump(conn: asyncpg.Connection, channel: str, last_seq: int | None, *, state: bool) -> tuple[int, int]:
    """Record the new last seq and state version, and NOTIFY the other processes (sent at commit)."""
    row = await conn.fetchrow(
        "UPDATE meta SET last_seq = GREATEST(last_seq, COALESCE($1, 0)), "
        "state_version = state_version + $2 RETURNING last_seq, state_version", last_seq, int(state))
    await conn.execute("SELECT pg_notify($1, $2)", channel,
                       json.dumps({"seq": row["last_seq"], "state": row["state_version"]}))
    return row["last_seq"], row["state_version"]
