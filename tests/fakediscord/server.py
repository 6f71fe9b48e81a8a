"""A fake Discord on 127.0.0.1: enough of REST /api/v10 and the gateway for the real discord.py client.

The client logs in (GET /users/@me), opens the gateway (HELLO → IDENTIFY → READY → GUILD_CREATE,
heartbeats), syncs its commands, and then receives the interactions a test dispatches. Everything the bot
sends back is recorded: command syncs, interaction callbacks, edits, follow-ups and channel messages. A
route can be made to fail (a 429 with ``retry_after`` and a ``Via`` header, as Discord sends it, so
discord.py retries; or any other status) and a channel can be forbidden (403) or gone (404).

The REST routes live in _rest.py, the JSON shapes in _payloads.py. Waiting is event-driven with bounded
timeouts; nothing here sleeps for a fixed time.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from tests.fakediscord import _payloads as p
from tests.fakediscord._model import APP_ID, BOT_ID, FakeChannel, FakeGuild, Interaction
from tests.fakediscord._rest import Failure, Rest

if TYPE_CHECKING:
    import pytest

# Gateway opcodes.
DISPATCH, HEARTBEAT, IDENTIFY, RESUME, RECONNECT, HELLO, HEARTBEAT_ACK = 0, 1, 2, 6, 7, 10, 11


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard that holds a guild, by Discord's rule."""
    return (guild_id >> 22) % shard_count


@dataclass(eq=False)
class Connection:
    """One gateway websocket: ``shard`` is IDENTIFY's ``[id, count]`` (``(0, 1)``, every guild, when it names
    none; None until it identified or resumed); ``ready`` once READY and its GUILD_CREATEs were sent."""

    ws: web.WebSocketResponse
    shard: tuple[int, int] | None = None
    ready: bool = False

    def holds(self, guild_id: int) -> bool:
        return self.shard is not None and shard_of(guild_id, self.shard[1]) == self.shard[0]


