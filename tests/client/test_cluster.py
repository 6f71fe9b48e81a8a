"""Two real `python -m bot run` processes on one PostgreSQL store and one fake Discord: the leader is SIGKILLed
in the middle of a poll cycle, the other process takes over, and nothing is lost or done twice.

Needs SITREP_TEST_DATABASE_URL (the ``pg_dsn`` fixture deselects the test without it); the store lives in a
schema of this test's own (``pg_schema``). Each process is started as ``python -c BOOTSTRAP``: the bootstrap
points discord.py at the fake Discord (as tests/client/conftest.py does in-process) and calls ``bot.cli.main``.

The takeover window is made to hold a digest slot. Digest times have a minute's precision, so the test picks
the first whole minute ``slot`` far enough ahead for both processes to start, and kills the leader just before
it, right after one of the follower's lease attempts: the follower tries every 5 s, so its next attempt, the
takeover, comes after ``slot``, and the digest that fell due while nobody led is the new leader's catch-up to
post. (If the follower's attempts fall in the last KILL_MARGIN before the slot, about one run in 25, it takes
over just before the slot and its cron job posts the digest instead: once, all the same.) Waiting for that
minute is most of the test's time: from about 10 s to about 70 s, depending on the second it starts in.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
import tomllib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp import web

from bot.client._digests import digest_nonce, part_nonce
from bot.client._leader import lease_key
from bot.config import load_config
from bot.demo import ARTICLES, demo_now
from bot.extract import Extractor, InlineExtraction
from bot.model import GuildSettings
from bot.sources import Fetcher, Poller, make_session
from bot.sources._urls import canonical_url
from storage import Batch
from storage.postgres.store import PgStore
from tests.client.conftest import ROOT, Outlets
from tests.client.test_shards import EVEN_CHANNEL, EVEN_GUILD, ODD_CHANNEL, ODD_GUILD
from tests.fakediscord import FakeChannel, FakeDiscord, FakeGuild
from tests.fakediscord.server import shard_of

# Runs in each subprocess: discord.py talks to the fake Discord, then the real command line runs.
BOOTSTRAP = """
import os, sys
import discord, yarl
from discord.gateway import DiscordWebSocket
discord.http.Route.BASE = os.environ["SITREP_FAKE_API"]
DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(os.environ["SITREP_FAKE_GATEWAY"])
from bot.cli import main
sys.exit(main(sys.argv[1:]))
"""
SLOT_AHEAD_S = 40  # the digest slot: the first whole minute at least this long after the test starts (each
# process loads and checks the English pipeline in its extraction worker before connecting: ~10 s under load)
SETUP_S = 40  # at most, for each step of the start: the leader polling, both processes connected
LEASE_RETRY_S = 5.0  # bot/client/_leader.py's default, the one `run` uses
KILL_MARGIN = timedelta(seconds=0.2)  # the leader dies at least this long before the slot
TAKEOVER_S = 30  # from the kill: the follower leads, has polled and has posted the digests
GUILDS = {EVEN_GUILD: EVEN_CHANNEL, ODD_GUILD: ODD_CHANNEL}
# Published after the backlog was stored: what the killed leader's cycle was fetching (facts in both topics).
NEW_ARTICLES = {
    "kurram-toll-27": ("Pakistan raises military death toll from weekend border clashes to 27",
                       "Pakistan's military said on Tuesday that 27 of its soldiers had been killed in Saturday's "
                       "fighting in Kurram, up from 23."),
    "el-fasher-shelling": ("Shelling kills 14 in El Fasher, RSF says",
                           "The Rapid Support Forces said on Wednesday that army shelling had killed 14 civilians in "
                           "El Fasher."),
}


class GatedOutlets(Outlets):
    """The sample outlets, whose feeds can be held: while held, every feed request waits (and is counted)
    until released. Article pages are never held."""

    def __init__(self, now: datetime) -> None:
        super().__init__(now)
        self.open = asyncio.Event()
        self.open.set()
        self.waiting = 0
        self.feed_requests = 0

    def hold(self) -> None:
        self.open.clear()

    def release(self) -> None:
        self.open.set()

    async def _gate(self) -> None:
        self.feed_requests += 1
        if not self.open.is_set():
            self.waiting += 1
            try:
                await self.open.wait()
            finally:
                self.waiting -= 1

    async def _rss(self, request: web.Request) -> web.Response:
        await self._gate()
        return await super()._rss(request)

    async def _atom(self, request: web.Request) -> web.Response:
        await self._gate()
        return await super()._atom(request)


@dataclass
class Process:
    """One `python -m bot run` of the cluster, its output (stderr and stdout) in a file."""

    name: str
    proc: asyncio.subprocess.Process
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""


def write_config(path: Path, base_url: str, schema: str, data_dir: Path) -> Path:
    """config.toml's topics, actors and places; the sample outlets as sources; the PostgreSQL driver."""
    raw: dict[str, Any] = tomllib.loads((ROOT / "config.toml").read_text(encoding="utf-8"))
    raw["bot"] = {"data_dir": str(data_dir), "timezone": "UTC", "poll_interval": "15m"}  # the first tick is at once
    # A held feed request must not time out before the kill: the cycle is to die in flight, not fail.
    raw["fetch"] = {**raw.get("fetch", {}), "allow_private": ["127.0.0.1"], "timeout": "300s"}
    raw["storage"] = {"driver": "postgres", "schema": schema}
    raw["sources"] = [{"id": "frontier-wire", "name": "Frontier Wire", "url": f"{base_url}/frontier.xml",
                       "full_text": True},
                      {"id": "border-monitor", "name": "Border Monitor", "url": f"{base_url}/monitor.atom"}]
    lines: list[str] = []
    for table, body in raw.items():  # JSON strings, numbers, booleans and arrays of them are TOML too
        for entry in body if isinstance(body, list) else [body]:
            lines.append(f"[[{table}]]" if isinstance(body, list) else f"[{table}]")
            lines += [f"{json.dumps(key)} = {json.dumps(value)}" for key, value in entry.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def spawn(name: str, tmp_path: Path, config: Path, shard: int, env: dict[str, str]) -> Process:
    log = tmp_path / f"{name}.stderr"
    with log.open("wb") as stderr:  # the child keeps its own descriptor
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", BOOTSTRAP, "--config", str(config), "--data-dir", str(tmp_path / name),
            "run", "--shard-ids", str(shard), "--shard-count", "2",
            cwd=ROOT, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=stderr, stderr=stderr)
    return Process(name, proc, log)


