"""Command benchmark: `python bench/commands.py [--facts N] [--interactions K]`.

The real bot, logged into the fake Discord of the tests (tests/fakediscord), on a store of N facts
(default 100,000) while a background task commits a poll cycle's worth of new facts every half second.
Measures the time from dispatching an interaction to the bot's initial response (an answer, or a deferral
for answers that read old weeks from disk), over K mixed commands (default 300), among them a search over
all history, a timeline of a month a year ago and a fact by id from a year ago. Targets: p99 <= 100 ms,
max <= 1,000 ms. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import discord
import yarl
from _common import bench_config, pct, peak_rss_mb, storage_bench
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from discord.gateway import DiscordWebSocket

from bot.briefing import Briefing
from bot.client import SitrepBot
from storage import Batch, Store, TinyStore
from tests.fakediscord import FakeChannel, FakeDiscord, FakeGuild

GUILD = 42
QUESTIONS = [("casualties", {"topic": "gaza"}), ("casualties", {"topic": "pak-afg", "since": "90d"}),
             ("timeline", {"topic": "ukraine"}), ("brief", {"topic": "sudan"}), ("sources", {}),
             ("search", {"words": "hospital Rafah"})]


async def writer(store: Store, sb, stop: asyncio.Event, now: datetime) -> int:  # type: ignore[no-untyped-def]
    """A poll cycle's writes: 50 articles x 4 facts per commit, every half second."""
    rng = random.Random(11)
    written = 0
    while not stop.is_set():
        batch = sb.make_articles(rng, 50, now - timedelta(hours=2), now, f"w{written}")
        await store.commit(Batch(articles=tuple(batch)))
        written += 200
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.5)
    return written


async def run(n_facts: int, interactions: int) -> dict[str, Any]:
    sb = storage_bench()
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as tmp:
        built, _ = sb.build(Path(tmp), n_facts, now, random.Random(7))
        built.close_sync()
        store = await TinyStore.open(Path(tmp))  # as the bot runs: the store opened from disk
        year_ago = now - timedelta(days=365)
        old_fact = store.facts(since=year_ago - timedelta(days=1), until=year_ago, limit=1)[0]
        questions = [*QUESTIONS,  # and two that read old weeks from disk: deferred, answered from a thread
                     ("timeline", {"topic": "ukraine", "from": f"{year_ago:%Y-%m}", "to": f"{year_ago:%Y-%m}"}),
                     ("fact", {"id": old_fact.id})]
        config = bench_config(Path(tmp))
        fake = FakeDiscord([FakeGuild(GUILD, "Bench", [FakeChannel(4201)])])
        await fake.start()
        discord.http.Route.BASE = fake.api_base
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)
        bot = SitrepBot(config=config, store=store, briefing=Briefing(store, config), poller=None, fetcher=None,
                        scheduler=AsyncIOScheduler(timezone=UTC))
        await bot.login("bench-token")
        task = asyncio.create_task(bot.connect(reconnect=False))
        await fake.wait_ready()
        await fake.wait_for(lambda: bool(fake.commands), timeout=30)
        stop = asyncio.Event()
        writes = asyncio.create_task(writer(store, sb, stop, now))
        acks: list[float] = []
        deferred: list[float] = []
        for i in range(interactions):
            name, options = questions[i % len(questions)]
            started = time.perf_counter()
            record = await fake.slash(GUILD, 7, name, options, wait_final=False, timeout=10)
            acks.append(record.ack_ms)
            if record.deferred:  # answered from a worker thread: time the whole answer too (target 2 s)
                await fake.wait_for(lambda r=record: bool(r.edits or r.followups), timeout=30)  # type: ignore[misc]
                deferred.append((time.perf_counter() - started) * 1000)
        stop.set()
        written = await writes
        await bot.close()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await fake.stop()
        await store.close()
    print(f"{interactions} interactions on {n_facts} facts while {written} new facts were committed in the background")
    result = {"ack_p50_ms": round(pct(acks, 50), 2), "ack_p99_ms": round(pct(acks, 99), 2),
              "max_ack_ms": round(max(acks), 2), "deferred": len(deferred),
              "deferred_answer_max_ms": round(max(deferred, default=0.0), 1), "peak_rss_mb": round(peak_rss_mb())}
    print(f"  ack p50 {result['ack_p50_ms']} ms, p99 {result['ack_p99_ms']} ms, max {result['max_ack_ms']} ms")
    # max_ack_ms is the figure that caught a 4.8 s ack (a /search building the word index on the event loop).
    result["targets_missed"] = [k for k, limit in (("ack_p99_ms", 100), ("max_ack_ms", 1000),
                                                   ("deferred_answer_max_ms", 2000)) if result[k] > limit]
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--facts", type=int, default=100_000)
    parser.add_argument("--interactions", type=int, default=300)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.facts, args.interactions))))


if __name__ == "__main__":
    main()
