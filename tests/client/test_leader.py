"""The leader lease on a real PostgreSQL (SITREP_TEST_DATABASE_URL): one leader at a time, a dead leader's
lease passes on within a few retry periods with a higher epoch, and stop() hands it over at once."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from bot.client._leader import Lease, lease_key
from storage import Batch
from tests.client.conftest import ADMIN, open_world, running_bot
from tests.client.test_digests import _new_sudan_claim
from tests.client.test_shards import EVEN_CHANNEL, EVEN_GUILD, ODD_CHANNEL, ODD_GUILD
from tests.conftest import until
from tests.fakediscord import ADMIN_PERMISSIONS, FakeChannel, FakeGuild

DSN = os.environ.get("SITREP_TEST_DATABASE_URL", "")
RETRY = 0.1  # seconds between a follower's attempts and a leader's checks
# Deselected without SITREP_TEST_DATABASE_URL, failing loudly if it is set and unreachable (tests/conftest.py).
needs_database = pytest.mark.usefixtures("pg_dsn")


class Callbacks:
    def __init__(self, fail_election: bool = False) -> None:
        self.calls: list[str] = []
        self.elected = asyncio.Event()
        self.deposed = asyncio.Event()
        self.fail_election = fail_election

    async def on_elected(self) -> None:
        self.calls.append("elected")
        self.elected.set()
        if self.fail_election:
            raise RuntimeError("could not schedule the jobs")

    async def on_deposed(self) -> None:
        self.calls.append("deposed")
        self.deposed.set()


@pytest.fixture
async def admin() -> AsyncIterator[Any]:
    """A plain connection to the test database: it fails the test (not skips it) when the database is down."""
    conn = await asyncpg.connect(DSN, timeout=10)
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
async def name(admin: Any) -> AsyncIterator[str]:
    """A lease name of this test alone (tests may run against a shared database)."""
    lease_name = f"sitrep-leader:test-{uuid.uuid4().hex[:12]}"
    yield lease_name
    await admin.execute("DELETE FROM leader_epoch WHERE name = $1", lease_name)


@contextlib.asynccontextmanager
async def running(name: str, callbacks: Callbacks, retry_s: float = RETRY, dsn: str = DSN) -> AsyncIterator[Lease]:
    lease = Lease(dsn, name, retry_s=retry_s, on_elected=callbacks.on_elected, on_deposed=callbacks.on_deposed)
    await lease.start()
    try:
        yield lease
    finally:
        await lease.stop()


async def holder(admin: Any, name: str) -> int | None:
    """The server process holding the lease's advisory lock, from pg_locks (a bigint key is classid:objid)."""
    key = lease_key(name) & 0xFFFFFFFFFFFFFFFF
    return await admin.fetchval("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = $1 "
                                "AND objid = $2 AND objsubid = 1", key >> 32, key & 0xFFFFFFFF)


@needs_database
async def test_of_two_processes_exactly_one_leads(admin: Any, name: str) -> None:
    first, second = Callbacks(), Callbacks()
    async with running(name, first) as a, running(name, second) as b:
        assert (a.is_leader, b.is_leader) == (True, False)
        assert a.epoch == 1 and b.epoch is None
        assert await holder(admin, name) == a.backend_pid
        assert await a._conn.fetchval("SHOW tcp_keepalives_idle") == "5"  # a dead peer's lock is freed soon
        await asyncio.sleep(5 * RETRY)  # five rounds of attempts and checks change nothing
        assert (a.is_leader, b.is_leader) == (True, False)
        assert first.calls == ["elected"] and second.calls == []


@needs_database
async def test_a_leader_whose_connection_dies_is_replaced_within_a_few_retries(admin: Any, name: str) -> None:
    first, second = Callbacks(), Callbacks()
    async with running(name, first) as a, running(name, second) as b:
        assert a.is_leader and a.epoch is not None
        old_epoch = a.epoch
        started = time.monotonic()
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", a.backend_pid)  # as if a's host vanished
        await asyncio.wait_for(second.elected.wait(), 20 * RETRY)
        await asyncio.wait_for(first.deposed.wait(), 20 * RETRY)
        assert time.monotonic() - started < 20 * RETRY
        assert b.is_leader and not a.is_leader
        assert b.epoch == old_epoch + 1
        assert await admin.fetchval("SELECT epoch FROM leader_epoch WHERE name = $1", name) == b.epoch
        assert await holder(admin, name) == b.backend_pid
        await asyncio.sleep(3 * RETRY)  # a keeps trying, as a follower now
        assert not a.is_leader and first.calls == ["elected", "deposed"]


