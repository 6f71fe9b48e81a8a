"""Sources: fetch feeds and article pages politely and safely, parse them, deduplicate, assign topics,
and hand articles to extraction and the store (see DESIGN.md)."""

from bot.sources._check import FeedCheck, check_feed_url
from bot.sources._fetch import Fetcher, FetchResult, make_session
from bot.sources._parse import Entry, ParsedFeed, parse_feed
from bot.sources._poller import CycleSummary, Poller, topic_matcher
from bot.sources._urls import canonical_url, check_url

__all__ = ["CycleSummary", "Entry", "FeedCheck", "FetchResult", "Fetcher", "ParsedFeed", "Poller", "canonical_url",
           "check_feed_url", "check_url", "make_session", "parse_feed", "topic_matcher"]
