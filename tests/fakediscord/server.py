"""A fake Discord on 127.0.0.1: enough of REST /api/v10 and the gateway for the real discord.py client.

The client logs in (GET /users/@me), opens the gateway (HELLO → IDENTIFY → READY → GUILD_CREATE,
heartbeats), syncs its commands, and then receives the interactions a test dispatches. Everything the bot
sends back is recorded: command syncs, interaction callbacks, edits, follow-ups and channel messages. A
route can be made to answer 429 once (with ``retry_after`` and a ``Via`` header, as Discord does, so
discord.py retries) and a channel can be made to answer 403.

Waiting is event-driven with bounded timeouts; nothing here sleeps for a fixed time.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSMsgType, web

APP_ID = 900000000000000001
BOT_ID = 900000000000000002
MANAGE_GUILD = 0x20
ALL_PERMISSIONS = (1 << 50) - 1
MEMBER_PERMISSIONS = 0x400 | 0x800 | 0x4000 | 0x10000 | 0x80000000  # view, send, embed, history, app commands


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # discord.py parses a body as JSON only when the content type is exactly application/json.
    return web.Response(body=json.dumps(data).encode(), status=status,
                        headers={"Content-Type": "application/json", **(headers or {})})


def _user(user_id: int, name: str, bot: bool = False) -> dict[str, Any]:
    return {"id": str(user_id), "username": name, "global_name": name, "discriminator": "0", "avatar": None,
            "bot": bot, "public_flags": 0}


@dataclass
class FakeChannel:
    id: int
    name: str = "general"
    forbidden: bool = False  # posting answers 403 Missing Permissions


@dataclass
class FakeGuild:
    id: int
    name: str = "Test guild"
    channels: list[FakeChannel] = field(default_factory=lambda: [])
    owner_id: int = 1


@dataclass
class Interaction:
    """What happened to one dispatched interaction."""

    id: int
    token: str
    dispatched_at: float
    callback: dict[str, Any] | None = None
    callback_at: float | None = None
    edits: list[dict[str, Any]] = field(default_factory=list)
    followups: list[dict[str, Any]] = field(default_factory=list)
    answered: asyncio.Event = field(default_factory=asyncio.Event)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def callback_type(self) -> int | None:
        return self.callback["type"] if self.callback else None

    @property
    def data(self) -> dict[str, Any]:
        return (self.callback or {}).get("data") or {}

    @property
    def ack_ms(self) -> float:
        assert self.callback_at is not None
        return (self.callback_at - self.dispatched_at) * 1000

    @property
    def ephemeral(self) -> bool:
        return bool(self.data.get("flags", 0) & 64)

    @property
    def final(self) -> dict[str, Any]:
        """The message the user ends up seeing: the last edit, else the first follow-up, else the reply."""
        if self.edits:
            return self.edits[-1]
        if self.followups:
            return self.followups[0]
        return self.data

    @property
    def text(self) -> str:
        """Content and every embed's title, description and footer, as one string for assertions."""
        message = self.final
        parts = [message.get("content") or ""]
        for embed in message.get("embeds") or []:
            parts += [embed.get("title", ""), embed.get("description", ""), (embed.get("footer") or {}).get("text", "")]
        return "\n".join(parts)


