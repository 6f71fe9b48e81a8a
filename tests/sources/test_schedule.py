"""The poll schedule over many ticks, on a fake clock: a source is polled every interval, not every other tick
(its next due time is a cycle's start plus the interval, and the next tick comes a few milliseconds early or
late), while a failing source still backs off."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta
from itertools import pairwise

import pytest
from aiohttp import web

from tests.sources.conftest import rss


@pytest.mark.parametrize(("interval", "ticks"), [(timedelta(minutes=15), 60), (timedelta(seconds=30), 60)])
async def test_a_source_is_polled_every_interval_over_many_ticks(serve, make_poller, interval: timedelta,  # type: ignore[no-untyped-def]
                                                                 ticks: int) -> None:
    fetched: list[datetime] = []
    failed: list[datetime] = []

    async def feed(request: web.Request) -> web.Response:
        fetched.append(clock.now)
        return web.Response(text=rss([]), content_type="application/rss+xml")

    async def broken(request: web.Request) -> web.Response:
        failed.append(clock.now)
        return web.Response(status=500)

    server = await serve({"/rss": feed, "/broken": broken})
    poller, _, clock = await make_poller([("Wire", f"{server.url}/rss"), ("Broken", f"{server.url}/broken")],
                                             pause_after=99)
    poller.config = replace(poller.config, poll_interval=interval)
    tick = poller.tick_interval
    start = clock.now
    jitter = random.Random(20)
    for n in range(ticks):
        # The scheduler runs the job a little after each tick; how late varies from tick to tick.
        clock.now = start + n * tick + timedelta(milliseconds=jitter.uniform(0, 40))
        await poller.run_cycle()

    per_interval = interval // tick
    gaps = [b - a for a, b in pairwise(fetched)]
    assert len(fetched) == ticks // per_interval
    assert all(abs(gap - interval) < timedelta(seconds=1) for gap in gaps), sorted(set(gaps))
    # The failing source backs off (interval × 2^(failures-1), ±20 %), from tick to tick, never faster.
    assert 2 <= len(failed) < len(fetched)
    for i, (a, b) in enumerate(pairwise(failed)):
        assert b - a >= interval * (2 ** i) * 0.8 - tick * 0.1