class FakeDiscord:
    """One fake Discord: guilds, the bot's commands, and everything the bot did.

    ``token``: when set, only that bot token is accepted (anything else gets 401, which discord.py's
    ``login`` turns into ``LoginFailure``); by default any token is. ``shard_count``: what GET /gateway/bot
    advises. Each gateway connection gets the guilds of the shard its IDENTIFY names (all without one), and a
    guild's events go to the connection holding its shard, so several sharded bots can share one fake.
    """

    def __init__(self, guilds: list[FakeGuild], *, token: str | None = None,
                 heartbeat_interval_ms: int = 41250, shard_count: int = 1) -> None:
        self.guilds = {g.id: g for g in guilds}
        self.token = token
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.shard_count = shard_count
        # enforce_nonce: a create with a nonce seen in the channel within this many seconds of ``clock()``
        # returns the earlier message. A test moves ``clock`` (a monotonic seconds function) to expire nonces.
        self.nonce_window_s = 300.0
        self.clock: Callable[[], float] = time.monotonic
        self.url = ""
        # What the bot did.
        self.identify: dict[str, Any] | None = None  # the last IDENTIFY payload (token redacted)
        self.identifies = 0
        self.identify_payloads: list[dict[str, Any]] = []  # every IDENTIFY (token redacted), in order
        self.resumes = 0
        self.heartbeats = 0
        self.commands: list[dict[str, Any]] = []  # the global commands, as Discord stores them (with ids)
        self.guild_commands: dict[int, list[dict[str, Any]]] = {}
        self.command_syncs = 0  # bulk overwrites (PUT), global or per guild
        self.syncs: list[tuple[int | None, list[dict[str, Any]]]] = []  # (guild id or None, what was sent)
        self.interactions: dict[int, Interaction] = {}
        self.requests: list[str] = []  # "METHOD /path" of every REST request, in order
        self.unknown_routes: list[str] = []
        self.errors: list[str] = []  # requests the fake itself failed on (answered 400): a bug in the fake
        self.deduplicated: list[str] = []  # nonces of message creates answered with an earlier message
        # Set when every open connection got READY + its GUILD_CREATEs; cleared when a new socket opens.
        self.ready = asyncio.Event()
        # Internals.
        self._connections: list[Connection] = []  # open gateway connections, oldest first
        self._sessions: dict[str, tuple[int, int]] = {}  # session id → shard, so a RESUME keeps its shard
        self._seq = itertools.count(1)
        self._ids = itertools.count(1_300_000_000_000_000_000)
        self._failures: list[Failure] = []
        self._nonces: dict[tuple[int, int, str], tuple[float, int]] = {}  # (author, channel, nonce) → (when, message)
        self._channel_messages: dict[int, list[dict[str, Any]]] = {}
        self._messages: dict[int, dict[str, Any]] = {}  # every message by id
        self.files: dict[str, bytes] = {}  # the bytes of every attached file, by its attachment URL
        self.threads: dict[int, dict[str, Any]] = {}  # threads and forum posts the bot opened, by id
        self._thread_parents: dict[int, tuple[FakeGuild, FakeChannel]] = {}
        self._runner: web.AppRunner | None = None
        self._changed = asyncio.Condition()
        self._rest = Rest(self)

    # --- life cycle ---------------------------------------------------------------------------------

    async def start(self) -> FakeDiscord:
        app = web.Application()
        app.router.add_get("/gateway-ws", self._gateway)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._rest.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def stop(self) -> None:
        for connection in list(self._connections):
            if not connection.ws.closed:
                await connection.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscord:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Point discord.py at this fake for one test: REST base (also used by the interaction webhooks)
        and the gateway URL of a plain ``Client``/``Bot``. ``monkeypatch`` restores both afterwards."""
        import discord
        import yarl
        from discord.gateway import DiscordWebSocket

        monkeypatch.setattr(discord.http.Route, "BASE", self.api_base)
        monkeypatch.setattr(DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(self.gateway_url))

    @property
    def api_base(self) -> str:
        return f"{self.url}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"{self.url.replace('http', 'ws', 1)}/gateway-ws"

    # --- what the bot did ---------------------------------------------------------------------------

    @property
    def identify_payload(self) -> dict[str, Any] | None:
        return self.identify

    @property
    def shards(self) -> list[tuple[int, int]]:
        """``(shard id, shard count)`` of every open, identified gateway connection, oldest first."""
        return [c.shard for c in self._connections if c.shard is not None and not c.ws.closed]

    def connection_for(self, guild_id: int | None = None) -> Connection:
        """The open connection that receives a guild's events (``None``: events of no guild, on shard 0), as
        Discord routes them; the newest if several hold that shard."""
        open_ = [c for c in self._connections if not c.ws.closed]
        assert open_, "the bot is not connected to the gateway"
        held = [c for c in open_ if c.shard is not None
                and (c.shard[0] == 0 if guild_id is None else c.holds(guild_id))]
        assert held, f"no gateway connection holds the shard of guild {guild_id} (connected shards: {self.shards})"
        return held[-1]

    @property
    def synced_commands(self) -> list[dict[str, Any]]:
        """The global commands as last synced (with the ids Discord gave them)."""
        return self.commands

    def command(self, name: str, guild_id: int | None = None) -> dict[str, Any]:
        """The stored command ``name``: the guild's own first, then the global one."""
        for cmd in [*self.guild_commands.get(guild_id or 0, []), *self.commands]:
            if cmd["name"] == name:
                return cmd
        known = sorted({c["name"] for c in self.commands} | {c["name"] for c in self.guild_commands.get(
            guild_id or 0, [])})
        raise KeyError(f"no command /{name} was synced (synced: {known})")

    def channel_messages(self, channel_id: int) -> list[dict[str, Any]]:
        """Messages the bot posted to a channel, in order (each with the ``allowed_mentions`` it sent)."""
        return self._channel_messages.get(channel_id, [])

    messages_in = channel_messages  # older name

    def attachment_data(self, attachment: dict[str, Any]) -> bytes:
        """The bytes of a file the bot attached: pass an entry of a message's ``attachments``."""
        return self.files[attachment["url"]]

    def threads_in(self, channel_id: int) -> list[dict[str, Any]]:
        """Threads opened under a channel (on its messages) or posts made in a forum, in order."""
        return [t for t in self.threads.values() if t["parent_id"] == str(channel_id)]

    def message(self, message_id: int | str) -> dict[str, Any]:
        return self._messages[int(message_id)]

    def original_message(self, record: Interaction) -> dict[str, Any]:
        """The message an interaction's response created, as Discord would send it with a later click."""
        assert record.message is not None, "that interaction created no message"
        return self._messages[int(record.message["id"])]

    # --- test controls ------------------------------------------------------------------------------

    def fail_next(self, method: str, path: str, status: int = 429, retry_after: float = 0.05, *, times: int = 1,
                  code: int | None = None, message: str | None = None, after: int = 0) -> None:
        """The next ``times`` requests matching ``method`` and ``path`` (after /api/v10) fail with ``status``.

        ``path`` is a regex matched in full; ``{name}`` stands for one path segment, so
        ``"/channels/{id}/messages"`` matches any channel. A 429 carries ``retry_after`` and a ``Via`` header
        (discord.py retries it); a 403/404 carries Discord's error code (50013 Missing Permissions, 10003
        Unknown Channel) unless ``code``/``message`` say otherwise. ``after``: let that many matching requests
        through first (the third post fails: ``after=2``).
        """
        pattern = re.compile(re.sub(r"\{[A-Za-z_]+\}", "[^/]+", path))
        self._failures.append(Failure(method.upper(), pattern, status, retry_after, times, code, message, after))

    async def wait_ready(self, timeout: float = 10) -> None:
        """Until the bot identified and received READY and every GUILD_CREATE."""
        await asyncio.wait_for(self.ready.wait(), timeout)

    async def wait_synced(self, timeout: float = 10) -> None:
        """Until the bot synced its commands at least once (globally or to a guild)."""
        await self.wait_for(lambda: self.command_syncs > 0, timeout)

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5) -> None:
        """Wait until ``predicate()`` is true, re-checked after every request and gateway message."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), timeout)

    async def notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def next_id(self) -> int:
        return next(self._ids)

    # --- interactions -------------------------------------------------------------------------------

    async def slash(self, guild_id: int, user_id: int, command: str, options: dict[str, Any] | None = None, *,
                    permissions: int | None = None, channel_id: int | None = None, wait_final: bool = True,
                    timeout: float = 5) -> Interaction:
        """Dispatch ``/command`` ("config feeds add" for subcommands) and wait for the bot's answer.

        ``permissions`` is the member's (default: the guild's idea of this user, see
        ``FakeGuild.permissions_of``). Returns once the initial callback arrived; if the bot deferred
        and ``wait_final``, once it also edited the original or sent a follow-up.
        """
        names = command.split()
        schema = self.command(names[0], guild_id)
        data: dict[str, Any] = {"id": schema["id"], "name": names[0], "type": 1, "guild_id": str(guild_id)}
        data["options"], resolved = p.command_options(schema, names[1:], options or {}, self.guilds[guild_id])
        if resolved:
            data["resolved"] = resolved
        return await self._dispatch(2, data, guild_id, user_id, permissions, channel_id, wait_final, timeout)

    async def autocomplete(self, guild_id: int, user_id: int, command: str, option: str, value: str, *,
                           others: dict[str, Any] | None = None, timeout: float = 5) -> list[Any]:
        """Type ``value`` into ``option`` of ``command``; return the choices the bot offered."""
        record = await self.autocomplete_record(guild_id, user_id, command, option, value, others=others,
                                                timeout=timeout)
        return record.choices

    async def autocomplete_record(self, guild_id: int, user_id: int, command: str, option: str, value: str, *,
                                  others: dict[str, Any] | None = None, timeout: float = 5) -> Interaction:
        names = command.split()
        schema = self.command(names[0], guild_id)
        data: dict[str, Any] = {"id": schema["id"], "name": names[0], "type": 1, "guild_id": str(guild_id)}
        options, _ = p.command_options(schema, names[1:], {**(others or {}), option: value}, self.guilds[guild_id])
        p.focus(options, option)
        data["options"] = options
        return await self._dispatch(4, data, guild_id, user_id, None, None, False, timeout)

    async def click(self, guild_id: int, user_id: int, message: dict[str, Any] | Interaction, custom_id: str, *,
                    permissions: int | None = None, wait_final: bool = False, timeout: float = 5) -> Interaction:
        """Press the button ``custom_id`` on ``message`` (a message dict, or an interaction whose response
        message is meant). The bot's view must be listening on that message, as on Discord."""
        if isinstance(message, Interaction):
            message = self.original_message(message)
        data = {"custom_id": custom_id, "component_type": 2}
        channel_id = int(message["channel_id"]) or None
        return await self._dispatch(3, data, guild_id, user_id, permissions, channel_id, wait_final, timeout,
                                    message=message)

    async def submit_modal(self, guild_id: int, user_id: int, custom_id: str, values: dict[str, str], *,
                           timeout: float = 5) -> Interaction:
        """Submit the modal ``custom_id`` with text inputs ``{input custom_id: value}``."""
        rows = [{"type": 1, "components": [{"type": 4, "custom_id": k, "value": v}]} for k, v in values.items()]
        return await self._dispatch(5, {"custom_id": custom_id, "components": rows}, guild_id, user_id, None, None,
                                    False, timeout)

    async def _dispatch(self, kind: int, data: dict[str, Any], guild_id: int, user_id: int, permissions: int | None,
                        channel_id: int | None, wait_final: bool, timeout: float,
                        message: dict[str, Any] | None = None) -> Interaction:
        guild = self.guilds[guild_id]
        channel = channel_id or (guild.channels[0].id if guild.channels else guild_id)
        interaction_id = self.next_id()
        token = f"tok{interaction_id}"
        perms = guild.permissions_of(user_id) if permissions is None else permissions
        payload = p.interaction(interaction_id, token, kind, data, guild, channel, user_id, perms)
        if message is not None:
            payload["message"] = message
        record = Interaction(interaction_id, token, kind, payload, time.perf_counter())
        self.interactions[interaction_id] = record
        await self.dispatch_event("INTERACTION_CREATE", payload)
        try:
            await asyncio.wait_for(record.answered.wait(), timeout)
            if wait_final and record.deferred:  # wait for the edit or follow-up that completes it
                await self.wait_for(lambda: bool(record.edits or record.followups or record.deleted), timeout)
        except TimeoutError:
            raise AssertionError(f"the bot did not answer interaction type {kind} {data} within {timeout}s "
                                 f"(callback: {record.callback}; unknown routes: {self.unknown_routes})") from None
        return record

    async def dispatch_event(self, event: str, data: dict[str, Any]) -> None:
        """Send any gateway DISPATCH event to the connected bot: on the connection holding the shard of the
        data's ``guild_id`` (shard 0 when it has none)."""
        guild_id = data.get("guild_id")
        connection = self.connection_for(int(guild_id) if guild_id is not None else None)
        await connection.ws.send_str(json.dumps({"op": DISPATCH, "t": event, "s": next(self._seq), "d": data}))

    async def request_reconnect(self, shard_id: int | None = None) -> None:
        """Ask the bot to reconnect (op 7), as Discord does; discord.py resumes on resume_gateway_url. Every open
        connection is asked, or only those of shard ``shard_id``."""
        targets = [c for c in self._connections if not c.ws.closed
                   and (shard_id is None or (c.shard is not None and c.shard[0] == shard_id))]
        assert targets, "the bot is not connected to the gateway"
        self.ready.clear()
        for connection in targets:
            connection.ready = False
            await connection.ws.send_str(json.dumps({"op": RECONNECT, "d": None}))

    # --- gateway ------------------------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        connection = Connection(ws)
        self._connections.append(connection)
        self.ready.clear()
        try:
            await ws.send_str(json.dumps({"op": HELLO, "d": {"heartbeat_interval": self.heartbeat_interval_ms}}))
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                payload = json.loads(msg.data)
                op = payload.get("op")
                if op == HEARTBEAT:
                    self.heartbeats += 1
                    await ws.send_str(json.dumps({"op": HEARTBEAT_ACK}))
                elif op == IDENTIFY:
                    self.identifies += 1
                    self.identify = {**payload["d"], "token": "<redacted>"}
                    self.identify_payloads.append(self.identify)
                    shard = payload["d"].get("shard") or [0, 1]
                    connection.shard = (int(shard[0]), int(shard[1]))
                    await self._ready(connection)
                elif op == RESUME:
                    self.resumes += 1
                    connection.shard = self._sessions.get(payload["d"].get("session_id"), (0, 1))
                    await ws.send_str(json.dumps({"op": DISPATCH, "t": "RESUMED", "s": next(self._seq), "d": {}}))
                    self._connection_ready(connection)
                await self.notify()
        finally:
            self._connections.remove(connection)
            await self.notify()
        return ws

    async def _ready(self, connection: Connection) -> None:
        assert connection.shard is not None
        session_id = f"fake-session-{self.identifies}"
        self._sessions[session_id] = connection.shard
        held = [g for g in self.guilds.values() if connection.holds(g.id)]
        ready = {"v": 10, "user": p.bot_user(), "session_id": session_id,
                 "resume_gateway_url": self.gateway_url, "shard": list(connection.shard),
                 "guilds": [{"id": str(g.id), "unavailable": True} for g in held],
                 "application": {"id": str(APP_ID), "flags": 0}, "private_channels": [], "relationships": []}
        await connection.ws.send_str(json.dumps({"op": DISPATCH, "t": "READY", "s": next(self._seq), "d": ready}))
        for guild in held:
            await connection.ws.send_str(json.dumps({"op": DISPATCH, "t": "GUILD_CREATE", "s": next(self._seq),
                                                     "d": p.guild(guild)}))
        self._connection_ready(connection)

    def _connection_ready(self, connection: Connection) -> None:
        connection.ready = True
        if all(c.ready for c in self._connections if not c.ws.closed):
            self.ready.set()


__all__ = ["BOT_ID", "Connection", "FakeDiscord", "shard_of"]
