"""What a test configures (guilds, channels, members) and what the fake records (interactions)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

APP_ID = 900000000000000001
BOT_ID = 900000000000000002
OWNER_ID = 1  # the application's owner and, by default, every guild's owner

# Permission bits (https://discord.com/developers/docs/topics/permissions).
VIEW_CHANNEL = 0x400
SEND_MESSAGES = 0x800
EMBED_LINKS = 0x4000
ATTACH_FILES = 0x8000
CREATE_PUBLIC_THREADS = 1 << 35
READ_MESSAGE_HISTORY = 0x10000
USE_APPLICATION_COMMANDS = 0x80000000
SEND_MESSAGES_IN_THREADS = 1 << 38
MANAGE_GUILD = 0x20
ADMINISTRATOR = 0x8
ALL_PERMISSIONS = (1 << 50) - 1
MEMBER_PERMISSIONS = VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | READ_MESSAGE_HISTORY | USE_APPLICATION_COMMANDS
ADMIN_PERMISSIONS = MEMBER_PERMISSIONS | MANAGE_GUILD
# What the invite asks for (bot/client/_bot.py PERMISSIONS), plus reading history.
BOT_PERMISSIONS = (VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | ATTACH_FILES | CREATE_PUBLIC_THREADS |
                   SEND_MESSAGES_IN_THREADS | READ_MESSAGE_HISTORY)


TEXT, PUBLIC_THREAD, FORUM = 0, 11, 15  # channel types


@dataclass
class FakeChannel:
    """A guild text channel, or a forum channel with ``kind=FORUM`` (15: posts are threads, made with
    POST /channels/{id}/threads and a first message; messages straight into the forum are refused).
    ``forbidden``: the bot may not post (403 Missing Permissions, and an overwrite denying Send Messages to
    the bot, so ``channel.permissions_for(guild.me)`` agrees); its threads are forbidden too. ``missing``:
    the channel was deleted (404 Unknown Channel for GET and POST)."""

    id: int
    name: str = "general"
    forbidden: bool = False
    missing: bool = False
    kind: int = TEXT


@dataclass
class FakeMember:
    """A guild member. ``permissions`` is what interactions from this user carry as ``member.permissions``
    (Discord computes it from roles and channel overwrites; the fake takes it as given)."""

    id: int
    permissions: int = MEMBER_PERMISSIONS
    name: str = ""

    @property
    def username(self) -> str:
        return self.name or f"user{self.id}"


@dataclass
class FakeGuild:
    id: int
    name: str = "Test guild"
    channels: list[FakeChannel] = field(default_factory=lambda: [])
    owner_id: int = OWNER_ID
    members: list[FakeMember] = field(default_factory=lambda: [])
    bot_permissions: int = BOT_PERMISSIONS  # the bot's role; ``app_permissions`` of interactions follow it
    attachment_size_limit: int = 8 * 1024 * 1024  # bytes per file; boosted guilds allow more

    def channel(self, channel_id: int) -> FakeChannel | None:
        return next((c for c in self.channels if c.id == channel_id), None)

    def member(self, user_id: int) -> FakeMember | None:
        return next((m for m in self.members if m.id == user_id), None)

    def permissions_of(self, user_id: int) -> int:
        """What ``member.permissions`` says for this user: the owner has all, a configured member its own,
        anyone else an ordinary member's."""
        if user_id == self.owner_id:
            return ALL_PERMISSIONS
        member = self.member(user_id)
        return member.permissions if member else MEMBER_PERMISSIONS


@dataclass
class Interaction:
    """What happened to one dispatched interaction: the initial callback, then edits of the original
    response, follow-ups, and whether the original was deleted. ``content``/``embeds``/``components`` read
    the message the user ends up seeing (see ``final``)."""

    id: int
    token: str
    kind: int  # 2 application command, 3 component, 4 autocomplete, 5 modal submit
    payload: dict[str, Any]  # the INTERACTION_CREATE data the bot received
    dispatched_at: float
    callback: dict[str, Any] | None = None  # the callback request body: {"type": ..., "data": ...}
    callback_at: float | None = None
    message: dict[str, Any] | None = None  # the message the response created or updated, as Discord stores it
    edits: list[dict[str, Any]] = field(default_factory=lambda: [])
    followups: list[dict[str, Any]] = field(default_factory=lambda: [])
    deleted: bool = False
    answered: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def callback_type(self) -> int | None:
        """4 message, 5 deferred (thinking), 6 deferred update, 7 update message, 8 autocomplete, 9 modal."""
        return self.callback["type"] if self.callback else None

    @property
    def data(self) -> dict[str, Any]:
        """The callback's ``data``: content, embeds, components, flags, allowed_mentions, choices, ..."""
        return (self.callback or {}).get("data") or {}

    @property
    def ack_ms(self) -> float:
        """Milliseconds from dispatching the event to the bot's initial callback."""
        assert self.callback_at is not None, "the interaction has no response yet"
        return (self.callback_at - self.dispatched_at) * 1000

    @property
    def flags(self) -> int:
        return int(self.data.get("flags") or 0)

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & 64)

    @property
    def deferred(self) -> bool:
        return self.callback_type in (5, 6)

    @property
    def final(self) -> dict[str, Any]:
        """The message the user ends up seeing: the last edit, else the first follow-up, else the reply."""
        if self.edits:
            return self.edits[-1]
        if self.followups:
            return self.followups[0]
        return self.data

    @property
    def content(self) -> str:
        return str(self.final.get("content") or "")

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return list(self.final.get("embeds") or [])

    @property
    def components(self) -> list[dict[str, Any]]:
        return list(self.final.get("components") or [])

    @property
    def allowed_mentions(self) -> dict[str, Any] | None:
        return self.final.get("allowed_mentions")

    @property
    def choices(self) -> list[dict[str, Any]]:
        """An autocomplete result's choices ({"name", "value"})."""
        return list(self.data.get("choices") or [])

    @property
    def custom_ids(self) -> list[str]:
        """Every component custom_id on the final message, in order (buttons, selects)."""
        found: list[str] = []

        def walk(items: list[dict[str, Any]]) -> None:
            for item in items:
                if "custom_id" in item:
                    found.append(item["custom_id"])
                walk(item.get("components") or [])

        walk(self.components)
        return found

    @property
    def text(self) -> str:
        """Content and every embed's title, description, fields and footer, as one string for assertions."""
        message = self.final
        parts = [message.get("content") or ""]
        for embed in message.get("embeds") or []:
            parts += [embed.get("title", ""), embed.get("description", "")]
            for embed_field in embed.get("fields") or []:
                parts += [embed_field.get("name", ""), embed_field.get("value", "")]
            parts.append((embed.get("footer") or {}).get("text", ""))
        return "\n".join(parts)
