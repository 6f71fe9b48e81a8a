"""Discord JSON, as the API documents it and discord.py 2.7 parses it. Pure functions, no state."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.fakediscord._model import (
    ALL_PERMISSIONS,
    APP_ID,
    BOT_ID,
    FORUM,
    MEMBER_PERMISSIONS,
    OWNER_ID,
    PUBLIC_THREAD,
    SEND_MESSAGES,
    FakeChannel,
    FakeGuild,
)

JOINED = "2025-01-01T00:00:00+00:00"


def user(user_id: int, name: str, bot: bool = False) -> dict[str, Any]:
    return {"id": str(user_id), "username": name, "global_name": name, "discriminator": "0", "avatar": None,
            "bot": bot, "public_flags": 0}


def bot_user() -> dict[str, Any]:
    return user(BOT_ID, "Sitrep", bot=True)


def application() -> dict[str, Any]:
    return {"id": str(APP_ID), "name": "Sitrep", "description": "", "icon": None, "bot_public": True,
            "bot_require_code_grant": False, "verify_key": "0" * 64, "flags": 0, "summary": "",
            "owner": user(OWNER_ID, "owner"), "team": None, "bot": bot_user()}


def bot_role_id(guild: FakeGuild) -> int:
    return guild.id + 1  # a snowflake no test picks by accident; @everyone's id is the guild's


def channel(guild: FakeGuild, chan: FakeChannel, position: int = 0) -> dict[str, Any]:
    overwrites = []
    if chan.forbidden:  # deny Send Messages to the bot's role, so discord.py's own permission math agrees
        overwrites.append({"id": str(bot_role_id(guild)), "type": 0, "allow": "0", "deny": str(SEND_MESSAGES)})
    payload = {"id": str(chan.id), "type": chan.kind, "name": chan.name, "position": position,
               "guild_id": str(guild.id), "permission_overwrites": overwrites, "nsfw": False, "parent_id": None,
               "topic": None, "last_message_id": None, "rate_limit_per_user": 0, "flags": 0}
    if chan.kind == FORUM:
        payload.update(available_tags=[], default_reaction_emoji=None, default_sort_order=None,
                       default_forum_layout=0, default_thread_rate_limit_per_user=0,
                       default_auto_archive_duration=1440)
    return payload


def thread(thread_id: int, guild: FakeGuild, parent: FakeChannel, name: str,
           auto_archive_duration: int = 1440) -> dict[str, Any]:
    """A public thread: under a channel message (same id as the message) or a forum post."""
    now = datetime.now(UTC).isoformat()
    return {"id": str(thread_id), "type": PUBLIC_THREAD, "guild_id": str(guild.id), "parent_id": str(parent.id),
            "name": name, "owner_id": str(BOT_ID), "last_message_id": None, "rate_limit_per_user": 0,
            "message_count": 0, "member_count": 1, "total_message_sent": 0, "flags": 0, "applied_tags": [],
            "thread_metadata": {"archived": False, "auto_archive_duration": auto_archive_duration,
                                "archive_timestamp": now, "locked": False, "create_timestamp": now}}


def member(user_payload: dict[str, Any], roles: list[int] | None = None) -> dict[str, Any]:
    return {"user": user_payload, "roles": [str(r) for r in roles or []], "joined_at": JOINED, "deaf": False,
            "mute": False, "flags": 0, "nick": None, "avatar": None, "pending": False}


def guild(g: FakeGuild) -> dict[str, Any]:
    """GUILD_CREATE: the guild, its roles (@everyone and the bot's), channels, and the members the gateway
    would send without the members intent (the bot itself; configured members too, so lookups work)."""
    roles = [
        {"id": str(g.id), "name": "@everyone", "permissions": str(MEMBER_PERMISSIONS), "position": 0, "color": 0,
         "hoist": False, "managed": False, "mentionable": False, "flags": 0},
        {"id": str(bot_role_id(g)), "name": "Sitrep", "permissions": str(g.bot_permissions), "position": 1,
         "color": 0, "hoist": False, "managed": True, "mentionable": False, "flags": 0,
         "tags": {"bot_id": str(BOT_ID)}},
    ]
    members = [member(bot_user(), [bot_role_id(g)])]
    members += [member(user(m.id, m.username)) for m in g.members]
    return {
        "id": str(g.id), "name": g.name, "owner_id": str(g.owner_id), "icon": None, "unavailable": False,
        "member_count": len(members), "large": False, "features": [], "emojis": [], "stickers": [], "roles": roles,
        "channels": [channel(g, c, i) for i, c in enumerate(g.channels) if not c.missing],
        "members": members, "threads": [], "voice_states": [], "presences": [], "stage_instances": [],
        "guild_scheduled_events": [], "soundboard_sounds": [], "premium_tier": 0, "preferred_locale": "en-US",
        "verification_level": 0, "default_message_notifications": 0, "explicit_content_filter": 0, "mfa_level": 0,
        "nsfw_level": 0, "system_channel_flags": 0, "joined_at": JOINED, "afk_timeout": 300,
    }


def message(message_id: int, channel_id: int, body: dict[str, Any], *, ephemeral: bool = False,
            interaction: dict[str, Any] | None = None) -> dict[str, Any]:
    """A message as Discord returns it, built from what the bot sent. ``allowed_mentions`` is not a field of
    a real message: the fake keeps it so tests can assert that nothing could ping anyone."""
    flags = int(body.get("flags") or 0) | (64 if ephemeral else 0)
    result: dict[str, Any] = {
        "id": str(message_id), "channel_id": str(channel_id), "author": bot_user(),
        "content": body.get("content") or "", "timestamp": datetime.now(UTC).isoformat(), "edited_timestamp": None,
        "tts": bool(body.get("tts")), "mention_everyone": False, "mentions": [], "mention_roles": [],
        "attachments": [attachment(message_id, a) for a in body.get("attachments") or []],
        "embeds": body.get("embeds") or [], "pinned": False, "type": 0 if interaction is None else 20,
        "flags": flags, "components": body.get("components") or [],
        "allowed_mentions": body.get("allowed_mentions"), "application_id": str(APP_ID),
    }
    if interaction is not None:
        result["interaction_metadata"] = interaction
    if body.get("nonce") is not None:
        result["nonce"] = body["nonce"]
    return result


def attachment(message_id: int, sent: dict[str, Any]) -> dict[str, Any]:
    name = sent.get("filename", "file")
    url = f"https://cdn.discordapp.com/attachments/{message_id}/{sent.get('id', 0)}/{name}"
    return {"id": str(message_id + 1 + int(sent.get("id", 0))), "filename": name, "size": sent.get("size", 0),
            "url": url, "proxy_url": url, "description": sent.get("description")}


def interaction(interaction_id: int, token: str, kind: int, data: dict[str, Any], g: FakeGuild,
                channel_id: int, user_id: int, permissions: int) -> dict[str, Any]:
    chan = g.channel(channel_id)
    chan_payload = channel(g, chan) if chan else {"id": str(channel_id), "type": 0, "name": "general",
                                                  "guild_id": str(g.id), "permission_overwrites": []}
    app_permissions = g.bot_permissions & ~SEND_MESSAGES if chan and chan.forbidden else g.bot_permissions
    chan_payload["permissions"] = str(permissions)
    found = g.member(user_id)
    return {
        "id": str(interaction_id), "application_id": str(APP_ID), "type": kind, "data": data,
        "guild_id": str(g.id), "guild": {"id": str(g.id), "locale": "en-US", "features": []},
        "channel_id": str(channel_id), "channel": chan_payload,
        "member": {**member(user(user_id, found.username if found else f"user{user_id}")),
                   "permissions": str(permissions)},
        "token": token, "version": 1, "app_permissions": str(app_permissions), "locale": "en-US",
        "guild_locale": "en-US", "entitlements": [], "authorizing_integration_owners": {"0": str(g.id)},
        "context": 0, "attachment_size_limit": g.attachment_size_limit,
    }


def resolved_for(kind: int, value: Any, g: FakeGuild) -> tuple[str, dict[str, Any]] | None:
    """The ``resolved`` entries an option of this type needs: channels, users (+ members) and roles."""
    key = str(value)
    if kind == 7:
        chan = g.channel(int(value))
        payload = channel(g, chan) if chan else {"id": key, "type": 0, "name": "channel", "guild_id": str(g.id)}
        return "channels", {key: {**payload, "permissions": str(ALL_PERMISSIONS)}}
    if kind in (6, 9):
        found = g.member(int(value))
        return "users", {key: user(int(value), found.username if found else f"user{value}")}
    if kind == 8:
        return "roles", {key: {"id": key, "name": f"role{key}", "permissions": "0", "position": 1, "color": 0,
                               "hoist": False, "managed": False, "mentionable": True, "flags": 0}}
    return None


def command_options(schema: dict[str, Any], path: list[str], values: dict[str, Any], g: FakeGuild,
                    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The ``options`` and ``resolved`` of an application command interaction: ``path`` names the
    subcommand group and subcommand ("feeds", "add"), ``values`` the leaf options by name."""
    resolved: dict[str, Any] = {}
    options = schema.get("options") or []
    nest: list[dict[str, Any]] = []
    outer = nest
    for name in path:
        sub = next((o for o in options if o["name"] == name and o["type"] in (1, 2)), None)
        if sub is None:
            raise KeyError(f"/{schema['name']} has no subcommand {name!r}; it has {[o['name'] for o in options]}")
        node: dict[str, Any] = {"type": sub["type"], "name": name, "options": []}
        nest.append(node)
        nest, options = node["options"], sub.get("options") or []
    for name, value in values.items():
        spec = next((o for o in options if o["name"] == name), None)
        if spec is None:
            raise KeyError(f"/{schema['name']} {' '.join(path)} has no option {name!r}; "
                           f"it has {[o['name'] for o in options]}")
        kind = spec["type"]
        extra = resolved_for(kind, value, g)
        if extra is not None:
            resolved.setdefault(extra[0], {}).update(extra[1])
            if kind in (6, 9):
                resolved.setdefault("members", {})[str(value)] = {**member(extra[1][str(value)]),
                                                                  "permissions": str(MEMBER_PERMISSIONS)}
        nest.append({"type": kind, "name": name, "value": str(value) if kind in (6, 7, 8, 9) else value})
    return outer, resolved


def focus(options: list[dict[str, Any]], name: str) -> None:
    """Mark the option being typed in an autocomplete interaction."""
    for option in options:
        if option.get("name") == name and "value" in option:
            option["focused"] = True
        focus(option.get("options") or [], name)
