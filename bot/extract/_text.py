"""Article text: HTML or plain text in, clean paragraphs out, page furniture dropped."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ArticleText:
    text: str  # paragraphs separated by blank lines
    preview: bool = False  # a publisher's preview or paywalled text: only the opening of the article


_HTML = re.compile(r"<\s*(html|body|p|div|article|br|span|h[1-6])\b", re.IGNORECASE)
_FURNITURE = re.compile(
    r"""^\W*(
        advertisement|advertisements|sponsored( content)?|
        continue\ reading.*|read\ (the\ )?full\ (article|story).*|read\ more.*|
        share\ (this|on).*|subscribe.*|sign\ up.*|follow\ us.*|
        (click|tap)\ here.*|skip\ to\ .*|related(\ (stories|articles|coverage))?:?|
        this\ preview\ shows.*|you\ have\ \d+\ free\ articles.*|listen\ to\ this\ article.*|
        \d+\ min(ute)?s?\ read|story\ continues\ below.*
    )\W*$""",
    re.IGNORECASE | re.VERBOSE,
)
_PREVIEW = re.compile(r"this preview shows|subscribe to (read|continue)|to read the full (story|article)|"
                      r"continue reading on|read the full story", re.IGNORECASE)
_ICON_ONLY = re.compile(r"^[\W_]*$")
_META_DATE = re.compile(r"^\s*date\s+\d{4}-\d\d-\d\d(?:[T ][\d:.+Z-]+)?\s+")


def article_text(raw: str) -> ArticleText:
    """The readable text of an article page or plain text, without page furniture."""
    if _HTML.search(raw[:5000]):
        raw = _html_to_text(raw)
    raw = _META_DATE.sub("", raw)  # "date 2024-05-27 " before the text: page metadata, not prose
    preview = bool(_PREVIEW.search(raw))
    paragraphs = []
    for raw_line in raw.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = re.sub(r"[ \t\u00a0]+", " ", raw_line).strip()
        if not line or _ICON_ONLY.match(line) or _FURNITURE.match(line):
            continue
        paragraphs.append(line)
    return ArticleText("\n\n".join(paragraphs), preview)


def _html_to_text(page: str) -> str:
    import trafilatura

    text = trafilatura.extract(page, include_comments=False, include_tables=False, include_links=False,
                               favor_precision=True, deduplicate=False)
    if text:
        return str(text)
    # trafilatura finds no main text in very small pages: fall back to the paragraphs themselves.
    body = re.sub(r"(?is)<(script|style|nav|footer|header|aside)\b.*?</\1>", " ", page)
    body = re.sub(r"(?i)<\s*(br|/p|/div|/h[1-6]|/li)\s*/?>", "\n", body)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))
