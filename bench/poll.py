"""Poll benchmark: `python bench/poll.py [--feeds N] [--hosts H] [--quick]`.

N feeds (default 1,000) spread over H hosts (default 100: 127.0.0.2 … 127.0.0.101, all loopback on
Linux), served from a separate process so its CPU does not count against the poller, each response
delayed 100 ms. Feeds answer conditional requests with 304 unless they changed: between the first
(seeding) cycle and the measured second cycle, 10% of them change. The real Poller (per-host concurrency 2)
runs both cycles, extracting in its worker process as `run` does; a 10 ms ticker records the largest
event-loop stall. The seeding cycle stores every item as a new article (5 per feed: 5,000 by default).
Targets: >= 1,000 feeds/min, max loop stall <= 100 ms while new articles are extracted. ``--quick``: 50 feeds
on 5 hosts. The servers listen on a free port (the same on every host), so several runs on one machine do not
collide. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _common import bench_config, peak_rss_mb

from bot.config import SourceConfig, parse_config
from bot.extract import ExtractionWorker
from bot.sources import Fetcher, Poller, make_session
from storage import TinyStore

LATENCY = 0.1
SENTENCES = ["Officials said at least {n} people were killed when shells hit a market in the border district.",
             "The army said it killed {n} militants in an operation on Saturday.",
             "Rescuers said {n} civilians were injured and dozens of families fled their homes."]


def serve(n_feeds: int, hosts: int, phase: mp.Value, port: mp.Value,  # type: ignore[valid-type]
          ready: mp.Event) -> None:  # type: ignore[valid-type]
    from aiohttp import web

    async def feed(request: web.Request) -> web.Response:
        i = int(request.match_info["i"])
        version = 2 if (phase.value == 2 and i % 10 == 0) else 1  # type: ignore[attr-defined]
        etag = f'"f{i}-v{version}"'
        await asyncio.sleep(LATENCY)
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        items = "".join(
            f"<item><title>Report {i}-{k} v{version}</title><link>https://outlet{i % 37}.example/{i}/{k}/v{version}"
            f"</link><guid>g{i}-{k}-v{version}</guid><pubDate>Sun, 12 Oct 2025 08:00:00 +0000</pubDate>"
            f"<description>{SENTENCES[k % 3].format(n=i % 90 + k + 2)} Feed {i} item {k} version {version}."
            f"</description></item>" for k in range(5))
        body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {i}</title>{items}</channel></rss>'
        return web.Response(text=body, content_type="application/rss+xml", headers={"ETag": etag})

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/feed/{i}", feed)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.2", 0).start()  # a free port, then the same one on every other host
        port.value = runner.addresses[0][1]  # type: ignore[attr-defined]
        for h in range(1, hosts):
            await web.TCPSite(runner, f"127.0.0.{h + 2}", port.value, reuse_address=True).start()  # type: ignore[attr-defined]
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


async def ticker(stalls: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        await asyncio.sleep(0.01)
        stalls.append((time.perf_counter() - started - 0.01) * 1000)


async def cycle(poller: Poller) -> tuple[float, float, object]:
    stalls: list[float] = []
    stop = asyncio.Event()
    tick = asyncio.create_task(ticker(stalls, stop))
    started = time.perf_counter()
    summary = await poller.run_cycle()
    elapsed = time.perf_counter() - started
    stop.set()
    await tick
    return elapsed, max(stalls, default=0.0), summary


async def run(n_feeds: int, hosts: int, phase: mp.Value, port: int) -> dict[str, float]:  # type: ignore[valid-type]
    with tempfile.TemporaryDirectory() as tmp:
        base = bench_config(Path(tmp))
        fetch = parse_config({"fetch": {"allow_private": ["127.0.0.0/8"], "per_host": 2, "concurrency": 64,
                                        "timeout": "20s"}}).fetch
        config = replace(base, fetch=fetch, sources=tuple(
            SourceConfig(id=f"f{i}", name=f"Feed {i}", url=f"http://127.0.0.{i % hosts + 2}:{port}/feed/{i}")
            for i in range(n_feeds)))
        store = await TinyStore.open(Path(tmp))
        session = make_session(config.fetch)
        extraction = ExtractionWorker(config.actors, config.places)  # as `run` and `poll` do: off the loop
        await extraction.warm()
        poller = Poller(config, store, Fetcher(session, config.fetch), extraction)
        seed_s, seed_stall, seed = await cycle(poller)
        phase.value = 2  # type: ignore[attr-defined]
        poller.clock = lambda: datetime.now(UTC) + timedelta(hours=1)  # every source is due again
        second_s, stall, summary = await cycle(poller)
        await session.close()
        await store.close()
        extraction.close()
    print(f"seeding cycle: {n_feeds} feeds in {seed_s:.1f} s ({seed}) max stall {seed_stall:.0f} ms")
    print(f"second cycle: {n_feeds} feeds in {second_s:.1f} s ({summary}) max stall {stall:.0f} ms")
    return {"feeds_per_min": round(n_feeds / second_s * 60), "seed_feeds_per_min": round(n_feeds / seed_s * 60),
            "not_modified_rate": round(summary.not_modified / n_feeds, 3),  # type: ignore[attr-defined]
            "max_loop_stall_ms": round(stall, 1), "seed_max_loop_stall_ms": round(seed_stall, 1),
            "peak_rss_mb": round(peak_rss_mb())}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="50 feeds on 5 hosts")
    args = parser.parse_args()
    if args.quick:
        args.feeds, args.hosts = 50, 5
    phase, port = mp.Value("i", 1), mp.Value("i", 0)
    ready = mp.Event()
    server = mp.Process(target=serve, args=(args.feeds, args.hosts, phase, port, ready), daemon=True)
    server.start()
    try:
        if not ready.wait(30):
            raise SystemExit("the feed servers did not start")
        print(json.dumps(asyncio.run(run(args.feeds, args.hosts, phase, port.value))))
    finally:
        server.terminate()
        server.join(5)


if __name__ == "__main__":
    main()
