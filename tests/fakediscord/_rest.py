"""The REST half of the fake: routes under /api/v10, as discord.py 2.7 calls them.

discord.py builds every URL, the interaction webhooks included, from ``discord.http.Route.BASE``; it parses a
body as JSON only when the content type is exactly ``application/json``, so every answer here is JSON (or
an empty 204). Unknown routes answer 404 JSON and are logged and recorded in ``FakeDiscord.unknown_routes``.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import BodyPartReader, web

from tests.fakediscord import _payloads as p
from tests.fakediscord._model import APP_ID, BOT_ID, FORUM, FakeChannel, FakeGuild, Interaction

if TYPE_CHECKING:
    from tests.fakediscord.server import FakeDiscord

log = logging.getLogger("fakediscord")

ERRORS = {403: (50013, "Missing Permissions"), 404: (10003, "Unknown Channel"), 401: (0, "401: Unauthorized"),
          500: (0, "500: Internal Server Error")}


@dataclass
class Failure:
    method: str
    pattern: re.Pattern[str]
    status: int
    retry_after: float
    times: int
    code: int | None
    message: str | None
    after: int = 0  # matching requests to let through first


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=json.dumps(data).encode(), status=status,
                        headers={"Content-Type": "application/json", **(headers or {})})


def error(status: int, code: int | None = None, message: str | None = None) -> web.Response:
    default_code, default_message = ERRORS.get(status, (0, f"{status}"))
    return json_response({"code": default_code if code is None else code,
                          "message": message or default_message}, status)


def rate_limited(retry_after: float) -> web.Response:
    # Discord's 429: JSON retry_after and a Via header. Without Via, discord.py takes it for a Cloudflare ban.
    return json_response({"message": "You are being rate limited.", "retry_after": retry_after, "global": False},
                         429, {"Via": "1.1 google", "Retry-After": str(retry_after), "X-RateLimit-Scope": "user",
                               "X-RateLimit-Limit": "5", "X-RateLimit-Remaining": "0",
                               "X-RateLimit-Reset-After": str(retry_after), "X-RateLimit-Bucket": "fake"})


async def _body(request: web.Request) -> Any:
    """The JSON the bot sent: the body, or the ``payload_json`` part of a multipart body (files attached: their
    names and sizes kept in the body's ``attachments``, their bytes under ``_data`` until the message that
    carries them is built; then ``FakeDiscord.attachment_data`` has them)."""
    if request.content_type.startswith("multipart/"):
        body: Any = None
        files: dict[str, bytes] = {}
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            assert isinstance(part, BodyPartReader)
            if part.name == "payload_json":
                body = json.loads(await part.text())
            elif part.filename:
                files[part.filename] = bytes(await part.read())
        for attachment in (body or {}).get("attachments") or []:
            data = files.get(attachment.get("filename", ""), b"")
            attachment["size"], attachment["_data"] = len(data), data
        return body
    raw = await request.read()
    return json.loads(raw) if raw else None


COMMAND_FIELDS = ("name", "description", "options", "default_member_permissions", "dm_permission", "nsfw",
                  "type", "name_localizations", "description_localizations", "contexts", "integration_types")


class Rest:
    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake

    async def handle(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["tail"]
        method = request.method
        self.fake.requests.append(f"{method} {path}")
        try:
            failure = self._failure(method, path)
            if failure is not None:
                return failure
            if self.fake.token is not None and request.headers.get("Authorization") != f"Bot {self.fake.token}" \
                    and not path.startswith(("/interactions/", "/webhooks/")):
                return error(401)
            body = await _body(request) if request.can_read_body else None
            return self.route(method, path, body)
        except Exception as exc:  # a bug in the fake or a request it cannot read: fail fast and visibly
            # A 5xx would make discord.py retry for seconds; 400 surfaces at once as HTTPException.
            log.exception("fake Discord failed on %s %s", method, path)
            self.fake.errors.append(f"{method} {path}: {exc!r}")
            return json_response({"code": 50035, "message": f"fake Discord error: {exc!r}"}, 400)
        finally:
            await self.fake.notify()

    def _failure(self, method: str, path: str) -> web.Response | None:
        for failure in self.fake._failures:
            if failure.method == method and failure.pattern.fullmatch(path):
                if failure.after > 0:
                    failure.after -= 1
                    continue
                failure.times -= 1
                if failure.times <= 0:
                    self.fake._failures.remove(failure)
                if failure.status == 429:
                    return rate_limited(failure.retry_after)
                return error(failure.status, failure.code, failure.message)
        return None

    def route(self, method: str, path: str, body: Any) -> web.Response:
        fake = self.fake
        if path == "/users/@me":
            return json_response(p.bot_user())
        if path in ("/oauth2/applications/@me", "/applications/@me"):
            return json_response(p.application())
        if path in ("/gateway", "/gateway/bot"):
            return json_response({"url": fake.gateway_url, "shards": fake.shard_count, "session_start_limit": {
                "total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}})
        if m := re.fullmatch(r"/applications/\d+(?:/guilds/(\d+))?/commands(?:/(\d+))?", path):
            return self._commands(method, int(m.group(1)) if m.group(1) else None, m.group(2), body)
        if m := re.fullmatch(r"/interactions/(\d+)/([^/]+)/callback", path):
            return self._callback(int(m.group(1)), m.group(2), body)
        if m := re.fullmatch(r"/webhooks/\d+/([^/]+)(?:/messages/(@original|\d+))?", path):
            return self._webhook(method, m.group(1), m.group(2), body)
        if (m := re.fullmatch(r"/guilds/(\d+)/threads/active", path)) and method == "GET":
            return self._active_threads(int(m.group(1)))
        if (m := re.fullmatch(r"/channels/(\d+)/messages/(\d+)/threads", path)) and method == "POST":
            return self._thread_from_message(int(m.group(1)), m.group(2), body or {})
        if (m := re.fullmatch(r"/channels/(\d+)/threads", path)) and method == "POST":
            return self._thread_in_channel(int(m.group(1)), body or {})
        if (m := re.fullmatch(r"/channels/(\d+)(/messages(?:/(\d+))?)?", path)) and (m.group(2) or method == "GET"):
            return self._channel(method, int(m.group(1)), bool(m.group(2)), m.group(3), body)
        fake.unknown_routes.append(f"{method} {path}")
        log.warning("fake Discord has no route for %s %s (answered 404)", method, path)
        return json_response({"code": 0, "message": f"404: Not Found (the fake has no route for {method} {path})"},
                             404)

    # --- application commands -----------------------------------------------------------------------

    def _stored(self, command: dict[str, Any], guild_id: int | None, command_id: str | None = None) -> dict[str, Any]:
        stored = {k: command[k] for k in COMMAND_FIELDS if k in command}
        permissions = command.get("default_member_permissions")  # Discord answers it as a string
        stored.update(id=command_id or str(self.fake.next_id()), application_id=str(APP_ID), version="1",
                      type=command.get("type", 1), default_member_permissions=None if permissions is None
                      else str(permissions))
        if guild_id is not None:
            stored["guild_id"] = str(guild_id)
        return stored

    def _commands(self, method: str, guild_id: int | None, command_id: str | None, body: Any) -> web.Response:
        fake = self.fake
        current = fake.commands if guild_id is None else fake.guild_commands.setdefault(guild_id, [])
        if method == "PUT" and command_id is None:  # bulk overwrite: what CommandTree.sync() does
            fake.command_syncs += 1
            fake.syncs.append((guild_id, list(body)))
            kept = {c["name"]: c["id"] for c in current}
            current[:] = [self._stored(c, guild_id, kept.get(c["name"])) for c in body]
            return json_response(current)
        if method == "GET" and command_id is None:
            return json_response(current)
        if method == "POST" and command_id is None:  # upsert one
            existing = next((c for c in current if c["name"] == body["name"]), None)
            stored = self._stored(body, guild_id, existing["id"] if existing else None)
            current[:] = [c for c in current if c["name"] != body["name"]] + [stored]
            return json_response(stored, 200 if existing else 201)
        found = next((c for c in current if c["id"] == command_id), None)
        if found is None:
            return json_response({"code": 10063, "message": "Unknown application command"}, 404)
        if method == "GET":
            return json_response(found)
        if method == "PATCH":
            found.update({k: v for k, v in body.items() if k in COMMAND_FIELDS})
            return json_response(found)
        if method == "DELETE":
            current.remove(found)
            return web.Response(status=204)
        return error(405, message="405: Method Not Allowed")

    # --- interactions -------------------------------------------------------------------------------

    def _record(self, token: str) -> Interaction | None:
        return next((r for r in self.fake.interactions.values() if r.token == token), None)

    def _new_message(self, record: Interaction, body: dict[str, Any]) -> dict[str, Any]:
        channel_id = int(record.payload["channel_id"])
        metadata = {"id": str(record.id), "type": record.kind, "user": record.payload["member"]["user"]}
        message = p.message(self.fake.next_id(), channel_id, body, interaction=metadata)
        self.fake._messages[int(message["id"])] = message
        self._keep_files(body, message)
        return message

    def _keep_files(self, body: dict[str, Any], message: dict[str, Any]) -> None:
        """The bytes of the files a message carries, by their attachment URL (never part of the JSON)."""
        for sent, attached in zip(body.get("attachments") or [], message["attachments"], strict=True):
            self.fake.files[attached["url"]] = sent.pop("_data", b"")

    def _callback(self, interaction_id: int, token: str, body: dict[str, Any]) -> web.Response:
        record = self.fake.interactions.get(interaction_id)
        if record is None or record.token != token:
            return json_response({"code": 10062, "message": "Unknown interaction"}, 404)
        if record.callback is not None:
            return json_response({"code": 40060, "message": "Interaction has already been acknowledged."}, 400)
        record.callback, record.callback_at = body, time.perf_counter()
        kind = body["type"]
        data = body.get("data") or {}
        message: dict[str, Any] | None = None
        if kind in (4, 5):  # a new message (5: "thinking…" until edited)
            message = record.message = self._new_message(record, data)
        elif kind in (6, 7) and "message" in record.payload:  # the clicked message (7: updated now)
            message_id = int(record.payload["message"]["id"])
            message = self.fake._messages.get(message_id, record.payload["message"])
            record.message = message
            if kind == 7:
                message = self._edit(message, data, skip=record)
        record.answered.set()
        response: dict[str, Any] = {"interaction": {
            "id": str(interaction_id), "type": record.kind, "response_message_id": message["id"] if message else None,
            "response_message_loading": kind == 5, "response_message_ephemeral": bool(data.get("flags", 0) & 64)}}
        if message is not None and kind in (4, 5, 7):
            response["resource"] = {"type": kind, "message": message}
        return json_response(response)

    def _edit(self, message: dict[str, Any], body: dict[str, Any], skip: Interaction | None = None) -> dict[str, Any]:
        """Edit a message, and record the edit on every interaction whose response or follow-up it is (the
        slash command that created it, a click that deferred and then edited it), except ``skip``: a
        click answered with type 7 shows the update in its own callback data."""
        edited = {**message, **{k: v for k, v in body.items() if k in ("content", "embeds", "components")},
                  "allowed_mentions": body.get("allowed_mentions"), "edited_timestamp": datetime.now(UTC).isoformat()}
        self.fake._messages[int(message["id"])] = edited
        for record in self.fake.interactions.values():
            if record.message is not None and record.message["id"] == edited["id"]:
                record.message = edited
                if record is not skip:
                    record.edits.append(edited)
            record.followups[:] = [edited if f["id"] == edited["id"] else f for f in record.followups]
        return edited

    def _webhook(self, method: str, token: str, message_id: str | None, body: Any) -> web.Response:
        record = self._record(token)
        if record is None:
            return json_response({"code": 10015, "message": "Unknown Webhook"}, 404)
        if message_id is None:
            if method != "POST":
                return error(405, message="405: Method Not Allowed")
            if record.callback is None:
                return json_response({"code": 10015, "message": "Unknown Webhook"}, 404)
            followup = self._new_message(record, body or {})
            record.followups.append(followup)
            return json_response(followup)
        target = record.message if message_id == "@original" else self.fake._messages.get(int(message_id))
        if target is None:
            return json_response({"code": 10008, "message": "Unknown Message"}, 404)
        if method == "GET":
            return json_response(target)
        if method == "PATCH":
            return json_response(self._edit(target, body or {}))
        if method == "DELETE":
            self.fake._messages.pop(int(target["id"]), None)
            if record.message is not None and target["id"] == record.message["id"]:
                record.deleted = True
            return web.Response(status=204)
        return error(405, message="405: Method Not Allowed")

    # --- channels -----------------------------------------------------------------------------------

    def _find(self, channel_id: int) -> tuple[FakeGuild, FakeChannel] | None:
        """The guild channel, or for a thread its parent channel; None when there is none (or it is gone)."""
        fake = self.fake
        found = next(((g, c) for g in fake.guilds.values() for c in g.channels if c.id == channel_id), None)
        if found is None and channel_id in fake.threads:
            found = fake._thread_parents[channel_id]
        return None if found is None or found[1].missing else found

    def _new_thread(self, thread_id: int, guild: FakeGuild, parent: FakeChannel,
                    body: dict[str, Any]) -> dict[str, Any]:
        thread = p.thread(thread_id, guild, parent, str(body.get("name") or "thread"),
                          int(body.get("auto_archive_duration") or 1440))
        self.fake.threads[thread_id] = thread
        self.fake._thread_parents[thread_id] = (guild, parent)
        return thread

    def _active_threads(self, guild_id: int) -> web.Response:
        """GET /guilds/{id}/threads/active: the guild's threads and forum posts that are not archived (what a
        bot sees after a restart, with no gateway event for them)."""
        threads = [t for t in self.fake.threads.values()
                   if t["guild_id"] == str(guild_id) and not t["thread_metadata"]["archived"]]
        return json_response({"threads": threads, "members": []})

    def _thread_from_message(self, channel_id: int, message_id: str, body: dict[str, Any]) -> web.Response:
        """POST /channels/{id}/messages/{id}/threads: a public thread on a message, with the message's id."""
        found = self._find(channel_id)
        if found is None:
            return error(404)
        guild, channel = found
        if channel.forbidden:
            return error(403)
        if not any(m["id"] == message_id for m in self.fake._channel_messages.get(channel_id, [])):
            return json_response({"code": 10008, "message": "Unknown Message"}, 404)
        if int(message_id) in self.fake.threads:
            return json_response({"code": 160004, "message": "A thread has already been created for this message"},
                                 400)
        return json_response(self._new_thread(int(message_id), guild, channel, body), 201)

    def _thread_in_channel(self, channel_id: int, body: dict[str, Any]) -> web.Response:
        """POST /channels/{id}/threads: in a forum, a post (a thread and its first message, the same id)."""
        found = self._find(channel_id)
        if found is None:
            return error(404)
        guild, channel = found
        if channel.forbidden:
            return error(403)
        if channel.kind == FORUM and not body.get("message"):
            return json_response({"code": 50006, "message": "Cannot send an empty message"}, 400)
        thread = self._new_thread(self.fake.next_id(), guild, channel, body)
        if channel.kind != FORUM:
            return json_response(thread, 201)
        message = p.message(int(thread["id"]), int(thread["id"]), body["message"])
        self.fake._messages[int(message["id"])] = message
        self.fake._channel_messages.setdefault(int(thread["id"]), []).append(message)
        thread.update(message_count=1, last_message_id=message["id"])
        return json_response({**thread, "message": message}, 201)

    def _same_nonce(self, channel_id: int, body: dict[str, Any]) -> dict[str, Any] | None:
        """With ``enforce_nonce``, Discord answers a message create by the same author in the same channel with a
        nonce it saw within the last few minutes with that earlier message, and creates nothing."""
        fake = self.fake
        if not body.get("enforce_nonce") or body.get("nonce") is None:
            return None
        seen = fake._nonces.get((BOT_ID, channel_id, str(body["nonce"])))
        if seen is None or fake.clock() - seen[0] > fake.nonce_window_s:
            return None
        earlier = fake._messages.get(seen[1])
        if earlier is not None:
            fake.deduplicated.append(str(body["nonce"]))
        return earlier

    def _channel(self, method: str, channel_id: int, messages: bool, message_id: str | None,
                 body: Any) -> web.Response:
        fake = self.fake
        found = self._find(channel_id)
        if found is None:
            return error(404)
        guild, channel = found
        if not messages:
            return json_response(fake.threads[channel_id] if channel_id in fake.threads else p.channel(guild, channel))
        posted = fake._channel_messages.setdefault(channel_id, [])
        if message_id is None:
            if method == "GET":
                return json_response(list(reversed(posted)))
            if method != "POST":
                return error(405, message="405: Method Not Allowed")
            if channel.forbidden:
                return error(403)
            if channel.kind == FORUM and channel_id not in fake.threads:
                return json_response({"code": 50008, "message": "Cannot send messages in a non-text channel"}, 400)
            earlier = self._same_nonce(channel_id, body or {})
            if earlier is not None:
                return json_response(earlier)
            message = p.message(fake.next_id(), channel_id, body or {})
            fake._messages[int(message["id"])] = message
            self._keep_files(body or {}, message)
            posted.append(message)
            if (body or {}).get("enforce_nonce") and body.get("nonce") is not None:
                fake._nonces[(BOT_ID, channel_id, str(body["nonce"]))] = (fake.clock(), int(message["id"]))
            return json_response(message)
        index = next((i for i, m in enumerate(posted) if m["id"] == message_id), None)
        if index is None:
            return json_response({"code": 10008, "message": "Unknown Message"}, 404)
        if method == "GET":
            return json_response(posted[index])
        if method == "PATCH":
            posted[index] = {**posted[index], **{k: v for k, v in body.items() if k in ("content", "embeds",
                                                                                       "components")}}
            fake._messages[int(message_id)] = posted[index]
            return json_response(posted[index])
        if method == "DELETE":
            fake._messages.pop(int(posted.pop(index)["id"]), None)
            return web.Response(status=204)
        return error(405, message="405: Method Not Allowed")
