"""`python -m bot demo`: the embedded default. No token, no internet.

Serves the bundled sample sources (bot/demo_data/: articles written for the demo) on 127.0.0.1 as an RSS
feed with full article pages and an Atom feed with summaries, polls them twice into a data directory and
prints the answers. The first poll stores the backlog without announcing it; the second finds two new
articles, and the digest shows only those: what a guild would be posted.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import tempfile
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from aiohttp import web

from bot.config import Config, FetchConfig, SourceConfig

DATA = Path(__file__).with_name("demo_data")
# (file, outlet feed, hours before now, served from the first poll on?)
ARTICLES = [
    ("kurram-clashes", "frontier", 40, True),
    ("el-fasher-drone", "frontier", 30, True),
    ("wire-kurram-brief", "monitor", 38, True),
    ("kurram-toll-rises", "frontier", 6, False),
    ("wire-taliban-deny", "monitor", 5, False),
]


class DemoServer:
    """The sample outlets: /frontier.xml (RSS 2.0, full pages under /a/), /monitor.atom (Atom, summaries)."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.phase = 1
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/frontier.xml", self._rss)
        app.router.add_get("/monitor.atom", self._atom)
        app.router.add_get("/a/{name}", self._page)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    def _items(self, outlet: str) -> list[tuple[str, str, list[str], datetime]]:
        out = []
        for name, feed, hours, first in ARTICLES:
            if feed != outlet or (not first and self.phase == 1):
                continue
            title, *paragraphs = (DATA / f"{name}.txt").read_text(encoding="utf-8").strip().splitlines()
            out.append((name, title, [p for p in paragraphs if p.strip()], self.now - timedelta(hours=hours)))
        return out

    async def _rss(self, request: web.Request) -> web.Response:
        items = "".join(
            f"<item><title>{html.escape(title)}</title><link>{self.url}/a/{name}?utm_source=rss</link>"
            f"<guid isPermaLink=\"false\">frontier-{name}</guid><pubDate>{format_datetime(when)}</pubDate>"
            f"<description>{html.escape(paragraphs[0])}</description></item>"
            for name, title, paragraphs, when in self._items("frontier"))
        body = (f"<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>Frontier Wire"
                f"</title><link>{self.url}/</link><description>Sample outlet</description>{items}</channel></rss>")
        return web.Response(text=body, content_type="application/rss+xml")

    async def _atom(self, request: web.Request) -> web.Response:
        entries = "".join(
            f"<entry><title>{html.escape(title)}</title><link href=\"{self.url}/a/{name}\"/>"
            f"<id>urn:monitor:{name}</id><updated>{when.isoformat()}</updated>"
            f"<summary>{html.escape(' '.join(paragraphs))}</summary></entry>"
            for name, title, paragraphs, when in self._items("monitor"))
        body = (f"<?xml version=\"1.0\" encoding=\"utf-8\"?><feed xmlns=\"http://www.w3.org/2005/Atom\">"
                f"<title>Border Monitor</title><id>urn:monitor</id><updated>{self.now.isoformat()}</updated>"
                f"{entries}</feed>")
        return web.Response(text=body, content_type="application/atom+xml")

    async def _page(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if not (DATA / f"{name}.txt").is_file():
            raise web.HTTPNotFound()
        title, *paragraphs = (DATA / f"{name}.txt").read_text(encoding="utf-8").strip().splitlines()
        body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs if p.strip())
        page = (f"<html><head><title>{html.escape(title)}</title></head><body>"
                f"<nav><a href='/'>Home</a> <a href='/world'>World</a> <a href='/subscribe'>Subscribe</a></nav>"
                f"<article><h1>{html.escape(title)}</h1>{body}<div class='ad'>Advertisement</div></article>"
                f"<footer>Share this article · Sign up for our newsletter</footer></body></html>")
        return web.Response(text=page, content_type="text/html")


def demo_config(config: Config, base_url: str, data_dir: Path) -> Config:
    return replace(
        config,
        data_dir=data_dir,
        sources=(
            SourceConfig(id="frontier-wire", name="Frontier Wire", url=f"{base_url}/frontier.xml", full_text=True),
            SourceConfig(id="border-monitor", name="Border Monitor", url=f"{base_url}/monitor.atom"),
        ),
        fetch=replace(config.fetch if config else FetchConfig(), allow_private=("127.0.0.1",)),
    )


def run_demo(args: argparse.Namespace, config: Config) -> int:
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="sitrep-demo-"))
    asyncio.run(_demo(config, data_dir))
    return 0


async def _demo(config: Config, data_dir: Path) -> None:
    from bot.briefing import Briefing, render_text
    from bot.extract import ExtractionWorker
    from bot.sources import Fetcher, Poller, make_session
    from storage import Batch, TinyStore

    server = DemoServer(demo_now(datetime.now(UTC)))
    base = await server.start()
    config = demo_config(config, base, data_dir)
    print(f"Serving the sample sources on {base} (Frontier Wire: RSS + article pages; Border Monitor: Atom)")
    print(f"Data directory: {data_dir}\n")
    store = await TinyStore.open(data_dir, hot_weeks=config.storage.hot_weeks)
    session = make_session(config.fetch)
    extraction = ExtractionWorker(config.actors, config.places)
    try:
        poller = Poller(config, store, Fetcher(session, config.fetch), extraction)
        print("First poll (a new source's backlog is stored, not announced):")
        print(f"  {await poller.run_cycle()}")
        server.phase = 2
        for source in store.all_sources():  # the demo does not wait for the poll interval
            await store.commit(Batch(sources=(replace(source, next_due=None),)))
        print("Second poll (two new articles have appeared):")
        print(f"  {await poller.run_cycle()}\n")
        briefing = Briefing(store, config)
        for answer in (briefing.casualties("pak-afg"), briefing.territory("pak-afg"), briefing.incidents("pak-afg"),
                       briefing.timeline("pak-afg"), briefing.brief("sudan"), briefing.digest(None),
                       briefing.sources()):
            print(render_text(answer), end="\n\n")
    finally:
        await session.close()
        await store.close()
        await server.stop()
        extraction.close()
    python = _python()
    print("The store is kept. Ask it again, for example:")
    print(f"  {python} -m bot --data-dir {data_dir} ask casualties --topic pak-afg")
    print(f"  {python} -m bot --data-dir {data_dir} ask timeline --topic pak-afg")
    print(f"  {python} -m bot --data-dir {data_dir} ask incident <incident id shown above>")
    print(f"  {python} -m bot --data-dir {data_dir} ask fact <id shown in brackets>")


def demo_now(now: datetime) -> datetime:
    """The demo's "now": the latest Tuesday noon (UTC), so that the sample articles' weekdays ("Saturday's
    fighting", "on Monday") name the same days whatever day the demo runs."""
    noon = now.replace(hour=12, minute=0, second=0, microsecond=0)
    back = (noon.weekday() - 1) % 7
    anchor = noon - timedelta(days=back)
    return anchor if anchor <= now else anchor - timedelta(days=7)


def _python() -> str:
    """The interpreter to type: the project's .venv one when the demo runs from it (as `make demo` does)."""
    import os
    import sys

    relative = os.path.relpath(sys.executable)
    return relative if not relative.startswith("..") else "python"
