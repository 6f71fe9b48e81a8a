"""A world for end-to-end tests: the demo's sample outlets on loopback, polled into a real store by the real
Poller; the real SitrepBot logged into a fake Discord with two guilds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
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
from storage import Batch, Store
from tests.fakediscord import FakeChannel, FakeDiscord, FakeGuild

ROOT = Path(__file__).resolve().parents[2]
GUILD_A, GUILD_B = 111, 222
CHANNEL_A, CHANNEL_GONE, CHANNEL_B, CHANNEL_A2 = 1101, 1102, 2201, 1103
ADMIN, MEMBER, OTHER = 501, 502, 503


@dataclass
class World:
    fake: FakeDiscord
    bot: SitrepBot
    store: Store
    config: Config
    poller: Poller
    outlets: DemoServer


@pytest.fixture
async def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[World]:
    fake = FakeDiscord([
        FakeGuild(GUILD_A, "Watchers", [FakeChannel(CHANNEL_A, "digest"), FakeChannel(CHANNEL_GONE, "old",
                                                                                      forbidden=True),
                                        FakeChannel(CHANNEL_A2, "sudan-news")]),
        FakeGuild(GUILD_B, "Researchers", [FakeChannel(CHANNEL_B, "news")]),
    ])
    await fake.start()
    monkeypatch.setattr(discord.http.Route, "BASE", fake.api_base)
    monkeypatch.setattr(DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake.gateway_url))
    outlets = DemoServer(demo_now(datetime.now(UTC)))
    base = await outlets.start()
    config = demo_config(load_config(ROOT / "config.toml"), base, tmp_path / "data")
    store = await Store.open(config.data_dir)
    session = make_session(config.fetch)
    fetcher = Fetcher(session, config.fetch)
    poller = Poller(config, store, fetcher, Extractor(config.actors, config.places))
    await poller.run_cycle()
    outlets.phase = 2
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
