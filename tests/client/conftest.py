"""A world for end-to-end tests: the demo's sample outlets on loopback, polled into a real store by the real
Poller; the real SitrepBot logged into a fake Discord with two guilds."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import discord
import pytest
import yarl
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from discord.gateway import DiscordWebSocket

from bot.briefing import Briefing
from bot.client import SitrepBot
from bot.config import Config, load_config
from bot.demo import DemoServer, demo_config, demo_now
from bot.extract import Extractor
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


@contextlib.asynccontextmanager
async def open_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, polls: int,
                     spec: StoreSpec | None = None) -> AsyncIterator[World]:
    fake = FakeDiscord([
        FakeGuild(GUILD_A, "Watchers", [FakeChannel(CHANNEL_A, "digest"), FakeChannel(CHANNEL_GONE, "old",
                                                                                      forbidden=True),
                                        FakeChannel(CHANNEL_FORUM, "incidents", kind=FORUM),
                                        FakeChannel(CHANNEL_A2, "sudan-news")]),
        FakeGuild(GUILD_B, "Researchers", [FakeChannel(CHANNEL_B, "news")]),
    ])
    await fake.start()
    monkeypatch.setattr(discord.http.Route, "BASE", fake.api_base)
    monkeypatch.setattr(DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake.gateway_url))
    outlets = Outlets(demo_now(datetime.now(UTC)))
    base = await outlets.start()
    config = demo_config(load_config(ROOT / "config.toml"), base, tmp_path / "data")
    store = await spec.open() if spec is not None else await TinyStore.open(config.data_dir)
    session = make_session(config.fetch)
    fetcher = Fetcher(session, config.fetch)
    poller = Poller(config, store, fetcher, Extractor(config.actors, config.places))
    for phase in range(1, polls + 1):
        outlets.phase = phase
        await store.commit(Batch(sources=tuple(replace(s, next_due=None) for s in store.all_sources())))
        await poller.run_cycle()
    scheduler = AsyncIOScheduler(timezone=UTC)
    bot = SitrepBot(config=config, store=store, briefing=Briefing(store, config), poller=None, fetcher=fetcher,
                    scheduler=scheduler, guild_ready_timeout=0.05)
    await bot.login("fake-token")
    task = asyncio.create_task(bot.connect(reconnect=False))
    await fake.wait_ready()
    await fake.wait_for(lambda: bool(fake.commands))
    await asyncio.wait_for(bot.wait_until_ready(), 10)
    try:
        yield World(fake, bot, store, config, poller, outlets)
    finally:
        await bot.close()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await session.close()
        await store.close()
        await outlets.stop()
        await fake.stop()
