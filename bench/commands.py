"""Command benchmark: `python bench/commands.py [--driver tinydb|postgres] [--facts N] [--interactions K] [--quick]`.

The bot exactly as `python -m bot run` builds it (``bot.client.command.composed``: the store opened by
``open_store``, the warm-up in ``setup_hook`` before the gateway connects), logged into the fake Discord of
the tests (tests/fakediscord, in this process), on a store of N facts (default 100,000; ``--quick`` 2,000)
while a background task commits a poll cycle's worth of new facts (50 articles x 4 facts) every half second,
as the poll job would (the bot's own poll job is left out: the store's sources are not reachable).

K mixed commands (default 300; ``--quick`` 45), one at a time. Each kind of command has its keys, so a slow
one shows by name: ``ack_p99_ms_<kind>`` (dispatch to the bot's initial response: an answer, or a deferral)
and ``answer_max_ms_<kind>`` (dispatch to the complete answer). The kinds: casualties, casualties_90d,
territory, timeline, brief, sources, search, fact (a fact of this week), and two that read old weeks:
timeline_old (a month a year ago) and fact_old (a fact from a year ago).

Targets (issue 17), on both drivers: ack p99 <= 100 ms, ack max <= 1,000 ms, a deferred answer complete
(``deferred_answer_max_ms``) <= 2,000 ms, peak RSS <= 300 MB (``rss_ready_mb``: the RSS once connected, before
any command). Figures are never pass/fail here (the machines are noisy); ``targets_missed`` names the ones
missed. ``--no-commits`` leaves the background commits out, to compare. The last line is one JSON object.

``--driver postgres`` builds the store in a schema of its own at SITREP_DATABASE_URL (else
SITREP_TEST_DATABASE_URL, else the local test server) and drops it afterwards. ``--keep DIR`` builds the TinyDB
store in DIR and keeps it; ``--copy KEPT`` measures a copy of such a store instead of building one.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import random
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import discord
import yarl
from _common import bench_config, pct, peak_rss_mb, storage_bench
from discord.gateway import DiscordWebSocket

from bot.client.command import composed
from bot.config import StorageConfig
from storage import Batch, Store, TinyStore
from tests.fakediscord import FakeChannel, FakeDiscord, FakeGuild

GUILD = 42
TARGETS = {"ack_p99_ms": 100, "max_ack_ms": 1000, "deferred_answer_max_ms": 2000, "peak_rss_mb": 300}


async def writer(store: Store, sb: Any, stop: asyncio.Event, now: datetime) -> tuple[int, list[float]]:
    """A poll cycle's writes: 50 articles x 4 facts per commit, every half second. Returns the facts written
    and each commit's duration (ms)."""
    rng = random.Random(11)
    tag = f"new{time.time_ns()}"  # new articles, also in a store copied from an earlier run
    written, commits = 0, []
    while not stop.is_set() and sb is not None:
        batch = sb.make_articles(rng, 50, now - timedelta(hours=2), now, f"{tag}-{written}")
        started = time.perf_counter()
        await store.commit(Batch(articles=tuple(batch)))
        commits.append((time.perf_counter() - started) * 1000)
        written += 200
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.5)
    return written, commits


