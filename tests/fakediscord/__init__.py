"""A fake Discord for the tests: the real discord.py client logs into it on 127.0.0.1. See server.py."""

from tests.fakediscord.server import (
    ALL_PERMISSIONS,
    APP_ID,
    BOT_ID,
    MANAGE_GUILD,
    MEMBER_PERMISSIONS,
    FakeChannel,
    FakeDiscord,
    FakeGuild,
    Interaction,
)

__all__ = ["ALL_PERMISSIONS", "APP_ID", "BOT_ID", "MANAGE_GUILD", "MEMBER_PERMISSIONS", "FakeChannel", "FakeDiscord",
           "FakeGuild", "Interaction"]
