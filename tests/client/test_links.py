"""Every source one click away, and a server with several topics, through the fake Discord: the outlet's name
links to the article in every answer, within Discord's limits (long answers page); /casualties, /timeline and
/territory without a topic give one section per topic."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bot.briefing import embed_size
from bot.model import Article, Event
from storage import ArticleFacts, Batch
from tests.client.conftest import ADMIN, CHANNEL_A, GUILD_A, MEMBER, World
from tests.fakediscord import MANAGE_GUILD, MEMBER_PERMISSIONS

LINK = re.compile(r"\[(Frontier Wire|Border Monitor)\]\((http://127\.0\.0\.1:\d+/[^)\s]+)\)")
BORDER, SUDAN = "Pakistan–Afghanistan border", "Sudan war"


def _within_limits(message: dict[str, Any]) -> None:
    embeds = message["embeds"]
    assert 1 <= len(embeds) <= 10
    assert sum(embed_size(e) for e in embeds) <= 6000
    for e in embeds:
        assert len(e["description"]) <= 4096 and len(e["title"]) <= 256


def _links(message: dict[str, Any]) -> list[tuple[str, str]]:
    _within_limits(message)
    return LINK.findall("\n".join(e["description"] for e in message["embeds"]))


async def test_outlets_link_to_their_articles_in_every_answer(world: World) -> None:
    articles = {f.article.url for f in world.store.facts(topics=["pak-afg"])}
    for command in ("casualties", "territory", "timeline", "brief"):
        reply = await world.fake.slash(GUILD_A, MEMBER, command, {"topic": "pak-afg"})
        links = _links(reply.data)
        assert links, f"/{command} links no outlet"
        assert {url for _, url in links} <= articles
    choices = await world.fake.autocomplete(GUILD_A, MEMBER, "incident", "incident", "Kurram",
                                            others={"topic": "pak-afg"})
    incident = await world.fake.slash(GUILD_A, MEMBER, "incident", {"incident": choices[0]["value"],
                                                                     "topic": "pak-afg"})
    assert _links(incident.data)


async def test_the_digest_and_alerts_link_their_outlets(empty_world: World) -> None:
    world = empty_world
    reply = await world.fake.slash(GUILD_A, ADMIN, "config alerts add", {"channel": CHANNEL_A, "min_killed": 20},
                                   permissions=MEMBER_PERMISSIONS | MANAGE_GUILD)
    assert "Alert a1" in reply.text
    await world.poll()
    settings = replace(world.store.guild(GUILD_A), digest_channel_id=CHANNEL_A, digest_enabled=True,
                       digest_time="08:00", timezone="UTC")
    await world.store.commit(Batch(guilds=(settings,)))
    world.outlets.phase = 2
    await world.poll()
    [alert] = world.fake.channel_messages(CHANNEL_A)
    assert _links(alert)
    assert await world.bot.digests.run(GUILD_A, slot=datetime(2026, 11, 25, 8, 0, tzinfo=UTC)) == "posted"
    digest = world.fake.channel_messages(CHANNEL_A)[-1]
    assert _links(digest)


async def test_long_linked_answers_page_within_the_limits_and_keep_every_link(world: World) -> None:
    long_url = "https://example.org/world/asia/" + "a-very-long-slug-of-an-article-about-the-border-" * 6
    published = datetime.now(UTC) - timedelta(days=1)
    batch = []
    for i in range(80):
        article = Article(url=f"{long_url}{i}", outlet="Archive (Wire)", title=f"Report {i}", source_id="x",
                          published=published, text_hash=f"long{i}", topics=("pak-afg",))
        event = Event(summary=f"Clash number {i} near the crossing", quote=f"q{i}",
                      date=(date(2025, 1, 1) + timedelta(days=i)).isoformat(), date_precision="day")
        batch.append(ArticleFacts(article, (event,)))
    await world.store.commit(Batch(articles=tuple(batch)))
    reply = await world.fake.slash(GUILD_A, MEMBER, "timeline", {"topic": "pak-afg"})
    original = world.fake.original_message(reply)
    pages = [original]
    count = int(re.search(r"page 1/(\d+)", original["embeds"][0]["footer"]["text"]).group(1))  # type: ignore[union-attr]
    for _ in range(count - 1):
        pages.append((await world.fake.click(GUILD_A, MEMBER, original, "sitrep:next")).data)
    assert len(pages) > 1
    seen = set()
    for page in pages:
        _within_limits(page)
        seen |= set(re.findall(r"\[Archive \(Wire\)\]\((https://example\.org/[^)\s]+)\)",
                               page["embeds"][0]["description"]))
    assert seen == {f"{long_url}{i}" for i in range(80)}  # every line links its article


async def test_a_server_with_two_topics_gets_one_section_per_topic(world: World) -> None:
    for command in ("casualties", "timeline", "territory"):
        reply = await world.fake.slash(GUILD_A, MEMBER, command)
        headings = re.findall(r"^\*\*(.+?)\*\*$", reply.text, flags=re.MULTILINE)
        assert headings, f"/{command}: no sections"
        assert all(h.startswith((BORDER, SUDAN)) for h in headings), headings
        if command != "territory":  # the demo has no territory claim about Sudan
            assert any(h.startswith(SUDAN) for h in headings) and any(h.startswith(BORDER) for h in headings)
        assert "all topics" in reply.data["embeds"][0]["title"]
    reply = await world.fake.slash(GUILD_A, MEMBER, "casualties")
    description = reply.data["embeds"][0]["description"]
    sudan = description[description.index(f"**{SUDAN}"):]  # the topics' sections, in the config's order
    assert "Pakistan" not in sudan and "Taliban" not in sudan  # Sudan's sections hold no border figure
    assert "Pakistan–Afghanistan border: " in reply.data["embeds"][0]["footer"]["text"]


async def test_map_arrives_as_a_png_with_every_incident_listed(world: World) -> None:
    reply = await world.fake.slash(GUILD_A, MEMBER, "map", {"topic": "pak-afg"}, timeout=30)
    assert reply.callback_type == 5 and reply.ack_ms < 3000  # deferred at once, read and drawn off the loop
    (attachment,) = reply.final["attachments"]
    assert attachment["filename"] == "map-pak-afg.png"
    png = world.fake.attachment_data(attachment)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[16:24] == (1200).to_bytes(4, "big") + (900).to_bytes(4, "big")
    assert "Kurram District" in reply.text and "never a sum" in reply.text
    _within_limits(reply.final)


async def test_the_digest_carries_the_map_when_the_admins_ask_for_it(world: World) -> None:
    reply = await world.fake.slash(GUILD_A, ADMIN, "config digest map", {"on": True},
                                   permissions=MEMBER_PERMISSIONS | MANAGE_GUILD)
    assert "map" in reply.text and world.store.guild(GUILD_A).digest_map
    settings = replace(world.store.guild(GUILD_A), digest_channel_id=CHANNEL_A, digest_enabled=True,
                       digest_time="08:00", timezone="UTC")
    await world.store.commit(Batch(guilds=(settings,)))
    assert await world.bot.digests.run(GUILD_A, slot=datetime(2026, 11, 25, 8, 0, tzinfo=UTC)) == "posted"
    message = world.fake.channel_messages(CHANNEL_A)[-1]
    assert [a["filename"] for a in message["attachments"]] == ["digest-map.png"]
