"""What only the PostgreSQL driver has to promise: several processes on one store (each with a PgStore of its
own), settings that travel between them, a deposed leader's writes refused, errors that name the server and
never the password. The repository API itself is tested on both drivers (test_queries.py and the command
tests)."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import asyncpg
import pytest

from bot.errors import StoreError
from bot.model import GuildSettings
from storage.api import Batch
from storage.postgres.store import PgStore
from tests.conftest import StoreSpec, until
from tests.storage._helpers import casualty, facts_batch

postgres_only = pytest.mark.parametrize("driver", ["postgres"])  # store_spec gives a PgStore


@postgres_only
async def test_settings_changed_by_one_process_reach_the_others(store_spec: StoreSpec) -> None:
    first, second = await store_spec.open(), await store_spec.open()
    told: list[frozenset[int]] = []
    second.subscribe(told.append)
    await first.commit(Batch(guilds=(GuildSettings(guild_id=7, digest_channel_id=70, digest_enabled=True),)))
    assert first.guild(7).digest_channel_id == 70  # its own write: at once
    await until(lambda: second.guild(7).digest_channel_id == 70)
    await until(lambda: frozenset({7}) in told)
    updated = await second.update_guild(7, lambda s: replace(s, digest_time="06:30"))
    assert updated.digest_channel_id == 70 and updated.digest_time == "06:30"  # read inside the transaction
    await until(lambda: first.guild(7).digest_time == "06:30")


@postgres_only
async def test_concurrent_read_modify_writes_of_one_guild_lose_nothing(store_spec: StoreSpec) -> None:
    stores = [await store_spec.open() for _ in range(3)]

    async def add(store: PgStore, n: int) -> None:  # type: ignore[type-arg]
        await store.update_guild(9, lambda s: replace(s, notices=(*s.notices, f"n{n}")))

    await asyncio.gather(*(add(stores[i % 3], i) for i in range(30)))  # type: ignore[arg-type]
    final = await store_spec.open()
    assert sorted(final.guild(9).notices) == sorted(f"n{i}" for i in range(30))


@postgres_only
async def test_a_process_sees_its_own_concurrent_changes_at_once(store_spec: StoreSpec) -> None:
    """Its commits may end out of order: memory must not end on an older record of the guild (no waiting for
    a NOTIFY)."""
    store = await store_spec.open()
    for round_ in range(10):
        notes = [f"r{round_}n{n}" for n in range(3)]
        await asyncio.gather(*(store.update_guild(9, lambda s, note=note: replace(s, notices=(*s.notices, note)))
                               for note in notes))
        assert set(notes) <= set(store.guild(9).notices), round_


@postgres_only
async def test_seq_follows_commit_order_across_processes(store_spec: StoreSpec) -> None:
    """A digest that delivered up to seq N must never miss a fact committed later: seqs are handed out under
    the cluster-wide write lock, so a later commit always has larger seqs."""
    stores = [await store_spec.open() for _ in range(3)]
    seen: list[int] = []

    async def writer(store: PgStore, k: int) -> None:  # type: ignore[type-arg]
        for i in range(8):
            result = await store.commit(facts_batch(f"https://p{k}.test/{i}", [casualty(100 * k + i)]))
            seen.append(result.last_seq)

    await asyncio.gather(*(writer(s, k) for k, s in enumerate(stores)))  # type: ignore[arg-type]
    reader = await store_spec.open()
    after = await asyncio.to_thread(reader.facts_after, 0)
    assert [f.seq for f in after] == list(range(1, 25))
    assert sorted(seen) == list(range(1, 25))


@postgres_only
async def test_a_deposed_leaders_poll_commit_is_refused(store_spec: StoreSpec, pg_dsn: str) -> None:
    store = await store_spec.open()
    conn = await asyncpg.connect(pg_dsn, server_settings={"search_path": store_spec.schema or ""})
    try:
        await conn.execute("INSERT INTO leader_epoch (name, epoch) VALUES ('lead', 2)")  # elected twice so far
        await store.commit(Batch(articles=facts_batch("https://now.test/1", [casualty(3)]).articles,
                                 fence=("lead", 2)))
        with pytest.raises(StoreError, match="not the leader any more"):
            await store.commit(Batch(articles=facts_batch("https://late.test/1", [casualty(4)]).articles,
                                     fence=("lead", 1)))
    finally:
        await conn.close()
    urls = {f.article.url for f in await asyncio.to_thread(store.facts)}
    assert urls == {"https://now.test/1"}  # the refused batch left nothing


@postgres_only
async def test_a_lost_listening_connection_is_restored_and_nothing_is_missed(store_spec: StoreSpec,
                                                                            pg_dsn: str) -> None:
    first, second = await store_spec.open(), await store_spec.open()
    conn = await asyncpg.connect(pg_dsn)
    try:
        killed = await conn.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'sitrep-listen' "
            "AND query LIKE $1", f'LISTEN "sitrep_{store_spec.schema}"%')
        assert killed == 2  # both stores' listeners
        # A change made while nobody listens: the notification is lost, the reload on reconnection finds it.
        await first.commit(Batch(guilds=(GuildSettings(guild_id=5, timezone="Asia/Karachi"),)))
        await until(lambda: second.guild(5).timezone == "Asia/Karachi")
    finally:
        await conn.close()


async def test_an_unreachable_server_is_a_clear_error_without_the_password() -> None:
    with pytest.raises(StoreError) as caught:
        await PgStore.open("postgresql://sitrep:s3cret-pw@127.0.0.1:1/sitrep", schema="x")
    message = str(caught.value)
    assert "127.0.0.1:1/sitrep" in message and "s3cret-pw" not in message and "sitrep:" not in message


@postgres_only
async def test_a_schema_newer_than_the_code_is_refused_untouched(store_spec: StoreSpec, pg_dsn: str) -> None:
    store = await store_spec.open()
    await store.close()
    conn = await asyncpg.connect(pg_dsn, server_settings={"search_path": store_spec.schema or ""})
    try:
        await conn.execute("INSERT INTO schema_migrations (version, name) VALUES (999, '0999_future.sql')")
        with pytest.raises(StoreError, match="newer than this code"):
            await store_spec.open()
        assert await conn.fetchval("SELECT count(*) FROM schema_migrations") == 2
    finally:
        await conn.close()


@postgres_only
async def test_a_read_only_store_refuses_writes(store_spec: StoreSpec) -> None:
    await (await store_spec.open()).commit(facts_batch("https://r.test/1", [casualty(1)]))
    reader = await store_spec.open(read_only=True)
    assert len(await asyncio.to_thread(reader.facts)) == 1
    with pytest.raises(StoreError, match="read-only"):
        await reader.commit(facts_batch("https://r.test/2", [casualty(2)]))
