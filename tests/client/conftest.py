"""A world for end-to-end tests: the demo's sample outlets on loopback, polled into a real store by the real
Poller; the real SitrepBot logged into a fake Discord with two guilds."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import discord
import pytest
import yarl
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from discord.gateway import DiscordWebSocket

from bot.briefing import Briefing
from bot.client import SitrepBot
from bot.config import Config, load_config
from bot.demo import DemoServer, demo_config, demo_now
from bot.extract import Extractor, InlineExtraction
from bot.sources import Fetcher, Poller, make_session
from storage import Batch, Store, TinyStore
from tests.conftest import StoreSpec
from tests.fakediscord import FORUM, FakeChannel, FakeDiscord, FakeGuild

ROOT = Path(__file__).resolve().parents[2]
GUILD_A, GUILD_B = 111, 222
CHANNEL_A, CHANNEL_GONE, CHANNEL_FORUM, CHANNEL_B, CHANNEL_A2 = 1101, 1102, 1103, 2201, 1104
ADMIN, MEMBER, OTHER = 501, 502, 503


class Outlets(DemoServer):
    """The demo's sample outlets, plus articles a test publishes later on the Atom feed (summaries only)."""

    def __init__(self, now: datetime) -> None:
        super().__init__(now)
        self.extra: dict[str, tuple[str, list[str], datetime]] = {}

    def publish(self, name: str, title: str, text: str, hours_ago: float = 1) -> None:
        self.extra[name] = (title, [text], self.now - timedelta(hours=hours_ago))

    def _items(self, outlet: str) -> list[tuple[str, str, list[str], datetime]]:
        extra = [(name, *item) for name, item in self.extra.items()] if outlet == "monitor" else []
        return super()._items(outlet) + extra


@dataclass
class World:
    fake: FakeDiscord
    bot: SitrepBot
    store: Store
    config: Config
    poller: Poller
    outlets: Outlets

    async def poll(self, *, alerts: bool = True) -> None:
        """One poll job tick now (every source due), then the bot's alerts, as the scheduled job runs them."""
        await self.store.commit(Batch(sources=tuple(replace(s, next_due=None) for s in self.store.all_sources())))
        await self.poller.tick(after=self.bot.alerts.run_all if alerts else None)


@pytest.fixture
async def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store_spec: StoreSpec) -> AsyncIterator[World]:
    """The demo's first poll (the backlog) and second poll (two new articles) are stored before the bot starts.
    Once per storage driver."""
    async with open_world(tmp_path, monkeypatch, polls=2, spec=store_spec) as built:
        yield built


@pytest.fixture
async def empty_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                      store_spec: StoreSpec) -> AsyncIterator[World]:
    """Nothing polled yet: the test polls (``world.poll()``), moving ``world.outlets.phase`` on as it likes."""
    async with open_world(tmp_path, monkeypatch, polls=0, spec=store_spec) as built:
        yield built


def default_guilds() -> list[FakeGuild]:
    return [
        FakeGuild(GUILD_A, "Watchers", [FakeChannel(CHANNEL_A, "digest"), FakeChannel(CHANNEL_GONE, "old",
                                                                                      forbidden=True),
                                        FakeChannel(CHANNEL_FORUM, "incidents", kind=FORUM),
                                        FakeChannel(CHANNEL_A2, "sudan-news")]),
        FakeGuild(GUILD_B, "Researchers", [FakeChannel(CHANNEL_B, "news")]),
    ]


@contextlib.asynccontextmanager
async def running_bot(fake: FakeDiscord, config: Config, store: Store, fetcher: Fetcher | None,
                      **options: Any) -> AsyncIterator[SitrepBot]:
    """A real SitrepBot (no poller, its own scheduler) logged into ``fake`` until it is ready (``on_ready``: its
    guilds received, commands synced); closed cleanly on leaving. ``options`` go to the bot (``shard_ids``...)."""
    bot = SitrepBot(config=config, store=store, briefing=Briefing(store, config), poller=None, fetcher=fetcher,
                    scheduler=AsyncIOScheduler(timezone=UTC), guild_ready_timeout=0.05, **options)
    await bot.login("fake-token")
    task = asyncio.create_task(bot.connect(reconnect=False))
    try:
        ready = asyncio.ensure_future(asyncio.wait_for(bot.wait_until_ready(), 10))
        done, _ = await asyncio.wait([task, ready], return_when=asyncio.FIRST_COMPLETED)
        if ready not in done:  # the connection ended first: say why
            ready.cancel()
            await asyncio.gather(ready, return_exceptions=True)
            task.result()
            raise AssertionError("the bot disconnected before it was ready")
        ready.result()
        await fake.wait_for(lambda: bool(fake.commands))
        yield bot
    finally:
        await bot.close()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


@contextlib.asynccontextmanager
async def open_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, polls: int, spec: StoreSpec | None = None,
                     guilds: list[FakeGuild] | None = None, **bot_options: Any) -> AsyncIterator[World]:
    """The world of the fixtures: ``guilds`` (default: GUILD_A and GUILD_B) in a fake Discord, the demo's outlets
    polled ``polls`` times into a store, and one bot (``bot_options``, e.g. its shards) connected."""
    fake = FakeDiscord(default_guilds() if guilds is None else guilds)
    await fake.start()
    monkeypatch.setattr(discord.http.Route, "BASE", fake.api_base)
    monkeypatch.setattr(DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake.gateway_url))
    outlets = Outlets(demo_now(datetime.now(UTC)))
    base = await outlets.start()
    config = demo_config(load_config(ROOT / "config.toml"), base, tmp_path / "data")
    store = await spec.open() if spec is not None else await TinyStore.open(config.data_dir)
    session = make_session(config.fetch)
    fetcher = Fetcher(session, config.fetch)
    poller = Poller(config, store, fetcher, InlineExtraction(Extractor(config.actors, config.places)))
    for phase in range(1, polls + 1):
        outlets.phase = phase
        await store.commit(Batch(sources=tuple(replace(s, next_due=None) for s in store.all_sources())))
        await poller.run_cycle()
    try:
        async with running_bot(fake, config, store, fetcher, **bot_options) as bot:
            yield World(fake, bot, store, config, poller, outlets)
    finally:
        await session.close()
        await store.close()
        await outlets.stop()
        await fake.stop()