def rss_mb() -> float:
    """This process's resident memory now (VmRSS)."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024


def questions(store: Store, now: datetime) -> list[tuple[str, str, dict[str, Any]]]:
    """(kind, command, options): the mix asked in turn."""
    year_ago = now - timedelta(days=365)
    old_fact = store.facts(since=year_ago - timedelta(days=30), until=year_ago, limit=1)[0]
    new_fact = store.facts(since=now - timedelta(days=7), limit=50)[-1]
    return [("casualties", "casualties", {"topic": "gaza"}),
            ("casualties_90d", "casualties", {"topic": "pak-afg", "since": "90d"}),
            ("territory", "territory", {"topic": "sudan"}),
            ("timeline", "timeline", {"topic": "ukraine"}),
            ("brief", "brief", {"topic": "sudan"}),
            ("sources", "sources", {}),
            ("search", "search", {"words": "hospital Rafah"}),
            ("fact", "fact", {"id": new_fact.id}),
            # two that read old weeks (from disk with TinyDB): deferred, answered from a worker thread
            ("timeline_old", "timeline", {"topic": "ukraine", "from": f"{year_ago:%Y-%m}", "to": f"{year_ago:%Y-%m}"}),
            ("fact_old", "fact", {"id": old_fact.id})]


def build_store(driver: str, where: str, dsn: str, n_facts: int, now: datetime, copy: Path | None) -> float:
    """The store of ``n_facts`` facts, built (or copied) and closed; returns the build time (s)."""
    sb = storage_bench()
    if copy is not None:
        shutil.copytree(copy, where, dirs_exist_ok=True)
        return 0.0
    if driver == "postgres":
        from storage import PgStore

        store: Store = PgStore.open_sync(dsn, schema=where)
    else:
        store = TinyStore.open_sync(Path(where))
    built, build_s = sb.build(store, n_facts, now, random.Random(7))
    built.close_sync()
    if driver == "postgres":  # statistics and visibility map, as autovacuum makes them after a bulk load
        sb._sql(dsn, f'VACUUM (ANALYZE) "{where}".articles, "{where}".facts, "{where}".fact_topics')
    return build_s


async def run(driver: str, n_facts: int, interactions: int, keep: Path | None, copy: Path | None,
              no_commits: bool = False) -> dict[str, Any]:
    sb = storage_bench()
    now = datetime.now(UTC)
    dsn = (os.environ.get("SITREP_DATABASE_URL") or os.environ.get("SITREP_TEST_DATABASE_URL")
           or "postgresql://postgres@127.0.0.1:5432/test")
    with tempfile.TemporaryDirectory(prefix="sitrep-bench-") as tmp:
        data_dir = keep or Path(tmp) / "store"
        schema = f"bench_commands_{os.getpid()}"
        where = schema if driver == "postgres" else str(data_dir)
        try:
            result, login_s, ready_rss = await measure_bot(driver, where, dsn, data_dir, schema, n_facts, interactions,
                                                           now, copy, no_commits)
        finally:
            if driver == "postgres":
                await asyncio.to_thread(sb._sql, dsn, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    result.update(driver=driver, facts=n_facts, login_s=round(login_s, 2),
                  rss_ready_mb=round(ready_rss), peak_rss_mb=round(peak_rss_mb()))
    result["targets_missed"] = [k for k, limit in TARGETS.items() if result[k] > limit]
    return result


async def measure_bot(driver: str, where: str, dsn: str, data_dir: Path, schema: str, n_facts: int,
                      interactions: int, now: datetime, copy: Path | None,
                      no_commits: bool) -> tuple[dict[str, Any], float, float]:
    """Build the store, run the bot on it and measure: (the figures, the login's seconds, the RSS once ready)."""
    # In a process of its own: this one then holds only what the bot holds (its RSS, its garbage).
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        build_s = await asyncio.get_running_loop().run_in_executor(
            pool, build_store, driver, where, dsn, n_facts, now, copy)
    config = replace(bench_config(data_dir), storage=StorageConfig(driver=driver, schema=schema))
    (data_dir / "commands.sha256").unlink(missing_ok=True)  # a fresh fake Discord: the bot syncs its commands
    if driver == "postgres":
        os.environ["SITREP_DATABASE_URL"] = dsn  # open_store reads it from the environment only
    fake = FakeDiscord([FakeGuild(GUILD, "Bench", [FakeChannel(4201)])])
    await fake.start()
    discord.http.Route.BASE = fake.api_base
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)
    try:
        async with composed(config) as bot:
            bot.poller = None  # no poll job: the writer below commits in its place
            asked = questions(bot.store, now)
            async with bot:
                started = time.perf_counter()
                await bot.login("bench-token")  # setup_hook: cogs, the store's warm-up, the command sync
                login_s = time.perf_counter() - started
                task = asyncio.create_task(bot.connect(reconnect=False))
                await fake.wait_ready(timeout=60)
                await fake.wait_for(lambda: bool(fake.commands), timeout=60)
                ready_rss = rss_mb()  # the store opened and warmed, the bot connected: before any command
                result = await measure(bot.store, storage_bench(), fake, asked, interactions, now, no_commits)
                await bot.close()
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
    finally:
        await fake.stop()
    result["build_s"] = round(build_s, 1)
    return result, login_s, ready_rss


