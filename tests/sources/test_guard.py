"""The SSRF guard: URLs admins add must never reach the bot's own machine or network."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.errors import BlockedURL, FetchError
from bot.sources import canonical_url, check_url
from tests.sources.conftest import feed_handler, fetcher_for, rss

BLOCKED = [
    "http://127.0.0.1/feed", "http://2130706433/", "http://0x7f000001/", "http://0177.0.0.1/", "http://[::1]/",
    "http://[::ffff:127.0.0.1]/", "http://10.1.2.3/", "http://172.16.0.9/", "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/", "http://100.64.0.1/", "http://0.0.0.0/", "http://224.0.0.1/",
    "http://[fe80::1]/", "http://[fc00::1]/",
]


@pytest.mark.parametrize("url", BLOCKED)
def test_private_and_obfuscated_addresses_are_refused(url: str) -> None:
    with pytest.raises(BlockedURL, match="refused"):
        check_url(url)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/feed", "data:text/plain,hi",
                                 "gopher://example.org/", "javascript:alert(1)"])
def test_other_schemes_are_refused(url: str) -> None:
    with pytest.raises(BlockedURL, match="only http and https"):
        check_url(url)


def test_credentials_in_urls_are_refused() -> None:
    with pytest.raises(BlockedURL, match="user name or password"):
        check_url("https://user:secret@example.org/feed")


def test_public_addresses_and_the_allow_list_pass() -> None:
    check_url("https://93.184.215.14/feed")
    check_url("http://127.0.0.1:8080/feed", allowed=lambda host: host == "127.0.0.1")


async def test_names_resolving_to_loopback_are_refused_at_connect_time() -> None:
    from bot.config import FetchConfig
    from bot.sources import make_session

    config = FetchConfig(timeout=__import__("datetime").timedelta(seconds=2))
    async with make_session(config) as session:
        with pytest.raises(FetchError, match="refused"):
            await fetcher_for(session).fetch("http://localhost:9/feed")


async def test_a_redirect_to_a_blocked_address_is_refused(serve) -> None:  # type: ignore[no-untyped-def]
    from aiohttp import web

    target = await serve({"/secret": feed_handler(rss([]))}, host="127.0.0.2")

    async def bounce(request: web.Request) -> web.Response:
        raise web.HTTPFound(f"{target.url}/secret")

    public = await serve({"/feed": bounce})
    from bot.config import FetchConfig
    from bot.sources import make_session

    config = FetchConfig(allow_private=("127.0.0.1",))
    async with make_session(config) as session:
        with pytest.raises(FetchError, match=r"refused: address 127\.0\.0\.2"):
            await fetcher_for(session, allow_private=("127.0.0.1",)).fetch(f"{public.url}/feed")
    assert target.hits == []  # nothing was ever asked of the blocked address


@given(st.sampled_from(["http", "HTTP", "https"]), st.sampled_from(["Example.ORG", "example.org", "amp.example.org"]),
       st.lists(st.sampled_from(["utm_source=x", "utm_medium=y", "id=7", "fbclid=z", "page=2"]), max_size=4),
       st.sampled_from(["", "#top", "#"]))
def test_canonical_urls_fold_spelling_and_tracking(scheme: str, host: str, params: list[str], fragment: str) -> None:
    url = f"{scheme}://{host}/world/story/{'?' + '&'.join(params) if params else ''}{fragment}"
    canon = canonical_url(url)
    assert canonical_url(canon) == canon  # idempotent
    assert "utm_" not in canon and "fbclid" not in canon and "#" not in canon
    assert "://example.org/world/story" in canon
