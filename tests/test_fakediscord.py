"""The fake Discord works with the real discord.py client: a real ``commands.Bot`` with a tiny cog logs in,
syncs, and answers interactions; what it sends is recorded as Discord would see it."""

from __future__ import annotations

import asyncio
import gc
import io
import logging
from collections.abc import AsyncIterator

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from tests.fakediscord import (
    ADMIN_PERMISSIONS,
    FORUM,
    MANAGE_GUILD,
    MEMBER_PERMISSIONS,
    FakeChannel,
    FakeDiscord,
    FakeGuild,
    FakeMember,
    connected,
    fixtures,
)

GUILD, OTHER_GUILD = 100, 200
GENERAL, LOCKED, GONE, BOARD = 101, 102, 103, 104
OWNER, ADMIN, MEMBER = 1, 11, 12
PRIVILEGED_INTENTS = (1 << 1) | (1 << 8) | (1 << 15)  # members, presences, message content
TOPICS = ["pak-afg", "sudan", "sahel"]


class Pager(discord.ui.View):
    def __init__(self, owner: int) -> None:
        super().__init__(timeout=60)
        self.owner = owner
        self.page = 1

    @discord.ui.button(label="Next", custom_id="demo:next")
    async def next(self, interaction: discord.Interaction, _: discord.ui.Button[Pager]) -> None:
        if interaction.user.id != self.owner:
            await interaction.response.send_message("Only the person who asked can turn pages.", ephemeral=True)
            return
        self.page += 1
        await interaction.response.edit_message(content=f"page {self.page}", view=self)

    @discord.ui.button(label="Refresh", custom_id="demo:refresh")
    async def refresh(self, interaction: discord.Interaction, _: discord.ui.Button[Pager]) -> None:
        await interaction.response.defer()  # a deferred update (type 6), then an edit of the clicked message
        await interaction.edit_original_response(content=f"page {self.page}, refreshed")


class Feedback(discord.ui.Modal, title="Feedback"):
    text: discord.ui.TextInput[Feedback] = discord.ui.TextInput(label="Your words", custom_id="feedback:text")

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"thanks: {self.text.value}", ephemeral=True)


