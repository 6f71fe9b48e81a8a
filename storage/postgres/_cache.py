"""The PostgreSQL driver's decoded facts, kept per process by id and row version (see storage/DESIGN.md,
"Reads"): a fact query fetches ids and versions, then only the rows not decoded at that version."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import asyncpg

from bot.model import StoredFact
from storage.postgres._rows import stored

CACHE_FACTS = 50_000  # decoded facts kept per process at least (~1.5 KB each); the database holds the rest
FETCH_ROWS = 5_000  # rows decoded per round trip
FACT_COLUMNS = "id, seq, topics, stored_at, story_id, article, fact"


class FactCache:
    def __init__(self) -> None:
        # "id:rev" → the fact decoded at that version, first in first out. An edited fact gets a new key; its
        # old one is never asked again and leaves in turn.
        self.decoded: dict[str, StoredFact] = {}
        self.capacity = CACHE_FACTS  # grows to hold the recent window (warm_search)

    async def fetch(self, pool: asyncpg.Pool, sql: str, args: Sequence[Any], order: str, limit: int | None,
                    unique: bool = True, rows_per_fact: int = 1) -> list[StoredFact]:
        """The facts ``sql`` selects (``id, rev, t, seq`` of each), in ``order``, at most ``limit`` (of which
        ``sql`` may give ``rows_per_fact`` rows per fact), in one snapshot: first the ids and row
        versions, then only the rows this process has not decoded at that version. Moving and decoding rows
        was most of an answer's time (~20 µs a fact; a 30-day topic at a million facts is 13,000); the cache
        keeps decoded facts as immutable objects shared by every answer, by id and version. Without
        ``unique``, ids may repeat (a fact in two asked topics): the first counts.

        The cache is first in, first out: the recent window is decoded oldest first (``warm_search``) and new
        facts come after, so what leaves first is the oldest fact, the one least likely to be asked again; a
        least-recently-used order cost a dict move per fact of every answer (a third of a big answer's time).
        Errors of asyncpg and the server are the caller's to report (it names the server).
        """
        cache = self.decoded
        # One row, one array of "id:rev" keys: asyncpg builds one list in C (not a Record per fact), and the
        # database sorts once.
        top = f" ORDER BY {order} LIMIT {int(limit) * rows_per_fact}" if limit is not None else ""
        sql = f"SELECT array_agg(id || ':' || rev ORDER BY {order}) FROM ({sql}{top}) AS selected(id, rev, t, seq)"
        async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            keys: list[str] = await conn.fetchval(sql, *args) or []
            if not unique:  # a fact in two of the topics: the same key twice (one version per snapshot)
                keys = list(dict.fromkeys(keys))
            hits = list(map(cache.get, keys))
            missing = [key.partition(":")[0] for key, hit in zip(keys, hits, strict=True) if hit is None]
            for start in range(0, len(missing), FETCH_ROWS):  # a few thousand rows in memory at a time
                for row in await conn.fetch(f"SELECT rev, {FACT_COLUMNS} FROM facts WHERE id = ANY($1)",
                                            missing[start:start + FETCH_ROWS]):
                    cache[f"{row['id']}:{row['rev']}"] = stored(row)
            if missing:
                hits = list(map(cache.get, keys))
        found = [hit for hit in hits if hit is not None]
        if len(cache) > self.capacity:
            for key in list(itertools.islice(cache, len(cache) - self.capacity)):
                del cache[key]
        return found if limit is None else found[:limit]
