"""/export end to end: the real bot attaches files to a fake Discord, and their rows are the stored claims."""

from __future__ import annotations

import json

from bot.briefing import read_csv
from bot.model import Casualty, Territory
from tests.client.conftest import GUILD_A, MEMBER, World


def stored_claims(world: World, topic: str) -> dict[str, object]:
    return {f.id: f for f in world.store.facts(topics=[topic]) if isinstance(f.fact, (Casualty, Territory))}


async def attached(world: World, reply: object, parts: int = 1) -> list[tuple[str, bytes]]:
    await world.fake.wait_for(lambda: len(reply.followups) >= parts)  # type: ignore[attr-defined]
    files = [(a["filename"], world.fake.attachment_data(a)) for m in reply.followups  # type: ignore[attr-defined]
             for a in m["attachments"]]
    assert len(files) == parts
    return files


async def test_export_attaches_a_csv_whose_rows_round_trip_to_the_stored_facts(world: World) -> None:
    reply = await world.fake.slash(GUILD_A, MEMBER, "export", {"topic": "pak-afg"})
    assert reply.deferred  # acknowledged at once, the file follows
    [(name, data)] = await attached(world, reply)
    assert name.startswith("sitrep-pak-afg-") and name.endswith(".csv")
    assert data.startswith(b"\xef\xbb\xbf")
    rows = read_csv(data)
    claims = stored_claims(world, "pak-afg")
    assert sorted(str(r["fact_id"]) for r in rows) == sorted(claims)
    assert {r["kind"] for r in rows} == {"casualty", "territory"}
    for row in rows:
        f = claims[str(row["fact_id"])]
        c = f.fact  # type: ignore[attr-defined]
        assert (row["quote"], row["url"], row["outlet"]) == (c.quote, f.article.url, f.article.outlet)  # type: ignore[attr-defined]
        assert (row["figure_low"], row["figure_high"], row["qualifier"], row["claimant"]) == \
            (c.count, c.count_high, c.qualifier, c.claimant)
        assert row["category"] == (c.category if isinstance(c, Casualty) else c.action)
    message = reply.followups[0]
    assert f"{len(rows)} claims" in message["content"] and "never added up" in message["content"]
    assert message["allowed_mentions"] == {"parse": []}


async def test_an_export_over_the_attachment_limit_arrives_in_parts_that_each_open(world: World) -> None:
    world.fake.guilds[GUILD_A].attachment_size_limit = 1500  # a tiny server limit, to split a small store
    reply = await world.fake.slash(GUILD_A, MEMBER, "export", {"topic": "pak-afg", "format": "csv"})
    whole = len(stored_claims(world, "pak-afg"))
    count = int(reply.followups[0]["content"].split(" of ")[1].split(":")[0])  # "Part 1 of N: ..."
    files = await attached(world, reply, parts=count)
    assert count > 1
    header = files[0][1].split(b"\r\n", 1)[0]
    assert all(len(data) <= 1500 and data.split(b"\r\n", 1)[0] == header for _, data in files)
    assert [name for name, _ in files][-1].endswith(f"-part{count}of{count}.csv")
    assert sum(len(read_csv(data)) for _, data in files) == whole


async def test_export_as_json_and_its_refusals(world: World) -> None:
    reply = await world.fake.slash(GUILD_A, MEMBER, "export", {"format": "json", "since": "30d"})
    [(name, data)] = await attached(world, reply)
    assert name.endswith(".json")
    objects = json.loads(data)
    assert {o["topic"] for o in objects} <= {"pak-afg", "sudan"} and objects
    bad = await world.fake.slash(GUILD_A, MEMBER, "export", {"since": "last week"})
    assert bad.ephemeral and not bad.deferred and "since" in bad.text
    world.fake.guilds[GUILD_A].attachment_size_limit = 200  # not even one row fits
    refused = await world.fake.slash(GUILD_A, MEMBER, "export", {"topic": "pak-afg"})
    assert "largest file this server accepts" in refused.text
    assert not any(m["attachments"] for m in refused.followups)