class Demo(commands.Cog):
    def __init__(self, bot: commands.Bot | commands.AutoShardedBot) -> None:
        self.bot = bot

    @app_commands.command(description="Answer at once")
    async def ping(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message("pong @everyone")

    @app_commands.command(description="Think, then answer")
    async def slow(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        await interaction.edit_original_response(content="done thinking",
                                                 embed=discord.Embed(title="Result", description="42"))
        note = await interaction.followup.send("a private note", ephemeral=True, wait=True)
        await note.edit(content="a private note, edited")

    @app_commands.command(description="Pick a topic")
    @app_commands.describe(topic="which topic")
    async def pick(self, interaction: discord.Interaction, topic: str, days: int = 7) -> None:
        await interaction.response.send_message(f"{topic} for {days} days", ephemeral=True)

    @pick.autocomplete("topic")
    async def _topics(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=t, value=t) for t in TOPICS if current in t]

    @app_commands.command(description="Answer with a button")
    async def pages(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message("page 1", view=Pager(interaction.user.id))

    @app_commands.command(description="Open a form")
    async def feedback(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(Feedback(custom_id="feedback"))

    @app_commands.command(description="Post to a channel")
    async def post(self, interaction: discord.Interaction, channel: discord.TextChannel, text: str) -> None:
        await interaction.response.defer(ephemeral=True)
        try:
            await channel.send(text)
        except discord.Forbidden as exc:
            await interaction.followup.send(f"forbidden: {exc.code}", ephemeral=True)
            return
        await interaction.followup.send("posted", ephemeral=True)

    config = app_commands.Group(name="config", description="Settings", default_permissions=discord.Permissions(
        manage_guild=True))
    feeds = app_commands.Group(name="feeds", description="Feeds", parent=config)

    @feeds.command(name="add", description="Follow a feed")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def feeds_add(self, interaction: discord.Interaction, url: str) -> None:
        await interaction.response.send_message(f"following {url}", ephemeral=True)

    async def cog_app_command_error(self, interaction: discord.Interaction,
                                    error: app_commands.AppCommandError) -> None:
        if isinstance(error, app_commands.MissingPermissions):
            await interaction.response.send_message("You need Manage Server.", ephemeral=True)
            return
        raise error


class DemoBot(commands.Bot):
    def __init__(self) -> None:
        super().__init__(command_prefix=commands.when_mentioned, intents=discord.Intents.default(),
                         allowed_mentions=discord.AllowedMentions.none(), guild_ready_timeout=0.05)

    async def setup_hook(self) -> None:
        await self.add_cog(Demo(self))
        await self.tree.sync()


def _guilds() -> list[FakeGuild]:
    return [
        FakeGuild(GUILD, "Watchers", [FakeChannel(GENERAL, "general"), FakeChannel(LOCKED, "locked", forbidden=True),
                                      FakeChannel(GONE, "gone", missing=True), FakeChannel(BOARD, "board", kind=FORUM)],
                  owner_id=OWNER,
                  members=[FakeMember(ADMIN, ADMIN_PERMISSIONS, "admin"), FakeMember(MEMBER, name="member")]),
        FakeGuild(OTHER_GUILD, "Others", [FakeChannel(201, "news")]),
    ]


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord(_guilds()) as server:
        server.install(monkeypatch)
        yield server
        assert server.errors == []  # the fake understood every request


@pytest.fixture
async def bot(fake: FakeDiscord) -> AsyncIterator[DemoBot]:
    async with connected(fake, DemoBot()) as client:
        assert isinstance(client, DemoBot)
        yield client


async def test_login_identify_ready_and_guilds(fake: FakeDiscord, bot: DemoBot) -> None:
    assert fake.identify_payload is not None
    assert fake.identify_payload["intents"] & PRIVILEGED_INTENTS == 0
    assert fake.identify_payload["token"] == "<redacted>"
    await bot.wait_until_ready()
    assert bot.user is not None and bot.user.bot
    assert bot.application_id is not None
    assert {g.id for g in bot.guilds} == {GUILD, OTHER_GUILD}
    guild = bot.get_guild(GUILD)
    assert guild is not None and guild.owner_id == OWNER
    assert guild.get_channel(GENERAL) is not None and guild.get_channel(GONE) is None
    me = guild.me
    assert guild.get_channel(GENERAL).permissions_for(me).send_messages  # type: ignore[union-attr]
    assert not guild.get_channel(LOCKED).permissions_for(me).send_messages  # type: ignore[union-attr]
    info = await bot.application_info()
    assert info.id == bot.application_id and await bot.is_owner(info.owner)
    fetched = await bot.fetch_channel(GENERAL)
    assert isinstance(fetched, discord.TextChannel) and fetched.name == "general"
    with pytest.raises(discord.NotFound):
        await bot.fetch_channel(GONE)
    assert fake.unknown_routes == []


async def test_commands_sync_is_recorded_with_ids_and_permissions(fake: FakeDiscord, bot: DemoBot) -> None:
    assert fake.command_syncs == 1
    assert {c["name"] for c in fake.synced_commands} == {"ping", "slow", "pick", "pages", "feedback", "post",
                                                               "config"}
    assert all(c["id"].isdigit() for c in fake.synced_commands)
    assert fake.command("config")["default_member_permissions"] == str(MANAGE_GUILD)
    ids = {c["name"]: c["id"] for c in fake.synced_commands}
    await bot.tree.sync()  # a second sync keeps the ids, as Discord does for unchanged names
    assert fake.command_syncs == 2 and {c["name"]: c["id"] for c in fake.synced_commands} == ids
    await bot.tree.sync(guild=discord.Object(OTHER_GUILD))
    assert fake.syncs[-1][0] == OTHER_GUILD
    remote = await bot.tree.fetch_commands()
    assert {c.name for c in remote} == set(ids) and {c.id for c in remote} == {int(i) for i in ids.values()}


async def test_a_slash_command_reply_is_recorded(fake: FakeDiscord, bot: DemoBot) -> None:
    reply = await fake.slash(GUILD, MEMBER, "ping")
    assert reply.callback_type == 4
    assert reply.content == "pong @everyone"
    assert reply.allowed_mentions == {"parse": []}  # the bot's AllowedMentions.none(): nobody gets pinged
    assert not reply.ephemeral
    assert 0 <= reply.ack_ms < 3000
    assert reply.message is not None and reply.message["channel_id"] == str(GENERAL)


async def test_defer_then_edit_and_followup(fake: FakeDiscord, bot: DemoBot) -> None:
    reply = await fake.slash(GUILD, MEMBER, "slow")
    assert reply.callback_type == 5 and reply.deferred
    await fake.wait_for(lambda: any(f["content"].endswith("edited") for f in reply.followups))
    assert reply.content == "done thinking"
    assert reply.embeds[0]["title"] == "Result" and "42" in reply.text
    assert [f["content"] for f in reply.followups] == ["a private note, edited"]  # edited in place
    assert reply.followups[0]["flags"] & 64  # ephemeral follow-up


async def test_options_subcommand_groups_and_permissions(fake: FakeDiscord, bot: DemoBot) -> None:
    answer = await fake.slash(GUILD, MEMBER, "pick", {"topic": "sudan", "days": 3})
    assert answer.content == "sudan for 3 days" and answer.ephemeral
    refused = await fake.slash(GUILD, MEMBER, "config feeds add", {"url": "https://example.org/rss"})
    assert refused.ephemeral and "Manage Server" in refused.content
    allowed = await fake.slash(GUILD, ADMIN, "config feeds add", {"url": "https://example.org/rss"})
    assert allowed.content == "following https://example.org/rss"
    owner = await fake.slash(GUILD, OWNER, "config feeds add", {"url": "https://a.example/"})
    assert owner.content.startswith("following")
    explicit = await fake.slash(GUILD, MEMBER, "config feeds add", {"url": "https://b.example/"},
                                permissions=MEMBER_PERMISSIONS | MANAGE_GUILD)
    assert explicit.content.startswith("following")
    with pytest.raises(KeyError, match="no option"):
        await fake.slash(GUILD, MEMBER, "pick", {"nope": 1})


async def test_autocomplete_returns_the_bots_choices(fake: FakeDiscord, bot: DemoBot) -> None:
    choices = await fake.autocomplete(GUILD, MEMBER, "pick", "topic", "sa")
    assert [c["value"] for c in choices] == ["sahel"]
    record = await fake.autocomplete_record(GUILD, MEMBER, "pick", "topic", "")
    assert record.callback_type == 8 and len(record.choices) == 3


async def test_buttons_are_clicked_on_the_message_that_carries_them(fake: FakeDiscord, bot: DemoBot) -> None:
    reply = await fake.slash(GUILD, MEMBER, "pages")
    assert reply.custom_ids == ["demo:next", "demo:refresh"]
    refused = await fake.click(GUILD, ADMIN, reply, "demo:next")
    assert refused.callback_type == 4 and refused.ephemeral and "Only the person" in refused.content
    turned = await fake.click(GUILD, MEMBER, reply, "demo:next")
    assert turned.callback_type == 7 and turned.content == "page 2"
    assert reply.content == "page 2"  # the original message was updated in place
    again = await fake.click(GUILD, MEMBER, fake.original_message(reply), "demo:next")
    assert again.content == "page 3"
    refreshed = await fake.click(GUILD, MEMBER, reply, "demo:refresh", wait_final=True)
    assert refreshed.callback_type == 6 and refreshed.content == "page 3, refreshed"
    assert reply.content == "page 3, refreshed" and len(reply.edits) == 3


async def test_a_modal_is_shown_and_submitted(fake: FakeDiscord, bot: DemoBot) -> None:
    form = await fake.slash(GUILD, MEMBER, "feedback")
    assert form.callback_type == 9 and form.data["custom_id"] == "feedback"
    submitted = await fake.submit_modal(GUILD, MEMBER, "feedback", {"feedback:text": "clear and short"})
    assert submitted.content == "thanks: clear and short" and submitted.ephemeral


async def test_a_429_on_a_channel_post_is_retried_and_posted_once(fake: FakeDiscord, bot: DemoBot) -> None:
    fake.fail_next("POST", "/channels/{id}/messages", status=429, retry_after=0.05)
    reply = await fake.slash(GUILD, ADMIN, "post", {"channel": GENERAL, "text": "hello"})
    assert reply.followups[0]["content"] == "posted"
    assert [m["content"] for m in fake.channel_messages(GENERAL)] == ["hello"]
    assert fake.requests.count(f"POST /channels/{GENERAL}/messages") == 2  # the 429, then the retry


async def test_a_forbidden_channel_raises_forbidden_in_the_bot(fake: FakeDiscord, bot: DemoBot) -> None:
    reply = await fake.slash(GUILD, ADMIN, "post", {"channel": LOCKED, "text": "hello"})
    assert reply.followups[0]["content"] == "forbidden: 50013"
    assert fake.channel_messages(LOCKED) == []
    with pytest.raises(discord.NotFound) as gone:
        await bot.http.send_message(GONE, params=discord.http.handle_message_parameters(content="x"))
    assert gone.value.code == 10003
    fake.fail_next("POST", rf"/channels/{GENERAL}/messages", status=403)
    channel = bot.get_channel(GENERAL)
    assert isinstance(channel, discord.TextChannel)
    with pytest.raises(discord.Forbidden):
        await channel.send("once refused")
    await channel.send("then accepted")
    assert [m["content"] for m in fake.channel_messages(GENERAL)] == ["then accepted"]


async def test_a_reconnect_resumes_the_session(fake: FakeDiscord, bot: DemoBot) -> None:
    await fake.request_reconnect()
    await fake.wait_ready()
    assert fake.resumes == 1 and fake.identifies == 1
    reply = await fake.slash(GUILD, MEMBER, "ping")
    assert reply.content.startswith("pong")


async def test_a_wrong_token_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    async with FakeDiscord(_guilds(), token="right") as server:
        server.install(monkeypatch)
        client = DemoBot()
        with pytest.raises(discord.LoginFailure):
            await client.login("wrong")
        await client.close()


async def test_unknown_routes_answer_404_and_are_recorded(fake: FakeDiscord, bot: DemoBot) -> None:
    with pytest.raises(discord.NotFound):
        await bot.http.get_guild(GUILD)
    assert fake.unknown_routes == [f"GET /guilds/{GUILD}"]


async def test_the_bot_closes_cleanly(fake: FakeDiscord, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = DemoBot()
    async with connected(fake, client):
        await fake.slash(GUILD, MEMBER, "ping")
    assert client.is_closed()
    assert client.http._HTTPClient__session.closed  # type: ignore[attr-defined]
    gc.collect()
    assert not [r for r in caplog.records if "Unclosed" in r.getMessage() or r.levelno >= logging.ERROR]


fake_discord = fixtures.fake_discord  # the shared fixture: one guild, an admin and a member


async def test_the_shared_fixture_serves_a_guild_with_an_admin(fake_discord: FakeDiscord) -> None:
    async with connected(fake_discord, DemoBot()):
        refused = await fake_discord.slash(fixtures.GUILD_ID, fixtures.MEMBER_ID, "config feeds add", {"url": "u"})
        allowed = await fake_discord.slash(fixtures.GUILD_ID, fixtures.ADMIN_ID, "config feeds add", {"url": "u"})
    assert "Manage Server" in refused.content and allowed.content == "following u"
    assert refused.payload["member"]["permissions"] == str(MEMBER_PERMISSIONS)


async def test_an_auto_sharded_bot_asks_for_the_gateway_and_connects(fake: FakeDiscord) -> None:
    class Sharded(commands.AutoShardedBot):
        async def setup_hook(self) -> None:
            await self.add_cog(Demo(self))
            await self.tree.sync()

    client = Sharded(command_prefix=commands.when_mentioned, intents=discord.Intents.default(),
                     guild_ready_timeout=0.05)
    async with connected(fake, client):
        assert "GET /gateway/bot" in fake.requests
        reply = await fake.slash(GUILD, MEMBER, "ping")
    assert reply.content.startswith("pong")


async def test_each_shard_gets_its_guilds_and_their_interactions(monkeypatch: pytest.MonkeyPatch) -> None:
    even, odd = 100, (1 << 22) + 100  # (id >> 22) % 2: shard 0 and shard 1 of 2
    received: dict[int, list[str]] = {0: [], 1: []}

    class Sharded(commands.AutoShardedBot):
        async def setup_hook(self) -> None:
            await self.add_cog(Demo(self))
            await self.tree.sync()

        async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
            pass  # discord.py waits 5 s between IDENTIFYs (Discord's limit); the fake has none

        async def on_interaction(self, interaction: discord.Interaction) -> None:
            assert interaction.guild is not None
            received[interaction.guild.shard_id].append(str(interaction.guild_id))

    async with FakeDiscord([FakeGuild(even, "Even", [FakeChannel(101)]), FakeGuild(odd, "Odd", [FakeChannel(102)])],
                           shard_count=2) as fake:
        fake.install(monkeypatch)
        client = Sharded(command_prefix=commands.when_mentioned, intents=discord.Intents.default(),
                         guild_ready_timeout=0.05)
        async with connected(fake, client):
            await asyncio.wait_for(client.wait_until_ready(), 10)
            assert client.shard_count == 2 and fake.shards == [(0, 2), (1, 2)]  # /gateway/bot advised 2
            assert [p["shard"] for p in fake.identify_payloads] == [[0, 2], [1, 2]]
            assert {g.id: g.shard_id for g in client.guilds} == {even: 0, odd: 1}
            assert fake.connection_for(odd).shard == (1, 2)
            assert (await fake.slash(odd, MEMBER, "ping")).content.startswith("pong")
            assert (await fake.slash(even, MEMBER, "ping")).content.startswith("pong")
            assert received == {0: [str(even)], 1: [str(odd)]}
            await fake.request_reconnect(shard_id=1)  # one shard reconnects and resumes as itself
            await fake.wait_for(lambda: fake.resumes == 1 and fake.ready.is_set() and fake.shards == [(0, 2), (1, 2)])
            assert (await fake.slash(odd, MEMBER, "ping")).content.startswith("pong")
            assert received[1] == [str(odd), str(odd)]


async def test_a_message_resent_with_its_nonce_is_the_earlier_message(fake: FakeDiscord, bot: DemoBot) -> None:
    channel = bot.get_channel(GENERAL)
    assert isinstance(channel, discord.TextChannel)
    first = await channel.send("daily digest", nonce="digest-1")  # discord.py adds enforce_nonce
    again = await channel.send("daily digest", nonce="digest-1")
    assert again.id == first.id and again.nonce == "digest-1"
    assert [m["id"] for m in fake.channel_messages(GENERAL)] == [str(first.id)] and fake.deduplicated == ["digest-1"]
    other = await channel.send("another", nonce="digest-2")  # another nonce: another message
    start = fake.clock()
    fake.clock = lambda: start + 301  # Discord keeps a nonce about five minutes
    late = await channel.send("daily digest", nonce="digest-1")
    assert len({first.id, other.id, late.id}) == 3 and len(fake.channel_messages(GENERAL)) == 3


async def test_a_failure_can_wait_for_earlier_requests(fake: FakeDiscord, bot: DemoBot) -> None:
    channel = bot.get_channel(GENERAL)
    assert isinstance(channel, discord.TextChannel)
    fake.fail_next("POST", "/channels/{id}/messages", status=400, code=0, message="third", after=2)
    await channel.send("one")
    await channel.send("two")
    with pytest.raises(discord.HTTPException, match="third"):
        await channel.send("three")
    await channel.send("four")
    assert [m["content"] for m in fake.channel_messages(GENERAL)] == ["one", "two", "four"]


async def test_attachments_are_accepted_and_their_json_recorded(fake: FakeDiscord, bot: DemoBot) -> None:
    channel = bot.get_channel(GENERAL)
    assert isinstance(channel, discord.TextChannel)
    await channel.send("with a file", file=discord.File(io.BytesIO(b"data"), "facts.csv"))
    assert [m["content"] for m in fake.channel_messages(GENERAL)] == ["with a file"]
    assert fake.channel_messages(GENERAL)[0]["attachments"][0]["filename"] == "facts.csv"
    assert fake.channel_messages(GENERAL)[0]["attachments"][0]["size"] == 4
    assert fake.errors == []


async def test_a_429_on_the_interaction_callback_is_retried_by_the_webhook_adapter(fake: FakeDiscord,
                                                                                   bot: DemoBot) -> None:
    fake.fail_next("POST", "/interactions/{id}/{token}/callback", status=429, retry_after=0.02, times=2)
    reply = await fake.slash(GUILD, MEMBER, "ping")
    assert reply.content.startswith("pong")
    assert sum(r.endswith("/callback") for r in fake.requests) == 3  # two 429s, then the answer
    assert reply.ack_ms >= 40  # the bot waited retry_after each time


async def test_a_thread_on_a_message_takes_its_id_and_holds_messages(fake: FakeDiscord, bot: DemoBot) -> None:
    channel = bot.get_channel(GENERAL)
    assert isinstance(channel, discord.TextChannel)
    post = await channel.send("incident")
    thread = await post.create_thread(name="Kurram clashes", auto_archive_duration=1440)
    assert thread.id == post.id and thread.parent_id == GENERAL and thread.name == "Kurram clashes"
    await bot.get_partial_messageable(thread.id, type=discord.ChannelType.public_thread).send("follow-up")
    await thread.send("another")
    assert [t["name"] for t in fake.threads_in(GENERAL)] == ["Kurram clashes"]
    assert [m["content"] for m in fake.channel_messages(thread.id)] == ["follow-up", "another"]
    assert [m["content"] for m in fake.channel_messages(GENERAL)] == ["incident"]  # not in the channel itself
    fetched = await bot.fetch_channel(thread.id)
    assert isinstance(fetched, discord.Thread) and fetched.parent_id == GENERAL
    with pytest.raises(discord.HTTPException) as twice:
        await channel.get_partial_message(post.id).create_thread(name="again")
    assert twice.value.code == 160004  # one thread per message, as on Discord
    with pytest.raises(discord.NotFound) as unknown:
        await channel.get_partial_message(42).create_thread(name="nothing there")
    assert unknown.value.code == 10008


async def test_a_forum_channel_takes_posts_not_messages(fake: FakeDiscord, bot: DemoBot) -> None:
    forum = bot.get_channel(BOARD)
    assert isinstance(forum, discord.ForumChannel)  # the guild payload says type 15
    created = await forum.create_thread(name="Drone strike", content="first", embeds=[discord.Embed(title="t")],
                                        allowed_mentions=discord.AllowedMentions.none())
    assert created.thread.parent_id == BOARD and created.message.id == created.thread.id
    await created.thread.send("second")
    assert [t["name"] for t in fake.threads_in(BOARD)] == ["Drone strike"]
    posted = fake.channel_messages(created.thread.id)
    assert [m["content"] for m in posted] == ["first", "second"]
    assert posted[0]["embeds"][0]["title"] == "t" and posted[0]["allowed_mentions"] == {"parse": []}
    with pytest.raises(discord.HTTPException) as refused:
        await bot.http.send_message(BOARD, params=discord.http.handle_message_parameters(content="x"))
    assert refused.value.code == 50008
    assert fake.channel_messages(BOARD) == []
    # After a restart a bot finds its posts among the guild's active threads; a post's first message has its id.
    [active] = [t for t in await forum.guild.active_threads() if t.parent_id == BOARD]
    assert active.id == created.thread.id and active.name == "Drone strike"
    assert (await active.fetch_message(active.id)).content == "first"
