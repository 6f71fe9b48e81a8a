"""The poll cycle against hostile and ordinary loopback servers."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import time
import tracemalloc

from aiohttp import web

from tests.sources.conftest import feed_handler, rss

STORY = ("https://{host}/a/1", "Pakistan says it killed more than 200 Taliban fighters",
         "Islamabad says it killed more than 200 Taliban fighters; the Taliban government says 58 Pakistani "
         "soldiers were killed.")


def story(server_url: str, n: int = 1, extra: str = "") -> tuple[str, str, str]:
    return (f"{server_url}/a/{n}?utm_source=feed", f"Border clash {n}", f"{STORY[2]} Report number {n}.{extra}")


async def test_first_poll_is_backlog_then_new_items_are_announced(serve, make_poller) -> None:  # type: ignore[no-untyped-def]
    items = []

    async def feed(request: web.Request) -> web.Response:
        return web.Response(text=rss(items), content_type="application/rss+xml")

    server = await serve({"/rss": feed})
    items.append(story(server.url, 1))
    poller, store, clock = await make_poller([("Wire", f"{server.url}/rss")])
    first = await poller.run_cycle()
    assert (first.ok, first.new_articles) == (1, 1)
    assert first.new_facts >= 2
    assert store.facts_after(0) == []  # the backlog is stored but never announced
    items.append(story(server.url, 2, " A third claim said 12 civilians were killed."))
    clock.advance(hours=1)
    second = await poller.run_cycle()
    assert second.new_articles == 1
    announced = store.facts_after(0)
    assert announced and all(f.article.url.endswith("/a/2") for f in announced)
    assert all("utm_" not in f.article.url for f in store.facts())


async def test_the_same_article_via_two_feeds_and_two_polls_is_stored_once(serve, make_poller) -> None:  # type: ignore[no-untyped-def]
    holder: dict[str, str] = {}

    async def feed_a(request: web.Request) -> web.Response:
        return web.Response(text=rss([story(holder["url"], 1)]), content_type="application/rss+xml")

    async def feed_b(request: web.Request) -> web.Response:
        link, title, text = story(holder["url"].upper().replace("HTTP://", "http://"), 1)
        return web.Response(text=rss([(link.replace("utm_source=feed", "utm_medium=x"), title, text)]),
                            content_type="application/rss+xml")

    server = await serve({"/a.xml": feed_a, "/b.xml": feed_b})
    holder["url"] = server.url
    poller, store, clock = await make_poller([("A", f"{server.url}/a.xml"), ("B", f"{server.url}/b.xml")])
    await poller.run_cycle()
    clock.advance(hours=1)
    again = await poller.run_cycle()
    assert len(store.recent_articles()) == 1
    assert again.new_articles == 0 and again.new_facts == 0


async def test_an_edited_article_updates_rather_than_duplicates(serve, make_poller) -> None:  # type: ignore[no-untyped-def]
    text = {"v": STORY[2]}

    async def feed(request: web.Request) -> web.Response:
        return web.Response(text=rss([(f"{server.url}/a/1", "Clash", text["v"])]), content_type="application/rss+xml")

    server = await serve({"/rss": feed})
    poller, store, clock = await make_poller([("Wire", f"{server.url}/rss")])
    await poller.run_cycle()
    text["v"] = STORY[2].replace("58", "61")
    clock.advance(hours=1)
    summary = await poller.run_cycle()
    assert summary.updated_articles == 1 and summary.new_articles == 0
    counts = sorted(f.fact.count for f in store.facts(kind="casualty"))
    assert 61 in counts and 58 not in counts


async def test_304_costs_no_parse_and_no_write(serve, make_poller) -> None:  # type: ignore[no-untyped-def]
    seen: list[str | None] = []

    async def feed(request: web.Request) -> web.Response:
        seen.append(request.headers.get("If-None-Match"))
        if request.headers.get("If-None-Match") == '"v1"':
            return web.Response(status=304)
        return web.Response(text=rss([story(server.url)]), content_type="application/rss+xml", headers={"ETag": '"v1"'})

    server = await serve({"/rss": feed})
    poller, store, clock = await make_poller([("Wire", f"{server.url}/rss")])
    await poller.run_cycle()
    before = store.stats()
    clock.advance(hours=1)
    summary = await poller.run_cycle()
    assert seen == [None, '"v1"']
    assert summary.not_modified == 1 and summary.new_articles == 0
    assert store.stats()["articles"] == before["articles"]


async def test_retry_after_is_honoured(serve, make_poller) -> None:  # type: ignore[no-untyped-def]
    async def limited(request: web.Request) -> web.Response:
        return web.Response(status=429, headers={"Retry-After": "3600"})

    server = await serve({"/rss": limited})
    poller, store, clock = await make_poller([("Wire", f"{server.url}/rss")])
    first = await poller.run_cycle()
    assert first.failed == 1 and "429" in store.source("s0").last_error
    clock.advance(hours=2)  # past the backoff, but not past Retry-After
    second = await poller.run_cycle()
    assert second.skipped == 1
    assert len(server.hits) == 1  # no request to that host before Retry-After


async def test_hostile_servers_end_at_their_limits_and_the_cycle_goes_on(serve, make_poller) -> None:  # type: ignore[no-untyped-def]
    bomb = gzip.compress(b"<rss>" + b"\0" * (64 * 1024 * 1024))  # 64 MiB of zeros in ~64 KiB

    async def gzip_bomb(request: web.Request) -> web.Response:
        return web.Response(body=bomb, headers={"Content-Encoding": "gzip", "Content-Type": "application/rss+xml"})

    async def huge(request: web.StreamResponse) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        await response.prepare(request)
        chunk = b"x" * 65536
        with contextlib.suppress(ConnectionError):  # the client hangs up at its cap
            for _ in range(1600):  # 100 MiB, streamed
                await response.write(chunk)
        return response

    async def drip(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        await response.prepare(request)
        with contextlib.suppress(ConnectionError):  # the client hangs up at its deadline
            for _ in range(100):
                await response.write(b"<")
                await asyncio.sleep(0.2)
        return response

    async def silent(request: web.Request) -> web.Response:
        await asyncio.sleep(30)
        return web.Response(text="")

    server = await serve({"/bomb": gzip_bomb, "/huge": huge, "/drip": drip, "/silent": silent,
                          "/ok": feed_handler(rss([story("https://example.org")]))})
    poller, store, _ = await make_poller([(n, f"{server.url}/{n}") for n in ("bomb", "huge", "drip", "silent", "ok")],
                                         timeout="1s", max_bytes=1024 * 1024)
    tracemalloc.start()
    started = time.monotonic()
    summary = await poller.run_cycle()
    elapsed = time.monotonic() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert summary.ok == 1 and summary.failed == 4
    errors = {s.name: s.last_error for s in store.all_sources()}
    assert "cut off at the cap" in errors["bomb"] and "cut off at the cap" in errors["huge"]
    assert "timed out" in errors["drip"] and "timed out" in errors["silent"]
    assert elapsed < 10
    assert peak < 40 * 1024 * 1024  # the bomb never lands in memory whole


async def test_billion_laughs_and_external_entities_expand_nothing(serve, make_poller) -> None:  # type: ignore[no-untyped-def]
    laughs = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
              + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">'
                        for i in range(1, 10))
              + ']><rss version="2.0"><channel><title>&lol9;</title><item><title>t</title>'
                '<link>https://example.org/x</link></item></channel></rss>')
    sink = await serve({"/steal": feed_handler("stolen")}, host="127.0.0.1")
    xxe = (f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">'
           f'<!ENTITY y SYSTEM "{sink.url}/steal">]><rss version="2.0"><channel><title>&x;&y;</title>'
           '<item><title>t</title><link>https://example.org/y</link><description>&x;</description></item>'
           '</channel></rss>')
    server = await serve({"/laughs": feed_handler(laughs), "/xxe": feed_handler(xxe)})
    poller, store, _ = await make_poller([("laughs", f"{server.url}/laughs"), ("xxe", f"{server.url}/xxe")])
    started = time.monotonic()
    await poller.run_cycle()
    assert time.monotonic() - started < 5
    assert sink.hits == []
    assert all("root:" not in (a.summary or "") for a in store.recent_articles())


async def test_malformed_feeds_keep_valid_entries_or_fail_clearly(serve, make_poller) -> None:  # type: ignore[no-untyped-def]
    truncated = rss([story("https://example.org", 1), story("https://example.org", 2)])[:-40]
    html_page = "<!doctype html><html><body><h1>Not a feed</h1></body></html>"
    undated = rss([story("https://example.org", 3)]).replace("<pubDate>Sun, 12 Oct 2025 08:00:00 +0000</pubDate>", "")
    future = rss([story("https://example.org", 4)]).replace("2025", "2031")
    json_feed = ('{"version": "https://jsonfeed.org/version/1.1", "title": "J", "items": [{"id": "1", '
                 '"url": "https://example.org/j/1", "title": "Clash", "content_text": "Fighting flared."}]}')
    server = await serve({"/truncated": feed_handler(truncated), "/html": feed_handler(html_page, "text/html"),
                          "/empty": feed_handler(""), "/undated": feed_handler(undated),
                          "/future": feed_handler(future), "/json": feed_handler(json_feed, "application/json")})
    names = ["truncated", "html", "empty", "undated", "future", "json"]
    poller, store, _ = await make_poller([(n, f"{server.url}/{n}") for n in names])
    await poller.run_cycle()
    states = {s.name: s for s in store.all_sources()}
    assert states["truncated"].consecutive_failures == 0 and "malformed" in states["truncated"].last_error
    assert states["truncated"].items_seen >= 1
    assert states["html"].last_error == "not a feed (an HTML page)"
    assert "empty" in states["empty"].last_error
    assert "future" in states["future"].last_error
    urls = {a.url: a for a in store.recent_articles()}
    assert urls["https://example.org/a/3"].published is None
    assert "https://example.org/j/1" in urls


async def test_a_failing_source_is_paused_then_resumes_by_itself(serve, make_poller) -> None:  # type: ignore[no-untyped-def]
    state = {"up": False}

    async def flaky(request: web.Request) -> web.Response:
        if not state["up"]:
            return web.Response(status=500)
        return web.Response(text=rss([story(server.url)]), content_type="application/rss+xml")

    server = await serve({"/rss": flaky})
    poller, store, clock = await make_poller([("Flaky", f"{server.url}/rss")], pause_after=3)
    for attempt in range(3):
        if attempt:
            clock.advance(hours=7)  # past any backoff
        await poller.run_cycle()
    source = store.source("s0")
    assert source.paused and source.consecutive_failures == 3 and source.last_error == "HTTP 500 Internal Server Error"
    clock.advance(hours=1)
    hits = len(server.hits)
    assert (await poller.run_cycle()).skipped == 1 and len(server.hits) == hits  # retried only slowly
    state["up"] = True
    clock.advance(hours=6)
    await poller.run_cycle()
    source = store.source("s0")
    assert not source.paused and source.consecutive_failures == 0 and source.last_error is None


async def test_topics_by_keyword_with_accents_folded(serve, make_poller) -> None:  # type: ignore[no-untyped-def]
    server = await serve({"/rss": feed_handler(rss([("https://example.org/z", "Frontera", "Combates en Afganistán."),
                                                     ("https://example.org/w", "Weather", "Sunny in Lisbon.")]))})
    poller, store, _ = await make_poller([("W", f"{server.url}/rss")],
                                         topics=[{"id": "afg", "keywords": ["Afganistan"]}])
    await poller.run_cycle()
    topics = {a.url: a.topics for a in store.recent_articles()}
    assert topics["https://example.org/z"] == ("afg",)
    assert topics["https://example.org/w"] == ()
