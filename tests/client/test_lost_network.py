"""The leader lease when the leader's host stops answering without closing its connections.

The leader reaches PostgreSQL through a loopback TCP proxy of the test's own (``Freezable``) that, frozen,
forwards nothing in either direction and closes nothing: the leader's lease check and its store's queries go
unanswered, and the server sees an idle, open connection that keeps the lease's lock. The follower must take
over within 30 s, and the old leader, once the proxy forwards again, must find itself fenced: its poll cycle's
commit is refused and nothing of it is stored.

(On a real network the server's TCP keepalives also free the lock, in about 11 s; a proxy's kernel answers
them, so this is the case they cannot catch, which the follower's look at a silent holder must.)
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from bot.client._leader import Lease
from bot.errors import StoreError
from bot.model import Article, Casualty, GuildSettings
from storage import ArticleFacts, Batch
from storage.postgres import PgStore
from tests.conftest import StoreSpec, until

DSN = os.environ.get("SITREP_TEST_DATABASE_URL", "")


@dataclass
class Freezable:
    """A loopback TCP proxy to ``upstream``: ``freeze()`` stops forwarding (bytes wait in the sockets, nothing
    is closed, new connections are accepted and left waiting); ``thaw()`` forwards again."""

    upstream: tuple[str, int]
    flowing: asyncio.Event = field(default_factory=asyncio.Event)
    port: int = 0
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _writers: list[asyncio.StreamWriter] = field(default_factory=list)

    async def start(self) -> None:
        self.flowing.set()
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def freeze(self) -> None:
        self.flowing.clear()

    def frozen(self) -> bool:
        return not self.flowing.is_set()

    def thaw(self) -> None:
        self.flowing.set()

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for writer in self._writers:
            writer.close()
        await self._server.wait_closed()

    def dsn(self, dsn: str) -> str:
        parts = urlsplit(dsn)
        netloc = parts.netloc.rsplit("@", 1)
        host = f"127.0.0.1:{self.port}"
        return urlunsplit(parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host))

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        await self.flowing.wait()
        server_reader, server_writer = await asyncio.open_connection(*self.upstream)
        self._writers += [client_writer, server_writer]
        for reader, writer in ((client_reader, server_writer), (server_reader, client_writer)):
            task = asyncio.create_task(self._pump(reader, writer))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while True:
                await self.flowing.wait()
                data = await reader.read(65536)
                await self.flowing.wait()  # read just before a freeze: held too
                if not data:
                    break
                writer.write(data)
                await writer.drain()
        await self.flowing.wait()
        writer.close()


@dataclass
class Watch:
    elected: asyncio.Event = field(default_factory=asyncio.Event)
    deposed: asyncio.Event = field(default_factory=asyncio.Event)

    async def on_elected(self) -> None:
        self.elected.set()

    async def on_deposed(self) -> None:
        self.deposed.set()


@contextlib.asynccontextmanager
async def proxy_to(dsn: str) -> AsyncIterator[Freezable]:
    parts = urlsplit(dsn)
    proxy = Freezable((parts.hostname or "127.0.0.1", parts.port or 5432))
    await proxy.start()
    try:
        yield proxy
    finally:
        proxy.thaw()
        await proxy.stop()


GUILD = 42


def freeze_inside(proxy: Freezable) -> Callable[[GuildSettings], GuildSettings]:
    """A guild settings change that freezes the proxy while it runs: inside the store's write transaction (it
    runs in the store's own thread), after the write lock was taken and before the write is sent."""
    loop = asyncio.get_running_loop()

    def change(settings: GuildSettings) -> GuildSettings:
        done = threading.Event()

        def freeze() -> None:
            proxy.freeze()
            done.set()

        loop.call_soon_threadsafe(freeze)
        assert done.wait(10)
        return replace(settings, digest_time="23:59")
    return change


def cycle_batch(fence: tuple[str, int] | None) -> Batch:
    """What the old leader's poll cycle, cut off mid-way, tries to commit once it reaches the database again."""
    article = Article(url=f"https://example.org/cut-off-{uuid.uuid4().hex[:8]}", outlet="Wire",
                      title="Shelling kills 14 in El Fasher", published=datetime(2026, 11, 24, tzinfo=UTC),
                      source_id="x", text_hash=uuid.uuid4().hex, topics=("sudan",))
    claim = Casualty(category="killed", count=14, qualifier="exact", quote="Shelling killed 14 people.",
                     victim_text="people")
    return Batch(articles=(ArticleFacts(article, (claim,)),), fence=fence)


