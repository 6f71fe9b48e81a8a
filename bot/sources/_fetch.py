"""Fetching, politely and defensively, with one shared aiohttp session.

- A total deadline per request, body included: a server that drips one byte a second loses its slot.
- The body is streamed and capped after decompression: a gzip bomb stops at the cap.
- Redirects are followed by hand so every hop passes the SSRF guard; names are resolved by
  :class:`GuardedResolver`, which refuses private addresses, so the address checked is the one connected.
- Conditional GET (ETag, Last-Modified): a 304 costs no parse and no write.
- Politeness: a global limit, at most ``per_host`` requests per host, ``Retry-After`` honoured on 429 and
  503 (no request to that host before then), a User-Agent naming Sitrep.
"""

from __future__ import annotations

import asyncio
import email.utils
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from bot.config import FetchConfig
from bot.errors import BlockedURL, FetchError
from bot.sources._urls import check_address, check_url, literal_address

_REDIRECTS = {301, 302, 303, 307, 308}


@dataclass(frozen=True, slots=True)
class FetchResult:
    url: str  # after redirects
    status: int
    body: bytes
    content_type: str
    etag: str | None
    last_modified: str | None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class GuardedResolver(AbstractResolver):
    """Resolves names and drops every address the SSRF guard refuses; none left → the request fails."""

    def __init__(self, config: FetchConfig) -> None:
        self._inner = DefaultResolver()
        self._config = config

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        if self._config.is_allowed_private(host):
            return results
        allowed = []
        refusal: BlockedURL | None = None
        for result in results:
            address = literal_address(result["host"])
            try:
                if address is None:
                    raise BlockedURL(f"refused: {host} resolved to {result['host']}")
                check_address(address, self._config.is_allowed_private)
                allowed.append(result)
            except BlockedURL as exc:
                refusal = exc
        if not allowed:
            raise OSError(str(refusal or f"refused: {host} did not resolve"))
        return allowed

    async def close(self) -> None:
        await self._inner.close()


def make_session(config: FetchConfig) -> aiohttp.ClientSession:
    """The one HTTP session, built by the composition root and closed by it."""
    connector = aiohttp.TCPConnector(resolver=GuardedResolver(config), limit=config.concurrency,
                                     limit_per_host=config.per_host, ttl_dns_cache=300)
    return aiohttp.ClientSession(connector=connector, headers={"User-Agent": config.user_agent},
                                 timeout=aiohttp.ClientTimeout(total=config.timeout.total_seconds()))


class Fetcher:
    def __init__(self, session: aiohttp.ClientSession, config: FetchConfig) -> None:
        self.session = session
        self.config = config
        self._global = asyncio.Semaphore(config.concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._not_before: dict[str, float] = {}  # host → monotonic time before which we send nothing

    def host_wait(self, url: str) -> float:
        """Seconds until ``url``'s host may be asked again (0 when it may now)."""
        host = (urlsplit(url).hostname or "").lower()
        return max(0.0, self._not_before.get(host, 0.0) - time.monotonic())

    async def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
                    accept: str = "application/rss+xml, application/atom+xml, application/feed+json, "
                                  "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5") -> FetchResult:
        headers = {"Accept": accept, "Accept-Encoding": "gzip, deflate"}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        try:
            return await self._follow(url, headers)
        except aiohttp.ClientError as exc:
            raise FetchError(_describe(exc)) from None
        except OSError as exc:
            raise FetchError(str(exc) if "refused" in str(exc) else f"network error: {exc}") from None

    async def _follow(self, url: str, headers: dict[str, str]) -> FetchResult:
        deadline = self.config.timeout.total_seconds()
        for _ in range(self.config.max_redirects + 1):
            check_url(url, self.config.is_allowed_private)
            host = (urlsplit(url).hostname or "").lower()
            wait = self.host_wait(url)
            if wait > 0:
                raise FetchError(f"{host} asked us to wait (Retry-After); next try in {wait:.0f}s")
            semaphore = self._hosts.setdefault(host, asyncio.Semaphore(self.config.per_host))
            # Waiting for a slot is politeness, not the server's fault: the deadline starts with the request.
            async with self._global, semaphore:
                try:
                    async with asyncio.timeout(deadline):
                        result = await self._request(url, host, headers)
                except TimeoutError:
                    raise FetchError(f"timed out after {deadline:g}s") from None
            if isinstance(result, str):
                url = result  # a redirect: check and follow the next hop
                continue
            return result
        raise FetchError(f"more than {self.config.max_redirects} redirects")

    async def _request(self, url: str, host: str, headers: dict[str, str]) -> FetchResult | str:
        async with self.session.get(url, headers=headers, allow_redirects=False) as resp:
            if resp.status in _REDIRECTS and resp.headers.get("Location"):
                return urljoin(url, resp.headers["Location"])
            if resp.status in (429, 503):
                self._not_before[host] = time.monotonic() + _retry_after(resp.headers.get("Retry-After"))
                raise FetchError(f"HTTP {resp.status} {resp.reason or ''}".strip() + " (rate limited)")
            if resp.status == 304:
                return FetchResult(url, 304, b"", "", resp.headers.get("ETag"), resp.headers.get("Last-Modified"))
            if resp.status >= 400:
                raise FetchError(f"HTTP {resp.status} {resp.reason or ''}".strip())
            body = await self._read_capped(resp)
            return FetchResult(url, resp.status, body, resp.headers.get("Content-Type", ""),
                               resp.headers.get("ETag"), resp.headers.get("Last-Modified"))

    async def _read_capped(self, resp: aiohttp.ClientResponse) -> bytes:
        limit = self.config.max_bytes
        declared = resp.content_length
        if declared is not None and declared > limit and "gzip" not in resp.headers.get("Content-Encoding", ""):
            raise FetchError(f"body larger than {limit // 1024} KiB ({declared} bytes announced)")
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_chunked(64 * 1024):  # decompressed as it streams
            size += len(chunk)
            if size > limit:
                raise FetchError(f"body larger than {limit // 1024} KiB (cut off at the cap)")
            chunks.append(chunk)
        return b"".join(chunks)


def _retry_after(value: str | None, default: float = 60.0, ceiling: float = 6 * 3600) -> float:
    if not value:
        return default
    value = value.strip()
    if value.isdigit():
        return min(float(value), ceiling)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max(0.0, (when - datetime.now(UTC)).total_seconds()), ceiling)


def _describe(exc: Any) -> str:
    if isinstance(exc, aiohttp.ClientConnectorError):
        cause = str(exc.os_error) if exc.os_error else str(exc)
        return cause if "refused:" in cause else f"cannot connect to {exc.host}: {cause}"
    if isinstance(exc, aiohttp.TooManyRedirects):
        return "too many redirects"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return f"broken response body: {exc}"
    return f"{type(exc).__name__}: {exc}"
