"""The Discord client: the bot, scheduled digests, alerts after each poll, and the `run` entry point (command.py)."""

from bot.client._alerts import AlertDispatcher, Delivered
from bot.client._bot import PERMISSIONS, SitrepBot, invite_url
from bot.client._digests import ChannelGone, DigestScheduler, digest_nonce, latest_slot, part_nonce

__all__ = ["PERMISSIONS", "AlertDispatcher", "ChannelGone", "Delivered", "DigestScheduler", "SitrepBot",
           "digest_nonce", "invite_url", "latest_slot", "part_nonce"]
