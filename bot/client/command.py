"""`python -m bot run`: the composition root for the Discord bot.

It builds config → store → HTTP session → fetcher → extractor → poller → briefing → scheduler → bot, passes
them in, and closes them in reverse order. The token comes from DISCORD_TOKEN only and never reaches a log.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Mapping
from datetime import UTC
from typing import TYPE_CHECKING, Any

from bot.config import Config, discord_token
from bot.errors import ConfigError

if TYPE_CHECKING:
    from bot.client import SitrepBot

log = logging.getLogger(__name__)
SWITCH_INTERVAL = 0.001  # s: how long a thread may hold the GIL while another waits for it (Python's default 0.005)


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


def shard_options(args: argparse.Namespace, environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """``shard_ids``/``shard_count`` for the bot from --shard-ids/--shard-count, else SITREP_SHARD_IDS/
    SITREP_SHARD_COUNT (a flag wins over its variable). Nothing given: {} (Discord's count, every shard here).
    A count alone runs all of its shards; ids need a count. A bad value is a ConfigError naming its source."""
    ids_key, ids_text = _option(getattr(args, "shard_ids", None), "--shard-ids", "SITREP_SHARD_IDS", environ)
    count_key, count_text = _option(getattr(args, "shard_count", None), "--shard-count", "SITREP_SHARD_COUNT",
                                    environ)
    options: dict[str, Any] = {}
    if count_text is not None:
        try:
            count = int(count_text)
        except ValueError:
            raise ConfigError(count_key, f"{count_text!r} is not a whole number of shards") from None
        if count < 1:
            raise ConfigError(count_key, f"must be at least 1, not {count}")
        options["shard_count"] = count
    if ids_text is not None:
        if count_text is None:
            raise ConfigError(ids_key, "needs the total number of shards too: add --shard-count N "
                                       "(or SITREP_SHARD_COUNT)")
        ids = []
        for part in ids_text.split(","):
            try:
                shard = int(part.strip())
            except ValueError:
                raise ConfigError(ids_key, f"{ids_text!r} is not a comma-separated list of shard ids, "
                                           "such as 0,1") from None
            if not 0 <= shard < options["shard_count"]:
                raise ConfigError(ids_key, f"shard {shard} does not exist: with {options['shard_count']} shards "
                                           f"the ids run from 0 to {options['shard_count'] - 1}")
            if shard in ids:
                raise ConfigError(ids_key, f"shard {shard} is listed twice")
            ids.append(shard)
        options["shard_ids"] = ids
    return options


def _option(flag: str | None, flag_name: str, variable: str, environ: Mapping[str, str]) -> tuple[str, str | None]:
    """Where a value comes from and the value: the flag, else the environment variable (blank counts as unset)."""
    if flag is not None:
        return flag_name, flag
    value = environ.get(variable, "").strip()
    return variable, value or None


def run_bot(args: argparse.Namespace, config: Config) -> int:
    shards = shard_options(args)
    token = discord_token()
    if token is None:
        raise ConfigError("DISCORD_TOKEN", "is not set. Create a bot token in the Discord developer portal and "
                                           "run: DISCORD_TOKEN=... python -m bot run (see README)")
    install_redaction(token)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(config, token, shards))
    return 0


def _lease(config: Config) -> Any:
    """With a shared PostgreSQL store, any number of processes run: one of them, the holder of this lease,
    polls, sends alerts and posts digests. With TinyDB there is one process (the store's writer lock), and no
    lease."""
    if config.storage.driver != "postgres":
        return None
    from bot.client._leader import Lease
    from bot.config import database_url

    return Lease(database_url() or "", f"sitrep-leader:{config.storage.schema}", schema=config.storage.schema)


@contextlib.asynccontextmanager
async def composed(config: Config, shards: Mapping[str, Any] | None = None) -> AsyncIterator[SitrepBot]:
    """The bot as ``run`` builds it (store, session, extraction worker, fetcher, briefing, lease, poller,
    scheduler), not logged in; the session, the store and the worker are closed on the way out.
    ``bench/commands.py`` measures exactly this."""
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from bot.briefing import Briefing
    from bot.client import SitrepBot
    from bot.extract import ExtractionWorker
    from bot.sources import Fetcher, Poller, make_session
    from storage import open_store

    # The event loop takes the GIL back after every socket wait. With answers built in worker threads and a
    # commit encoding in another, Python's default switch interval (5 ms) let each of those waits cost up to
    # 5 ms more: a deferral's few round trips then took 50-100 ms. At 1 ms, bench/commands.py at a million
    # facts: ack p99 58 ms and max 68-73 ms, against 69-74 and 79-158 ms (two runs each, a poll committing).
    sys.setswitchinterval(SWITCH_INTERVAL)
    store = await open_store(config)
    session = make_session(config.fetch)
    extraction = ExtractionWorker(config.actors, config.places)
    try:
        await extraction.warm()  # the English pipeline loaded and checked before Discord sees the bot
        fetcher = Fetcher(session, config.fetch)
        briefing = Briefing(store, config)
        lease = _lease(config)
        poller = Poller(config, store, fetcher, extraction, **({"fence": lease.fence} if lease is not None else {}))
        yield SitrepBot(config=config, store=store, briefing=briefing, poller=poller, fetcher=fetcher,
                        scheduler=AsyncIOScheduler(timezone=UTC), lease=lease, **(shards or {}))
    finally:
        await session.close()
        await store.close()
        extraction.close()


async def serve(config: Config, token: str, shards: Mapping[str, Any] | None = None) -> None:
    import discord

    from bot.client import invite_url

    async with composed(config, shards) as bot:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signal.SIGTERM, lambda: asyncio.ensure_future(bot.close()))
        async with bot:  # setup_hook (the cogs, the store's warm-up, the command sync) runs in login
            try:
                await bot.login(token)
            except discord.LoginFailure:
                raise ConfigError("DISCORD_TOKEN", "was rejected by Discord; check the token in the developer "
                                                   "portal (Bot → Reset Token)") from None
            if bot.application_id:
                print(f"Invite Sitrep to a server: {invite_url(bot.application_id)}", flush=True)
            await bot.connect()
    log.info("stopped cleanly")
