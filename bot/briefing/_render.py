"""One answer, two renderings: plain text for the terminal, and Discord embeds (as the API's JSON dicts)
that always fit Discord's limits. Long answers are split into pages, never silently cut; text from feeds
is escaped so it can neither format nor ping (the bot also sends with allowed_mentions none).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from bot.briefing._answers import Answer, Day, Line, Ref, Segment, Source

# Discord's limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits)
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELDS_MAX = 25
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FOOTER_MAX = 2048
MESSAGE_TOTAL_MAX = 6000
EMBEDS_PER_MESSAGE = 10

PAGE_BUDGET = 3800  # description characters per page: leaves room under 4,096 and 6,000 with title/footer
LINE_MAX = 1000  # one line longer than this is shortened, visibly, with "…"
TEXT_WIDTH = 200  # a terminal line shows its outlets' URLs only if it stays this short with them
URL_MAX = 500  # a longer URL is not made a link (the line's fact id leads to it)
COLOR = 0xB22222

_MARKDOWN = re.compile(r"([\\*_~`|>#\[\]])")


def render_text(answer: Answer) -> str:
    """The terminal rendering."""
    out = [answer.title, "=" * min(len(answer.title), 78)]
    if answer.empty:
        out.append(answer.empty_message)
    for section in answer.sections:
        if not section.lines:
            continue
        if section.heading:
            out += ["", section.heading]
        for line in section.lines:
            out.append("  " + _text_line(line))
            if line.detail:
                out.append("      " + line.detail)
    if answer.footer:
        out += ["", answer.footer]
    return "\n".join(out)


def _text_line(line: Line) -> str:
    """The line, then its outlets' URLs when it stays within TEXT_WIDTH with them; else the names alone (the
    fact id on the line leads to the URL: `ask fact ID`)."""
    text = "".join(_text_segment(s) for s in line.segments)
    urls = list(dict.fromkeys(s.url for s in line.segments if isinstance(s, Source) and s.url))
    with_urls = text.rstrip() + "  " + " ".join(urls) if urls else text
    return with_urls if len(with_urls) + 2 <= TEXT_WIDTH else text


def _text_segment(segment: Segment) -> str:
    if isinstance(segment, Day):
        return segment.text()
    if isinstance(segment, Ref):
        return f"[{segment.fact_id}]"
    if isinstance(segment, Source):
        return segment.outlet
    return segment


def safe(text: str) -> str:
    """Feed text made inert for Discord: markdown escaped, mentions broken with a zero-width space."""
    text = _MARKDOWN.sub(r"\\\1", text)
    return text.replace("@", "@\u200b").replace("<#", "<\u200b#").replace("<:", "<\u200b:")


def link_url(url: str) -> str | None:
    """A URL fit for a markdown link: http(s), no spaces, parentheses encoded (they would end the link)."""
    if not url.startswith(("http://", "https://")) or len(url) > URL_MAX or any(c.isspace() for c in url) \
            or "<" in url or ">" in url:
        return None
    return url.replace("(", "%28").replace(")", "%29")


def _embed_segment(segment: Segment, *, links: bool = True) -> str:
    if isinstance(segment, Source):
        url = link_url(segment.url) if links else None
        return f"[{safe(segment.outlet)}]({url})" if url else safe(segment.outlet)
    if isinstance(segment, Day):
        if segment.precision == "day":
            noon = datetime.combine(date.fromisoformat(segment.iso), datetime.min.time(), UTC).timestamp() + 43200
            return f"<t:{int(noon)}:D>"
        return segment.text()
    if isinstance(segment, Ref):
        return f"`{segment.fact_id}`"
    return safe(segment)


def _embed_line(line: Line) -> str:
    text = _embed_text(line, links=True)
    if len(text) > LINE_MAX:  # never cut inside a link: a shortened line names its outlets without them
        text = _embed_text(line, links=False)
        text = text[:LINE_MAX - 1].rsplit(" ", 1)[0] + "…" if len(text) > LINE_MAX else text
    return text


def _embed_text(line: Line, *, links: bool) -> str:
    text = "".join(_embed_segment(s, links=links) for s in line.segments)
    if line.detail:
        text += "\n  -# " + safe(line.detail)
    return text


def render_embeds(answer: Answer) -> list[list[dict[str, Any]]]:
    """Pages of embeds (one embed per page here), each within every Discord limit."""
    title = _cut(safe(answer.title), TITLE_MAX)
    footer = _cut(answer.footer, FOOTER_MAX - 40)
    if answer.empty:
        return [[_embed(title, safe(answer.empty_message), footer, answer.url)]]
    chunks: list[str] = []
    current = ""
    for section in answer.sections:
        if not section.lines:
            continue
        block = [f"**{safe(section.heading)}**"] if section.heading else []
        block += [_embed_line(line) for line in section.lines]
        for piece in block:
            candidate = f"{current}\n{piece}" if current else piece
            if len(candidate) > PAGE_BUDGET and current:
                chunks.append(current)
                current = piece
            else:
                current = candidate
        current += "\n"
    if current.strip():
        chunks.append(current.strip())
    pages = []
    for i, chunk in enumerate(chunks, 1):
        page_footer = footer + (f"  ·  page {i}/{len(chunks)}" if len(chunks) > 1 else "")
        pages.append([_embed(title, chunk, page_footer, answer.url)])
    return pages


def _embed(title: str, description: str, footer: str, url: str | None) -> dict[str, Any]:
    embed: dict[str, Any] = {"title": title, "description": _cut(description, DESCRIPTION_MAX), "color": COLOR}
    if footer:
        embed["footer"] = {"text": _cut(footer, FOOTER_MAX)}
    if url and url.startswith(("http://", "https://")) and len(url) <= 2000:
        embed["url"] = url
    return embed


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def embed_size(embed: dict[str, Any]) -> int:
    """Characters that count toward Discord's 6,000 per message."""
    size = len(embed.get("title", "")) + len(embed.get("description", ""))
    size += len(embed.get("footer", {}).get("text", ""))
    size += sum(len(f.get("name", "")) + len(f.get("value", "")) for f in embed.get("fields", []))
    return size
