"""URLs: canonical forms for deduplication, and the SSRF guard for URLs that admins add from Discord.

The guard refuses non-http(s) schemes, credentials in URLs, and every address on the bot's own machine or
network: loopback, private, link-local, CGNAT, multicast, unspecified, reserved, and IPv4-mapped IPv6,
including the obfuscated spellings that C resolvers accept (``2130706433``, ``0x7f000001``,
``0177.0.0.1``). The same check runs on every address a name resolves to (see _fetch.GuardedResolver), so
what is checked is what is connected to.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bot.errors import BlockedURL

_TRACKING = re.compile(r"^(?:utm_\w+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|igshid|ocid|cmpid|ref|ref_src|"
                       r"smid|ito|at_medium|at_campaign|taid|guccounter|guce_\w+|__twitter_impression|spm)$",
                       re.IGNORECASE)
_CGNAT = ipaddress.ip_network("100.64.0.0/10")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def canonical_url(url: str) -> str:
    """One spelling per article: lower-case scheme and host, no default port, no fragment, no tracking
    parameters, AMP variants folded, sorted query, no trailing slash on paths."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower() or "http"
    host = (parts.hostname or "").lower().rstrip(".")
    if host.startswith("amp."):
        host = host[4:]
    port = parts.port if parts.port and (scheme, parts.port) not in (("http", 80), ("https", 443)) else None
    netloc = f"[{host}]" if ":" in host else host
    if port:
        netloc += f":{port}"
    path = re.sub(r"/+", "/", parts.path or "/")
    path = re.sub(r"(?:/amp|\.amp)(?=/?$)|^/amp(?=/)", "", path) or "/"
    if len(path) > 1:
        path = path.rstrip("/")
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not _TRACKING.match(k) and k.lower() not in ("amp", "outputtype")]
    return urlunsplit((scheme, netloc, path, urlencode(sorted(query)), ""))


def check_url(url: str, allowed: Callable[[str], bool] = lambda _: False) -> None:
    """Refuse what the bot must never fetch. Addresses that are IP literals are checked here; names are
    checked again, after resolution, by the fetcher's resolver."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port  # raises on a malformed port
    except ValueError as exc:
        raise BlockedURL(f"refused: {url!r} is not a valid URL ({exc})") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise BlockedURL(f"refused: only http and https URLs can be polled, not {parts.scheme or 'no scheme'}:")
    if parts.username or parts.password:
        raise BlockedURL("refused: URLs with a user name or password are not polled")
    if not host:
        raise BlockedURL(f"refused: {url!r} has no host")
    if allowed(host):
        return
    address = literal_address(host)
    if address is not None:
        check_address(address, allowed)


def literal_address(host: str) -> Address | None:
    """The address a host spells, including forms inet_aton accepts ("2130706433", "0x7f.1"), or None
    for a name."""
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if re.fullmatch(r"[0-9a-fA-Fx.]+", host) and not re.fullmatch(r"[a-fA-F.]+", host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def check_address(address: Address, allowed: Callable[[str], bool] = lambda _: False) -> None:
    if allowed(str(address)):
        return
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:
            check_address(mapped, allowed)
            return
    if (address.is_loopback or address.is_private or address.is_link_local or address.is_multicast
            or address.is_unspecified or address.is_reserved or address in _CGNAT
            or not address.is_global):
        raise BlockedURL(f"refused: address {address} is on a private or local network")