# The production timings (bot/client/_leader.py's defaults: the follower takes over within 30 s), and the same
# scaled down for a quick run.
# With the defaults, the network goes in the middle of the old leader's write: its session holds the store's
# write lock, idle inside its transaction, until the server ends it (idle_in_transaction_session_timeout, 20 s).
TIMINGS = [pytest.param(0.2, 0.5, 2.0, 6.0, False, id="scaled"),
           pytest.param(5.0, 5.0, 20.0, 30.0, True, id="defaults-mid-write", marks=pytest.mark.slow)]


@pytest.mark.parametrize("driver", ["postgres"])
@pytest.mark.parametrize(("retry_s", "timeout_s", "stale_s", "takeover_s", "mid_write"), TIMINGS)
async def test_a_leader_cut_off_without_a_closed_connection_is_replaced_and_then_fenced(
        store_spec: StoreSpec, retry_s: float, timeout_s: float, stale_s: float, takeover_s: float,
        mid_write: bool) -> None:
    name = f"sitrep-leader:{store_spec.schema}"
    timings = {"retry_s": retry_s, "timeout_s": timeout_s, "stale_s": stale_s, "schema": store_spec.schema}
    reader = await store_spec.open()  # the follower's store: sees what is committed
    async with proxy_to(store_spec.dsn or DSN) as proxy:
        # The old leader's store, through the proxy (only its async calls: the proxy runs on this event loop).
        old_store = await PgStore.open(proxy.dsn(store_spec.dsn or DSN), schema=store_spec.schema or "")
        old_watch, new_watch = Watch(), Watch()
        old = Lease(proxy.dsn(store_spec.dsn or DSN), name, on_elected=old_watch.on_elected,
                    on_deposed=old_watch.on_deposed, **timings)  # type: ignore[arg-type]
        new = Lease(store_spec.dsn or DSN, name, on_elected=new_watch.on_elected, on_deposed=new_watch.on_deposed,
                    **timings)  # type: ignore[arg-type]
        try:
            await old.start()
            await new.start()
            assert old.is_leader and not new.is_leader and old.epoch == 1
            old_fence = old.fence()

            writing: asyncio.Task[Any] | None = None
            if mid_write:  # frozen from inside the old leader's transaction, after it took the write lock
                writing = asyncio.create_task(old_store.update_guild(GUILD, freeze_inside(proxy)))
                await until(proxy.frozen, timeout_s)
            else:
                proxy.freeze()  # the old leader's host stops answering; nothing is closed
            cut_at = time.monotonic()
            await asyncio.wait_for(new_watch.elected.wait(), takeover_s)
            took = time.monotonic() - cut_at
            print(f"\nfollower leads {took:.1f}s after the network was lost (retry {retry_s}s, stale {stale_s}s)")
            assert new.is_leader and new.epoch == 2
            assert old_watch.deposed.is_set() and not old.is_leader  # its own check failed first
            # The new leader writes (it waits for the store's write lock if the old one held it).
            committed = await asyncio.wait_for(reader.commit(cycle_batch(new.fence())), takeover_s)
            assert committed.new_articles == 1
            print(f"its first commit done {time.monotonic() - cut_at:.1f}s after the network was lost")

            proxy.thaw()  # the old leader reaches the database again: its cut-off cycle commits nothing
            with pytest.raises(StoreError, match="another process leads now"):
                await old_store.commit(cycle_batch(old_fence))
            assert reader.stats()["articles"] == 1  # the new leader's alone
            if writing is not None:  # the write cut off in the middle was rolled back
                with pytest.raises(StoreError):
                    await writing
                assert reader.guild(GUILD).digest_time != "23:59"
            # It tries for the lease again, as a follower, and stays one: the new leader is checking.
            await until(lambda: old.backend_pid is not None, 10 * retry_s + timeout_s)
            assert new.is_leader and not old.is_leader
        finally:
            proxy.thaw()
            await new.stop()
            await old.stop()
            await old_store.close()
