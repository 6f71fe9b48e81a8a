"""Loopback feed servers and a poller wired to a real store, for the sources tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.config import Config, FetchConfig, SourceConfig, parse_config
from bot.extract import Extractor, InlineExtraction
from bot.sources import Fetcher, Poller, make_session
from storage import Store, TinyStore

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Server:
    url: str
    hits: list[str] = field(default_factory=list)


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., Awaitable[Server]]]:
    """serve({"/path": handler}, host="127.0.0.1") → a running loopback server that counts its hits."""
    runners: list[web.AppRunner] = []

    async def start(routes: dict[str, Handler], host: str = "127.0.0.1") -> Server:
        app = web.Application()
        server = Server("")

        @web.middleware
        async def count(request: web.Request, handler: Handler) -> web.StreamResponse:
            server.hits.append(request.path_qs)
            return await handler(request)

        app.middlewares.append(count)
        for path, handler in routes.items():
            app.router.add_get(path, handler)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, host, 0).start()
        runners.append(runner)
        server.url = f"http://{host}:{runner.addresses[0][1]}"
        return server

    yield start
    for runner in runners:
        await runner.cleanup()


def rss(items: list[tuple[str, str, str]], title: str = "Test feed") -> str:
    """items: (link, title, description)"""
    body = "".join(f"<item><title>{t}</title><link>{link}</link><guid>{link}</guid>"
                   f"<pubDate>Sun, 12 Oct 2025 08:00:00 +0000</pubDate><description>{d}</description></item>"
                   for link, t, d in items)
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>{body}</channel></rss>'


def feed_handler(text: str, content_type: str = "application/rss+xml") -> Handler:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(text=text, content_type=content_type)
    return handler


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime(2025, 10, 12, 9, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


@pytest.fixture
async def make_poller(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[tuple[Poller, Store, Clock]]]]:
    sessions = []
    stores = []

    async def build(sources: list[tuple[str, str]], *, timeout: str = "2s", max_bytes: int = 1024 * 1024,
                    pause_after: int = 3, allow: tuple[str, ...] = ("127.0.0.1",), full_text: bool = False,
                    topics: list[dict[str, Any]] | None = None) -> tuple[Poller, Store, Clock]:
        raw = {"bot": {"data_dir": str(tmp_path / f"data{len(stores)}")},
               "fetch": {"allow_private": list(allow), "timeout": timeout, "max_bytes": max_bytes,
                         "pause_after": pause_after},
               "topics": topics or [{"id": "pak-afg", "keywords": ["Pakistan", "Afghanistan", "Taliban"]}]}
        config: Config = parse_config(raw)
        config = replace(config, sources=tuple(SourceConfig(id=f"s{i}", name=name, url=url, full_text=full_text)
                                               for i, (name, url) in enumerate(sources)))
        store = await TinyStore.open(config.data_dir)
        session = make_session(config.fetch)
        sessions.append(session)
        stores.append(store)
        clock = Clock()
        poller = Poller(config, store, Fetcher(session, config.fetch), InlineExtraction(Extractor()), clock=clock)
        return poller, store, clock

    yield build
    for session in sessions:
        await session.close()
    for store in stores:
        await store.close()


def fetcher_for(session: Any, **kw: Any) -> Fetcher:
    return Fetcher(session, FetchConfig(**kw))


__all__ = ["Clock", "Server", "asyncio", "feed_handler", "fetcher_for", "rss"]
