"""Sitrep's one domain error hierarchy.

Every error a user can cause or meet (a bad config file, a bad command option, a broken feed, a store
that cannot be opened) is a :class:`SitrepError` with a message fit to show as it is: one line, naming
what is wrong. The CLI prints it and exits with status 2; the Discord error handler sends it as a short
ephemeral reply. Anything else is a bug: logged with its traceback, never shown raw.
"""

from __future__ import annotations


class SitrepError(Exception):
    """An expected failure with a message a user can act on."""

    exit_status = 2


class ConfigError(SitrepError):
    """config.toml (or a value an admin typed) is not valid. The message names the key and the problem."""

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        self.problem = problem
        super().__init__(f"{key}: {problem}" if key else problem)


class BadOption(SitrepError):
    """A command option that cannot be used (an unknown topic, a malformed date, ...)."""


class NotFound(SitrepError):
    """The thing asked for does not exist (a fact id, a topic, a feed)."""


class Forbidden(SitrepError):
    """The user may not do this (an owner-only command)."""


class StoreError(SitrepError):
    """The store cannot be opened or written: corrupt, newer than this code, disk full, ..."""


class FetchError(SitrepError):
    """A source could not be fetched or parsed. Recorded on the source; the poll cycle goes on."""


class BlockedURL(FetchError):
    """A URL refused by the SSRF guard (scheme, credentials, or an address on the bot's own network)."""


class NotYetAvailable(SitrepError):
    """A command of the design's contract whose capability is not built yet."""