async def stop(process: Process) -> None:
    """SIGTERM (a clean stop), SIGKILL if it is still running after 10 s; always waited for."""
    if process.proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.proc.wait(), 10)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.proc.kill()
            await process.proc.wait()


def tcp_ports(pid: int) -> set[int]:
    """The local ports of a process's TCP sockets (Linux /proc): how its PostgreSQL backends are told apart
    from those of other processes, which may share the server."""
    inodes = set()
    with contextlib.suppress(OSError):  # an exited process has none
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[len("socket:["):-1])
    ports = set()
    for table in (f"/proc/{pid}/net/tcp", f"/proc/{pid}/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[9] in inodes:
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


@dataclass(frozen=True)
class LeaseConnection:
    """A lease's connection as pg_stat_activity shows it: its server process, when its latest statement
    started (a follower's latest attempt; a leader's latest check) and whether that statement is over."""

    pid: int
    last_statement: datetime
    idle: bool


class Database:
    """What the test reads from the server: the lease's holder, each process's lease connection, the store's
    tables (read straight from the schema, not through a store's cache)."""

    def __init__(self, conn: Any, schema: str) -> None:
        self.conn = conn
        self.schema = schema
        self.lease_name = f"sitrep-leader:{schema}"  # bot/client/command.py's _lease
        key = lease_key(self.lease_name) & 0xFFFFFFFFFFFFFFFF
        self.classid, self.objid = key >> 32, key & 0xFFFFFFFF

    async def holder(self) -> int | None:
        """The server process holding the lease's advisory lock (a bigint key is classid:objid in pg_locks)."""
        return await self.conn.fetchval(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = $1 AND objid = $2 "
            "AND objsubid = 1", self.classid, self.objid)

    async def lease_connection(self, process: Process) -> LeaseConnection | None:
        """A process's lease connection: application_name sitrep-leader, from one of the process's ports."""
        ports = sorted(tcp_ports(process.pid))
        row = await self.conn.fetchrow(
            "SELECT pid, query_start, state FROM pg_stat_activity WHERE application_name = 'sitrep-leader' "
            "AND client_port = ANY($1::int[]) AND query_start IS NOT NULL", ports)
        return None if row is None else LeaseConnection(int(row["pid"]), row["query_start"], row["state"] == "idle")

    async def epoch(self) -> int | None:
        return await self.conn.fetchval(
            f'SELECT epoch FROM "{self.schema}".leader_epoch WHERE name = $1', self.lease_name)

    async def articles(self) -> list[Any]:
        return await self.conn.fetch(
            f'SELECT url, guid, text_hash FROM "{self.schema}".articles ORDER BY url')

    async def facts(self) -> list[Any]:
        return await self.conn.fetch(
            f'SELECT id, seq, article_url, backlog FROM "{self.schema}".facts')


def repeated(values: list[Any]) -> list[Any]:
    return sorted({v for v in values if values.count(v) > 1}, key=str)


async def until(what: str, check: Callable[[], Awaitable[bool]], timeout: float, alive: list[Process]) -> None:
    """Until ``check()`` holds, looked at every 50 ms; fails naming ``what`` after ``timeout`` seconds, or at
    once if a process of ``alive`` exited."""
    deadline = time.monotonic() + timeout
    while not await check():
        for process in alive:
            assert process.proc.returncode is None, f"process {process.name} exited ({process.proc.returncode}) " \
                                                    f"while waiting for: {what}"
        assert time.monotonic() < deadline, f"not within {timeout}s: {what}"
        await asyncio.sleep(0.05)


async def has_articles(db: Database, urls: set[str]) -> bool:
    return urls <= {r["url"] for r in await db.articles()}


def next_minute(after: datetime) -> datetime:
    return after.replace(second=0, microsecond=0) + timedelta(minutes=1)


async def seed(store: PgStore, config_path: Path, outlets: GatedOutlets, slot: datetime) -> None:
    """The store as a running cluster would have it: the outlets' backlog and two later articles (facts a
    digest can report), two articles published since (the next cycle's), and each guild's digest due at
    ``slot``, never posted."""
    config = load_config(config_path)
    session = make_session(config.fetch)
    try:
        extraction = InlineExtraction(Extractor(config.actors, config.places))
        poller = Poller(config, store, Fetcher(session, config.fetch), extraction)
        for phase in (1, 2):
            outlets.phase = phase
            await store.commit(Batch(sources=tuple(replace(s, next_due=None) for s in store.all_sources())))
            await poller.run_cycle()
    finally:
        await session.close()
    for name, (title, text) in NEW_ARTICLES.items():
        outlets.publish(name, title, text)
    await store.commit(Batch(
        sources=tuple(replace(s, next_due=None) for s in store.all_sources()),  # due at once
        guilds=tuple(GuildSettings(guild_id=guild, digest_channel_id=channel, digest_enabled=True,
                                   digest_time=f"{slot:%H:%M}", timezone="UTC") for guild, channel in GUILDS.items())))


@contextlib.asynccontextmanager
async def logs_on_failure(processes: dict[str, Process]) -> AsyncIterator[None]:
    try:
        yield
    except BaseException:
        for process in processes.values():
            print(f"----- stderr of process {process.name} (pid {process.pid}) -----\n{process.text()}")
        raise


@pytest.mark.slow  # waits for a whole minute: digest times have a minute's precision
@pytest.mark.timeout(240)
async def test_killing_the_leader_mid_cycle_loses_nothing_and_doubles_nothing(pg_dsn: str, pg_schema: str,
                                                                             tmp_path: Path) -> None:
    started = time.monotonic()
    slot = next_minute(datetime.now(UTC) + timedelta(seconds=SLOT_AHEAD_S))
    assert (shard_of(EVEN_GUILD, 2), shard_of(ODD_GUILD, 2)) == (0, 1)
    fake = FakeDiscord([FakeGuild(guild, f"Guild {i}", [FakeChannel(channel, "digest")])
                        for i, (guild, channel) in enumerate(GUILDS.items())], shard_count=2)
    await fake.start()
    outlets = GatedOutlets(demo_now(datetime.now(UTC)))
    base = await outlets.start()
    config_path = write_config(tmp_path / "config.toml", base, pg_schema, tmp_path / "data")
    store = await PgStore.open(pg_dsn, schema=pg_schema)
    db = Database(await asyncpg.connect(pg_dsn, timeout=10), pg_schema)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("SITREP_")}, "DISCORD_TOKEN": "fake-token",
           "SITREP_DATABASE_URL": pg_dsn, "SITREP_FAKE_API": fake.api_base, "SITREP_FAKE_GATEWAY": fake.gateway_url,
           "PYTHONUNBUFFERED": "1"}
    processes: dict[str, Process] = {}
    try:
        async with logs_on_failure(processes):
            await seed(store, config_path, outlets, slot)
            backlog = {canonical_url(f"{base}/a/{name}") for name, *_ in ARTICLES}
            new = {canonical_url(f"{base}/a/{name}") for name in NEW_ARTICLES}
            assert {r["url"] for r in await db.articles()} == backlog

            # A starts alone: it leads at once and its first poll cycle begins, held in the outlets.
            outlets.hold()
            a = processes["a"] = await spawn("a", tmp_path, config_path, 0, env)

            async def a_leads_and_polls() -> bool:
                conn = await db.lease_connection(a)
                return outlets.waiting > 0 and conn is not None and await db.holder() == conn.pid

            await until("process a leads and its poll cycle is fetching the feeds", a_leads_and_polls, SETUP_S, [a])
            b = processes["b"] = await spawn("b", tmp_path, config_path, 1, env)

            async def both_connected_and_b_tries() -> bool:
                return sorted(fake.shards) == [(0, 2), (1, 2)] and await db.lease_connection(b) is not None

            await until("both processes identified (shards 0 and 1) and b tries for the lease",
                        both_connected_and_b_tries, SETUP_S, [a, b])
            a_conn = await db.lease_connection(a)
            assert a_conn is not None and await db.holder() == a_conn.pid and await db.epoch() == 1
            setup_s = time.monotonic() - started
            assert datetime.now(UTC) < slot - KILL_MARGIN, (f"both processes took {setup_s:.1f}s to start: too late "
                                                            f"for the slot (SLOT_AHEAD_S = {SLOT_AHEAD_S})")

            # Kill a right after one of b's attempts that is less than a retry period before the slot (so b's
            # next attempt, the takeover, comes after it), and in any case before the slot: a never posts it.
            while True:
                b_conn = await db.lease_connection(b)
                assert b_conn is not None and a.proc.returncode is None and b.proc.returncode is None
                after_attempt = b_conn.idle and b_conn.last_statement >= slot - timedelta(seconds=LEASE_RETRY_S)
                if after_attempt or datetime.now(UTC) >= slot - KILL_MARGIN:
                    break
                await asyncio.sleep(0.02)
            assert outlets.waiting > 0, "process a's poll cycle is no longer in flight"
            assert not fake.messages_in(EVEN_CHANNEL) and not fake.messages_in(ODD_CHANNEL)
            assert "poll cycle:" not in a.text()
            os.kill(a.pid, signal.SIGKILL)
            killed_at = datetime.now(UTC)
            assert killed_at < slot
            assert await asyncio.wait_for(a.proc.wait(), 10) == -signal.SIGKILL
            held_feeds = outlets.feed_requests
            outlets.release()
            assert not new & {r["url"] for r in await db.articles()}, "the killed cycle committed something"

            # b takes over, polls (the cycle a never finished) and posts the digest that fell due meanwhile.
            elected: list[datetime] = []

            async def b_leads() -> bool:
                conn = await db.lease_connection(b)
                if conn is None or await db.holder() != conn.pid:
                    return False
                elected.append(conn.last_statement)  # its winning attempt (its checks come 5 s apart)
                return True

            await until("process b takes the lease", b_leads, TAKEOVER_S, [b])
            await until("b's poll cycle committed the new articles", lambda: has_articles(db, new), TAKEOVER_S, [b])

            async def digests_recorded() -> bool:  # this test's store hears of b's writes by NOTIFY
                return all(store.guild(g).last_digest_slot == slot.isoformat() for g in GUILDS)

            await until("b recorded both guilds' digest for the slot", digests_recorded, TAKEOVER_S, [b])
            print(f"\nboth processes up in {setup_s:.1f}s; a killed {(slot - killed_at).total_seconds():.2f}s before "
                  f"the slot, {(killed_at - b_conn.last_statement).total_seconds():.2f}s after b's latest attempt; "
                  f"b elected {(elected[0] - killed_at).total_seconds():.2f}s after the kill, "
                  f"{'after' if elected[0] > slot else 'before'} the slot; digests and cycle done after "
                  f"{time.monotonic() - started:.1f}s")
            if after_attempt:  # b's previous attempt came less than a retry period before the slot
                assert elected[0] > slot, "b took over before the slot: the window held no digest"

            # The lease: a's election, then b's.
            assert await db.epoch() == 2
            assert "this process leads (epoch 1)" in a.text() and "this process leads (epoch 2)" in b.text()

            # The cycle's articles, committed once: every outlet article is stored once, under one URL, with
            # its facts once each.
            articles = await db.articles()
            assert {r["url"] for r in articles} == backlog | new
            assert len(articles) == len(backlog | new)
            assert repeated([r["text_hash"] for r in articles]) == []
            assert repeated([r["guid"] for r in articles if r["guid"]]) == []
            facts = await db.facts()
            assert repeated([r["id"] for r in facts]) == [] and repeated([r["seq"] for r in facts]) == []
            new_facts = [r for r in facts if r["article_url"] in new]
            assert {r["article_url"] for r in new_facts} == new and not any(r["backlog"] for r in new_facts)
            cycles = [line for line in b.text().splitlines() if "poll cycle:" in line]
            assert cycles and "2 new articles" in cycles[0], cycles
            assert outlets.feed_requests > held_feeds  # b fetched the feeds itself

            # The digest of the slot that fell due while nobody led: posted once in each guild's channel, by b
            # (after the kill), with the slot's nonces; Discord never had to drop a re-send.
            for guild, channel in GUILDS.items():
                messages = fake.messages_in(channel)
                nonce = digest_nonce(guild, channel, slot.isoformat())
                assert messages, f"no digest in guild {guild}"
                assert [m.get("nonce") for m in messages] == [part_nonce(nonce, i) for i in range(len(messages))]
                assert all(datetime.fromisoformat(m["timestamp"]) > killed_at for m in messages)
                # It carries the articles of the cycle the killed leader never finished (b redid that cycle
                # before it caught up the slot): nothing waits for the next day's digest.
                text = " ".join(e.get("description", "") for m in messages for e in m["embeds"])
                assert "27 soldiers" in text and "14 civilians" in text, text
            assert fake.deduplicated == []
            posted_to = {r.split("/")[2] for r in fake.requests if r.startswith("POST /channels/")}
            assert posted_to == {str(c) for c in GUILDS.values()}, fake.requests
            assert "Traceback" not in b.text()
    finally:
        for process in processes.values():
            await stop(process)
        outlets.release()
        await db.conn.close()
        await store.close()
        await outlets.stop()
        await fake.stop()
