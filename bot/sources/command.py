"""`python -m bot poll [--once]`: poll the configured sources into the store, without Discord."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging

from bot.config import Config
from bot.extract import ExtractionWorker
from bot.sources import Fetcher, Poller, make_session

log = logging.getLogger(__name__)


def run_poll(args: argparse.Namespace, config: Config) -> int:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_poll(config, once=args.once))
    return 0


async def _poll(config: Config, *, once: bool) -> None:
    from storage import open_store

    store = await open_store(config)
    session = make_session(config.fetch)
    extraction = ExtractionWorker(config.actors, config.places)
    try:
        poller = Poller(config, store, Fetcher(session, config.fetch), extraction)
        if not config.sources and not store.all_sources():
            print("no sources configured: add [[sources]] to the config file")
            return
        while True:
            print(await poller.run_cycle(), flush=True)
            if once:
                return
            await asyncio.sleep(config.poll_interval.total_seconds())
    finally:
        await session.close()
        await store.close()
        extraction.close()