@needs_database
async def test_stop_releases_the_lease_at_once(admin: Any, name: str) -> None:
    first, second = Callbacks(), Callbacks()
    async with running(name, first) as a, running(name, second, retry_s=60) as b:
        assert a.is_leader
        await a.stop()
        assert first.calls == ["elected", "deposed"] and not a.is_leader
        assert await holder(admin, name) is None  # released before stop() returned, not when b next tries
        assert not b.is_leader


@needs_database
async def test_a_follower_takes_over_from_a_stopped_leader(admin: Any, name: str) -> None:
    first, second = Callbacks(), Callbacks()
    async with running(name, first) as a, running(name, second) as b:
        await a.stop()
        await asyncio.wait_for(second.elected.wait(), 20 * RETRY)
        assert b.is_leader and b.epoch == 2


@needs_database
async def test_a_leader_that_cannot_start_leading_resigns(admin: Any, name: str) -> None:
    failing, other = Callbacks(fail_election=True), Callbacks()
    async with running(name, failing, retry_s=60) as a:
        assert not a.is_leader and failing.calls == ["elected", "deposed"]
        assert await holder(admin, name) is None
        async with running(name, other) as b:
            assert b.is_leader and b.epoch == 2


async def test_an_unreachable_database_is_retried_not_raised() -> None:
    callbacks = Callbacks()
    # Nothing listens on port 1: the connection is refused at once.
    async with running("sitrep-leader:nowhere", callbacks, dsn="postgresql://postgres@127.0.0.1:1/test") as lease:
        assert not lease.is_leader and lease.backend_pid is None
        await asyncio.sleep(2 * RETRY)
        assert not lease.is_leader and callbacks.calls == []


def test_the_key_is_a_stable_signed_bigint() -> None:
    assert lease_key("sitrep-leader:public") == lease_key("sitrep-leader:public")
    assert lease_key("sitrep-leader:public") != lease_key("sitrep-leader:other")
    assert lease_key("sitrep-leader:public") == -8776024391982761239  # pinned: every process, every release
    assert all(-(2 ** 63) <= lease_key(f"n{i}") < 2 ** 63 for i in range(100))


@needs_database
async def test_of_two_bot_processes_only_the_leader_posts_digests_and_the_next_one_catches_up(
        admin: Any, name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    guilds = [FakeGuild(EVEN_GUILD, "Even", [FakeChannel(EVEN_CHANNEL, "news")]),
              FakeGuild(ODD_GUILD, "Odd", [FakeChannel(ODD_CHANNEL, "news")])]
    first_lease, second_lease = Lease(DSN, name, retry_s=RETRY), Lease(DSN, name, retry_s=RETRY)
    async with open_world(tmp_path, monkeypatch, polls=2, guilds=guilds, shard_ids=[0], shard_count=2,
                          lease=first_lease) as world, \
            running_bot(world.fake, world.config, world.store, None, shard_ids=[1], shard_count=2,
                        lease=second_lease) as second:
        first = world.bot
        assert first_lease.is_leader and not second_lease.is_leader
        # Each guild's admin sets a digest channel, through the process holding the guild's shard.
        for guild, channel in ((EVEN_GUILD, EVEN_CHANNEL), (ODD_GUILD, ODD_CHANNEL)):
            reply = await world.fake.slash(guild, ADMIN, "config digest channel", {"channel": channel},
                                           permissions=ADMIN_PERMISSIONS)
            assert "will be posted" in reply.text, reply.text
        assert first.scheduler.get_job(f"digest:{EVEN_GUILD}") is not None  # the leader runs digests
        assert not [j.id for j in second.scheduler.get_jobs()]  # the follower runs nothing, even its own guild's
        # The digest time passed an hour ago, with news since: a missed slot for whoever leads next.
        due = (datetime.now(UTC) - timedelta(hours=1)).strftime("%H:%M")
        await world.store.commit(Batch(guilds=tuple(replace(world.store.guild(g), digest_time=due, timezone="UTC")
                                                    for g in (EVEN_GUILD, ODD_GUILD))))
        await _new_sudan_claim(world)

        assert await admin.fetchval("SELECT pg_terminate_backend($1)", first_lease.backend_pid)
        await world.fake.wait_for(lambda: len(world.fake.messages_in(EVEN_CHANNEL)) == 1
                                  and len(world.fake.messages_in(ODD_CHANNEL)) == 1, timeout=20 * RETRY + 5)
        assert second_lease.is_leader
        await until(lambda: not first_lease.is_leader, 20 * RETRY, every=RETRY / 10)  # it notices at its next check
        assert {j.id for j in second.scheduler.get_jobs()} == {f"digest:{EVEN_GUILD}", f"digest:{ODD_GUILD}"}
        assert not [j.id for j in first.scheduler.get_jobs()]
        assert await second.digests.catch_up() == 0  # both slots recorded: posted once, by one process
        assert (len(world.fake.messages_in(EVEN_CHANNEL)), len(world.fake.messages_in(ODD_CHANNEL))) == (1, 1)