class FakeDiscord:
    def __init__(self, guilds: list[FakeGuild]) -> None:
        self.guilds = {g.id: g for g in guilds}
        self.url = ""
        self.identify: dict[str, Any] | None = None
        self.commands: list[dict[str, Any]] = []
        self.command_syncs = 0
        self.channel_messages: dict[int, list[dict[str, Any]]] = {}
        self.unknown_routes: list[str] = []
        self.interactions: dict[int, Interaction] = {}
        self.ready = asyncio.Event()
        self._ws: web.WebSocketResponse | None = None
        self._seq = itertools.count(1)
        self._ids = itertools.count(1_000_000_000_000_000_000)
        self._failures: list[tuple[str, re.Pattern[str], int, float]] = []
        self._messages: dict[str, dict[str, Any]] = {}  # token → original response message
        self._runner: web.AppRunner | None = None
        self._changed = asyncio.Condition()

    # --- life cycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/gateway-ws", self._gateway)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def stop(self) -> None:
        if self._ws is not None and not self._ws.closed:
            await self._ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_base(self) -> str:
        return f"{self.url}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"{self.url.replace('http', 'ws', 1)}/gateway-ws"

    # --- test controls ------------------------------------------------------------------------------

    def fail_next(self, method: str, path: str, status: int = 429, retry_after: float = 0.05) -> None:
        """The next request matching ``method`` and the ``path`` regex (after /api/v10) fails once."""
        self._failures.append((method.upper(), re.compile(path), status, retry_after))

    def original_message(self, record: Interaction) -> dict[str, Any]:
        """The message an interaction's response created, as Discord would send it with a later click."""
        return self._messages[record.token]

    def messages_in(self, channel_id: int) -> list[dict[str, Any]]:
        return self.channel_messages.get(channel_id, [])

    async def wait_ready(self, timeout: float = 10) -> None:
        await asyncio.wait_for(self.ready.wait(), timeout)

    async def wait_for(self, predicate: Any, timeout: float = 5) -> None:
        """Wait until ``predicate()`` is true, woken by every request the fake records."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), timeout)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # --- interactions -------------------------------------------------------------------------------

    async def slash(self, guild_id: int, user_id: int, command: str, options: dict[str, Any] | None = None, *,
                    permissions: int = MEMBER_PERMISSIONS, channel_id: int | None = None, wait_final: bool = True,
                    timeout: float = 5) -> Interaction:
        """Dispatch ``/command`` ("config digest time" for subcommands) and wait for the bot's answer."""
        names = command.split()
        schema = next(c for c in self.commands if c["name"] == names[0])
        data: dict[str, Any] = {"id": schema["id"], "name": names[0], "type": 1, "guild_id": str(guild_id)}
        data["options"], data["resolved"] = self._options(schema, names[1:], options or {}, guild_id)
        return await self._dispatch(2, data, guild_id, user_id, permissions, channel_id, wait_final, timeout)

    async def autocomplete(self, guild_id: int, user_id: int, command: str, option: str, value: str) -> list[Any]:
        names = command.split()
        schema = next(c for c in self.commands if c["name"] == names[0])
        data: dict[str, Any] = {"id": schema["id"], "name": names[0], "type": 1, "guild_id": str(guild_id)}
        options, _ = self._options(schema, names[1:], {option: value}, guild_id)
        self._focus(options, option)
        data["options"] = options
        record = await self._dispatch(4, data, guild_id, user_id, MEMBER_PERMISSIONS, None, False, 5)
        return list(record.data.get("choices", []))

    async def click(self, guild_id: int, user_id: int, message: dict[str, Any], custom_id: str,
                    timeout: float = 5) -> Interaction:
        data = {"custom_id": custom_id, "component_type": 2}
        return await self._dispatch(3, data, guild_id, user_id, MEMBER_PERMISSIONS, None, False, timeout,
                                    message=message)

    async def _dispatch(self, kind: int, data: dict[str, Any], guild_id: int, user_id: int, permissions: int,
                        channel_id: int | None, wait_final: bool, timeout: float,
                        message: dict[str, Any] | None = None) -> Interaction:
        guild = self.guilds[guild_id]
        channel = channel_id or (guild.channels[0].id if guild.channels else guild_id)
        interaction_id = next(self._ids)
        token = f"tok{interaction_id}"
        payload: dict[str, Any] = {
            "id": str(interaction_id), "application_id": str(APP_ID), "type": kind, "data": data,
            "guild_id": str(guild_id), "channel_id": str(channel),
            "channel": {"id": str(channel), "type": 0, "guild_id": str(guild_id), "name": "general"},
            "member": {"user": _user(user_id, f"user{user_id}"), "roles": [], "permissions": str(permissions),
                       "joined_at": "2025-01-01T00:00:00+00:00", "deaf": False, "mute": False, "flags": 0},
            "token": token, "version": 1, "app_permissions": str(ALL_PERMISSIONS), "locale": "en-US",
            "guild_locale": "en-US", "entitlements": [], "authorizing_integration_owners": {"0": str(guild_id)},
            "context": 0, "attachment_size_limit": 8 * 1024 * 1024,
        }
        if message is not None:
            payload["message"] = message
        record = Interaction(interaction_id, token, time.perf_counter())
        self.interactions[interaction_id] = record
        await self.dispatch_event("INTERACTION_CREATE", payload)
        await asyncio.wait_for(record.answered.wait(), timeout)
        if wait_final and record.callback_type == 5:  # deferred: wait for the edit or follow-up
            await self.wait_for(lambda: bool(record.edits or record.followups), timeout)
        return record

    def _options(self, schema: dict[str, Any], path: list[str], values: dict[str, Any],
                 guild_id: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        resolved: dict[str, Any] = {}
        options = schema.get("options", [])
        nest: list[dict[str, Any]] = []
        outer = nest
        for name in path:
            sub = next(o for o in options if o["name"] == name)
            node = {"type": sub["type"], "name": name, "options": []}
            nest.append(node)
            nest, options = node["options"], sub.get("options", [])
        for name, value in values.items():
            spec = next(o for o in options if o["name"] == name)
            if spec["type"] == 7:  # channel
                resolved.setdefault("channels", {})[str(value)] = {
                    "id": str(value), "type": 0, "name": "digest", "permissions": str(ALL_PERMISSIONS),
                    "guild_id": str(guild_id)}
            nest.append({"type": spec["type"], "name": name, "value": str(value) if spec["type"] == 7 else value})
        return outer, resolved

    def _focus(self, options: list[dict[str, Any]], name: str) -> None:
        for option in options:
            if option.get("name") == name and "value" in option:
                option["focused"] = True
            self._focus(option.get("options", []), name)

    async def dispatch_event(self, event: str, data: dict[str, Any]) -> None:
        assert self._ws is not None, "the bot is not connected to the gateway"
        await self._ws.send_str(json.dumps({"op": 0, "t": event, "s": next(self._seq), "d": data}))

    # --- gateway ------------------------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._ws = ws
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 41250}}))
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            payload = json.loads(msg.data)
            op = payload.get("op")
            if op == 1:
                await ws.send_str(json.dumps({"op": 11}))
            elif op == 2:
                self.identify = payload["d"]
                await self._ready(ws)
        return ws

    async def _ready(self, ws: web.WebSocketResponse) -> None:
        ready = {"v": 10, "user": _user(BOT_ID, "Sitrep", bot=True), "session_id": "fake-session",
                 "resume_gateway_url": self.gateway_url, "guilds": [{"id": str(g), "unavailable": True}
                                                                     for g in self.guilds],
                 "application": {"id": str(APP_ID), "flags": 0}, "private_channels": [], "relationships": []}
        await ws.send_str(json.dumps({"op": 0, "t": "READY", "s": next(self._seq), "d": ready}))
        for guild in self.guilds.values():
            await ws.send_str(json.dumps({"op": 0, "t": "GUILD_CREATE", "s": next(self._seq),
                                          "d": self._guild_payload(guild)}))
        self.ready.set()

    def _guild_payload(self, guild: FakeGuild) -> dict[str, Any]:
        return {
            "id": str(guild.id), "name": guild.name, "owner_id": str(guild.owner_id), "icon": None,
            "unavailable": False, "member_count": 2, "large": False, "features": [], "emojis": [], "stickers": [],
            "roles": [{"id": str(guild.id), "name": "@everyone", "permissions": str(MEMBER_PERMISSIONS),
                       "position": 0, "color": 0, "hoist": False, "managed": False, "mentionable": False,
                       "flags": 0}],
            "channels": [{"id": str(c.id), "type": 0, "name": c.name, "position": i, "permission_overwrites": [],
                          "guild_id": str(guild.id)} for i, c in enumerate(guild.channels)],
            "members": [], "threads": [], "voice_states": [], "presences": [], "stage_instances": [],
            "guild_scheduled_events": [], "premium_tier": 0, "preferred_locale": "en-US", "verification_level": 0,
            "default_message_notifications": 0, "explicit_content_filter": 0, "mfa_level": 0, "nsfw_level": 0,
            "system_channel_flags": 0, "joined_at": "2025-01-01T00:00:00+00:00",
        }

    # --- REST ---------------------------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["tail"]
        method = request.method
        for i, (m, pattern, status, retry_after) in enumerate(self._failures):
            if m == method and pattern.fullmatch(path):
                del self._failures[i]
                if status == 429:
                    return _json({"message": "You are being rate limited.", "retry_after": retry_after,
                                  "global": False}, 429, {"Via": "1.1 google", "Retry-After": str(retry_after),
                                                          "X-RateLimit-Scope": "user"})
                return _json({"code": 0, "message": f"{status}"}, status)
        body: Any = None
        if request.can_read_body:
            raw = await request.read()
            body = json.loads(raw) if raw and request.content_type == "application/json" else \
                _multipart_json(raw)
        try:
            return await self._route(method, path, body)
        finally:
            await self._notify()

    async def _route(self, method: str, path: str, body: Any) -> web.Response:
        if path == "/users/@me":
            return _json(_user(BOT_ID, "Sitrep", bot=True))
        if path in ("/oauth2/applications/@me", "/applications/@me"):
            return _json({"id": str(APP_ID), "name": "Sitrep", "description": "", "icon": None, "bot_public": True,
                          "bot_require_code_grant": False, "verify_key": "0" * 64, "flags": 0,
                          "owner": _user(1, "owner"), "team": None})
        if path in ("/gateway", "/gateway/bot"):
            return _json({"url": self.gateway_url, "shards": 1, "session_start_limit": {
                "total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}})
        if m := re.fullmatch(r"/applications/\d+/commands", path):
            if method == "PUT":
                self.command_syncs += 1
                self.commands = [{**c, "id": str(next(self._ids)), "application_id": str(APP_ID), "version": "1",
                                  "default_member_permissions": c.get("default_member_permissions"),
                                  "type": c.get("type", 1)} for c in body]
            return _json(self.commands)
        if m := re.fullmatch(r"/interactions/(\d+)/([^/]+)/callback", path):
            return self._callback(int(m.group(1)), body)
        if m := re.fullmatch(r"/webhooks/\d+/([^/]+)(?:/messages/(@original|\d+))?", path):
            return self._webhook(method, m.group(1), m.group(2), body)
        if m := re.fullmatch(r"/channels/(\d+)/messages", path):
            return self._channel_post(int(m.group(1)), body)
        if m := re.fullmatch(r"/channels/(\d+)", path):
            channel_id = int(m.group(1))
            for guild in self.guilds.values():
                for channel in guild.channels:
                    if channel.id == channel_id:
                        return _json({"id": str(channel.id), "type": 0, "name": channel.name,
                                      "guild_id": str(guild.id), "position": 0, "permission_overwrites": []})
            return _json({"code": 10003, "message": "Unknown Channel"}, 404)
        self.unknown_routes.append(f"{method} {path}")
        return _json({"code": 0, "message": f"404: Not Found ({method} {path})"}, 404)

    def _message(self, channel_id: int, body: dict[str, Any], *, ephemeral: bool = False) -> dict[str, Any]:
        return {"id": str(next(self._ids)), "channel_id": str(channel_id), "author": _user(BOT_ID, "Sitrep", True),
                "content": body.get("content") or "", "timestamp": datetime.now(UTC).isoformat(),
                "edited_timestamp": None, "tts": False, "mention_everyone": False, "mentions": [],
                "mention_roles": [], "attachments": [], "embeds": body.get("embeds") or [], "pinned": False,
                "type": 0, "flags": 64 if ephemeral else 0, "components": body.get("components") or [],
                "allowed_mentions": body.get("allowed_mentions")}

    def _callback(self, interaction_id: int, body: dict[str, Any]) -> web.Response:
        record = self.interactions[interaction_id]
        record.callback, record.callback_at = body, time.perf_counter()
        data = body.get("data") or {}
        message = self._message(0, data, ephemeral=bool(data.get("flags", 0) & 64))
        if body["type"] in (4, 5, 7):
            self._messages[record.token] = message
        record.answered.set()
        return _json({"interaction": {"id": str(interaction_id), "type": 2, "response_message_id": message["id"],
                                      "response_message_loading": body["type"] == 5,
                                      "response_message_ephemeral": message["flags"] == 64},
                      "resource": {"type": body["type"], "message": message} if body["type"] in (4, 7) else None})

    def _webhook(self, method: str, token: str, message_id: str | None, body: Any) -> web.Response:
        record = next((r for r in self.interactions.values() if r.token == token), None)
        if record is None:
            return _json({"code": 10015, "message": "Unknown Webhook"}, 404)
        original = self._messages.setdefault(token, self._message(0, {}))
        if method == "GET":
            return _json(original)
        if method == "PATCH":
            edited = {**original, **{k: v for k, v in body.items() if k in ("content", "embeds", "components")}}
            edited["allowed_mentions"] = body.get("allowed_mentions")
            self._messages[token] = edited
            record.edits.append(edited)
            return _json(edited)
        if method == "POST":
            message = self._message(0, body, ephemeral=bool(body.get("flags", 0) & 64))
            record.followups.append(message)
            return _json(message)
        return web.Response(status=204)

    def _channel_post(self, channel_id: int, body: dict[str, Any]) -> web.Response:
        for guild in self.guilds.values():
            for channel in guild.channels:
                if channel.id == channel_id and channel.forbidden:
                    return _json({"code": 50013, "message": "Missing Permissions"}, 403)
        message = self._message(channel_id, body)
        self.channel_messages.setdefault(channel_id, []).append(message)
        return _json(message)


def _multipart_json(raw: bytes) -> Any:
    """discord.py sends payload_json in a multipart body when it attaches files; we only need the JSON."""
    match = re.search(rb'name="payload_json"\r\n(?:[^\r\n]*\r\n)*\r\n(.*?)\r\n--', raw, re.DOTALL)
    return json.loads(match.group(1)) if match else None
