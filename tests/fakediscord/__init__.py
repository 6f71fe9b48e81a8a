"""A fake Discord for the tests: the real discord.py client logs into it on 127.0.0.1. See README.md."""

from tests.fakediscord._model import (
    ADMIN_PERMISSIONS,
    ADMINISTRATOR,
    ALL_PERMISSIONS,
    APP_ID,
    BOT_ID,
    BOT_PERMISSIONS,
    FORUM,
    MANAGE_GUILD,
    MEMBER_PERMISSIONS,
    OWNER_ID,
    SEND_MESSAGES,
    FakeChannel,
    FakeGuild,
    FakeMember,
    Interaction,
)
from tests.fakediscord.fixtures import connected
from tests.fakediscord.server import FakeDiscord

__all__ = ["ADMINISTRATOR", "ADMIN_PERMISSIONS", "ALL_PERMISSIONS", "APP_ID", "BOT_ID", "BOT_PERMISSIONS", "FORUM",
           "MANAGE_GUILD", "MEMBER_PERMISSIONS", "OWNER_ID", "SEND_MESSAGES", "FakeChannel", "FakeDiscord", "FakeGuild",
           "FakeMember", "Interaction", "connected"]
