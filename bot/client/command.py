"""`python -m bot run`: the composition root for the Discord bot.

It builds config → store → HTTP session → fetcher → extractor → poller → briefing → scheduler → bot, passes
them in, and closes them in reverse order. The token comes from DISCORD_TOKEN only and never reaches a log.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from datetime import UTC

from bot.config import Config, discord_token
from bot.errors import ConfigError

log = logging.getLogger(__name__)


class RedactToken(logging.Filter):
    """Belt and braces: whatever a library logs, the token is replaced before it is written."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.token in message:
            record.msg, record.args = message.replace(self.token, "[redacted]"), None
        return True


def install_redaction(token: str) -> None:
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactToken(token))


def run_bot(args: argparse.Namespace, config: Config) -> int:
    token = discord_token()
    if token is None:
        raise ConfigError("DISCORD_TOKEN", "is not set. Create a bot token in the Discord developer portal and "
                                           "run: DISCORD_TOKEN=... python -m bot run (see README)")
    install_redaction(token)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(config, token))
    return 0


async def serve(config: Config, token: str) -> None:
    import discord
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from bot.briefing import Briefing
    from bot.client import SitrepBot, invite_url
    from bot.extract import Extractor
    from bot.sources import Fetcher, Poller, make_session
    from storage import open_store

    store = await open_store(config)
    session = make_session(config.fetch)
    fetcher = Fetcher(session, config.fetch)
    briefing = Briefing(store, config)
    poller = Poller(config, store, fetcher, Extractor(config.actors, config.places))
    bot = SitrepBot(config=config, store=store, briefing=briefing, poller=poller, fetcher=fetcher,
                    scheduler=AsyncIOScheduler(timezone=UTC))
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError):
        loop.add_signal_handler(signal.SIGTERM, lambda: asyncio.ensure_future(bot.close()))
    try:
        async with bot:
            try:
                await bot.login(token)
            except discord.LoginFailure:
                raise ConfigError("DISCORD_TOKEN", "was rejected by Discord; check the token in the developer "
                                                   "portal (Bot → Reset Token)") from None
            if bot.application_id:
                print(f"Invite Sitrep to a server: {invite_url(bot.application_id)}", flush=True)
            await bot.connect()
    finally:
        await session.close()
        await store.close()
        log.info("stopped cleanly")
