"""Two bot processes on one PostgreSQL store, each with a store of its own (as separate processes have): a
/config answered by one process takes effect in the digest the other one posts."""

from __future__ import annotations

import pytest

from bot.client._leader import Lease
from tests.client.conftest import ADMIN, open_world, running_bot
from tests.client.test_digests import _new_sudan_claim
from tests.client.test_shards import EVEN_CHANNEL, EVEN_GUILD, ODD_CHANNEL, ODD_GUILD
from tests.conftest import StoreSpec, until
from tests.fakediscord import ADMIN_PERMISSIONS, FakeChannel, FakeGuild


@pytest.mark.parametrize("driver", ["postgres"])
async def test_config_on_one_process_moves_the_digest_the_leader_posts(
        tmp_path, monkeypatch: pytest.MonkeyPatch, store_spec: StoreSpec) -> None:  # type: ignore[no-untyped-def]
    guilds = [FakeGuild(EVEN_GUILD, "Even", [FakeChannel(EVEN_CHANNEL, "news"), FakeChannel(EVEN_CHANNEL + 1, "new")]),
              FakeGuild(ODD_GUILD, "Odd", [FakeChannel(ODD_CHANNEL, "news")])]
    name = f"sitrep-leader:{store_spec.schema}"
    leader_lease = Lease(store_spec.dsn or "", name, retry_s=0.1, schema=store_spec.schema)
    follower_lease = Lease(store_spec.dsn or "", name, retry_s=0.1, schema=store_spec.schema)
    # The leader holds the odd guild's shard; the follower, with its own PgStore, holds the even guild's.
    async with open_world(tmp_path, monkeypatch, polls=2, spec=store_spec, guilds=guilds, shard_ids=[1],
                          shard_count=2, lease=leader_lease) as world:
        follower_store = await store_spec.open()
        assert follower_store is not world.store
        async with running_bot(world.fake, world.config, follower_store, None, shard_ids=[0], shard_count=2,
                               lease=follower_lease) as follower:
            assert leader_lease.is_leader and not follower_lease.is_leader
            reply = await world.fake.slash(EVEN_GUILD, ADMIN, "config digest channel", {"channel": EVEN_CHANNEL},
                                           permissions=ADMIN_PERMISSIONS)
            assert "will be posted" in reply.text, reply.text
            assert follower.store.guild(EVEN_GUILD).digest_channel_id == EVEN_CHANNEL  # its own write, at once
            # The leader's store hears of it (NOTIFY) and the leader schedules the guild's digest.
            await until(lambda: world.bot.scheduler.get_job(f"digest:{EVEN_GUILD}") is not None)
            # The admin moves the digest to another channel, again through the follower.
            reply = await world.fake.slash(EVEN_GUILD, ADMIN, "config digest channel",
                                           {"channel": EVEN_CHANNEL + 1}, permissions=ADMIN_PERMISSIONS)
            await until(lambda: world.store.guild(EVEN_GUILD).digest_channel_id == EVEN_CHANNEL + 1)
            await _new_sudan_claim(world)
            assert await world.bot.digests.run(EVEN_GUILD) == "posted"
            assert world.fake.messages_in(EVEN_CHANNEL + 1) and not world.fake.messages_in(EVEN_CHANNEL)
            assert not follower.scheduler.get_jobs()  # the follower runs no job, its own guild's included