async def measure(store: Store, sb: Any, fake: FakeDiscord, asked: list[tuple[str, str, dict[str, Any]]],
                  interactions: int, now: datetime, no_commits: bool) -> dict[str, Any]:
    stop = asyncio.Event()
    writes = asyncio.create_task(writer(store, None if no_commits else sb, stop, now))
    acks: dict[str, list[float]] = {kind: [] for kind, _, _ in asked}
    answers: dict[str, list[float]] = {kind: [] for kind, _, _ in asked}
    deferred: list[float] = []
    try:
        for i in range(interactions):
            kind, name, options = asked[i % len(asked)]
            started = time.perf_counter()
            record = await fake.slash(GUILD, 7, name, options, wait_final=False, timeout=30)
            acks[kind].append(record.ack_ms)
            if record.deferred:  # answered from a worker thread: time the whole answer too (target 2 s)
                await fake.wait_for(lambda r=record: bool(r.edits or r.followups), timeout=60)  # type: ignore[misc]
                deferred.append((time.perf_counter() - started) * 1000)
            answers[kind].append((time.perf_counter() - started) * 1000)
            assert "went wrong" not in record.text, f"/{name} {options} failed: {record.text}"
    finally:
        stop.set()
        written, commits = await writes
    every = [ms for values in acks.values() for ms in values]
    commits = commits or [0.0]
    print(f"{interactions} interactions while {written} new facts were committed in the background "
          f"({len(commits)} commits, p50 {pct(commits, 50):.0f} ms, max {max(commits, default=0):.0f} ms)")
    result: dict[str, Any] = {
        "ack_p50_ms": round(pct(every, 50), 2), "ack_p99_ms": round(pct(every, 99), 2),
        "max_ack_ms": round(max(every), 2), "deferred": len(deferred),
        "deferred_answer_max_ms": round(max(deferred, default=0.0), 1),
        "commit_p50_ms": round(pct(commits, 50), 1) if commits else None}
    print(f"  all    ack p50 {result['ack_p50_ms']:7.1f} ms  p99 {result['ack_p99_ms']:7.1f} ms  "
          f"max {result['max_ack_ms']:7.1f} ms")
    for kind, values in acks.items():
        if values:
            result[f"ack_p99_ms_{kind}"] = round(pct(values, 99), 1)
            result[f"answer_max_ms_{kind}"] = round(max(answers[kind]), 1)
            print(f"  {kind:<15} ack p50 {pct(values, 50):7.1f} ms  p99 {pct(values, 99):7.1f} ms  "
                  f"answer max {max(answers[kind]):7.1f} ms")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--driver", choices=["tinydb", "postgres"], default="tinydb")
    parser.add_argument("--facts", type=int, default=100_000)
    parser.add_argument("--interactions", type=int, default=300)
    parser.add_argument("--quick", action="store_true", help="a small run that only shows it works: 2,000 facts, "
                                                             "45 interactions")
    parser.add_argument("--no-commits", action="store_true", help="no background commits (to compare)")
    parser.add_argument("--keep", type=Path, help="build the TinyDB store in DIR (must not exist) and keep it")
    parser.add_argument("--copy", type=Path, metavar="KEPT", help="measure a copy of a store kept with --keep")
    args = parser.parse_args()
    if args.quick:
        args.facts, args.interactions = 2000, 45
    if args.driver == "postgres" and (args.keep or args.copy):
        parser.error("--keep and --copy are for the TinyDB driver")
    print(json.dumps(asyncio.run(run(args.driver, args.facts, args.interactions, args.keep, args.copy,
                                     args.no_commits))))


if __name__ == "__main__":
    main()
