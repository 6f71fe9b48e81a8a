"""pytest glue: a ``fake_discord`` fixture and ``connected(fake, bot)``, which runs a real bot against it.

Use the fixture by importing it into a test module or a conftest.py::

    from tests.fakediscord.fixtures import fake_discord  # noqa: F401  (a pytest fixture)

It serves one guild (``GUILD_ID``) with one channel (``CHANNEL_ID``), an admin (``ADMIN_ID``, Manage Server)
and a member (``MEMBER_ID``), and is installed into discord.py for the test. For other guilds, build your
own ``FakeDiscord`` the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import discord
import pytest

from tests.fakediscord._model import ADMIN_PERMISSIONS, FakeChannel, FakeGuild, FakeMember
from tests.fakediscord.server import FakeDiscord

GUILD_ID, CHANNEL_ID, ADMIN_ID, MEMBER_ID = 4100, 4101, 4201, 4202


@pytest.fixture
async def fake_discord(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    guild = FakeGuild(GUILD_ID, "Fixture guild", [FakeChannel(CHANNEL_ID, "general")],
                      members=[FakeMember(ADMIN_ID, ADMIN_PERMISSIONS, "admin"), FakeMember(MEMBER_ID, name="member")])
    async with FakeDiscord([guild]) as fake:
        fake.install(monkeypatch)
        yield fake
        assert fake.errors == [], "the fake failed on requests it should understand"


@contextlib.asynccontextmanager
async def connected(fake: FakeDiscord, bot: discord.Client, *, token: str = "fake-token", synced: bool = True,
                    timeout: float = 10) -> AsyncIterator[discord.Client]:
    """Log ``bot`` in, connect it to the gateway, and wait until it received every guild (and, if
    ``synced``, synced its commands); close it cleanly afterwards (no unclosed session, no pending task).

    Tip: build the bot with ``guild_ready_timeout=0.05`` if the test waits for ``on_ready``: discord.py
    fires it only that long after the last GUILD_CREATE (default 2 s).
    """
    await bot.login(token)
    task = asyncio.create_task(bot.connect(reconnect=False))
    try:
        waits = [fake.wait_ready(timeout), *([fake.wait_synced(timeout)] if synced else [])]
        ready: asyncio.Future[list[None]] = asyncio.ensure_future(asyncio.gather(*waits))
        done, _ = await asyncio.wait([task, ready], return_when=asyncio.FIRST_COMPLETED)  # type: ignore[type-var]
        if ready not in done:  # the connection ended before the bot was ready: say why
            ready.cancel()
            await asyncio.gather(ready, return_exceptions=True)
            task.result()
            raise AssertionError("the bot disconnected before it was ready")
        ready.result()
        yield bot
    finally:
        await bot.close()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
