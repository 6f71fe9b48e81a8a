"""The real-news development set for the audits: gold files, cached texts, and matching a claim to gold.

The texts are third-party and live in the git-ignored cache (tests/data/realnews/.cache); rebuild them with
``python3 tests/data/realnews/realnews.py rebuild``. Matching follows the shared scorer's rule: the gold
``sentence`` occurs in the fact's quote, or at least 60% of its words do. Aliases match at a word start,
short ones (three letters or fewer) as whole words.
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
REALNEWS = ROOT / "tests" / "data" / "realnews"
CACHE = REALNEWS / ".cache"

_TRANS = {0x2018: "'", 0x2019: "'", 0x201C: '"', 0x201D: '"', 0x2013: "-", 0x2014: "-", 0x00A0: " "}
_TOKEN = re.compile(r"[0-9a-z\u00c0-\uffff]+(?:'[a-z]+)?")


def norm(text: str | None) -> str:
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text).translate(_TRANS).casefold()
    return re.sub(r"\s+", " ", text).strip()


def overlaps(sentence: str, quote: str | None) -> bool:
    return overlap(sentence, quote) > 0


def overlap(sentence: str, quote: str | None) -> int:
    """2: the gold sentence is in the quote; 1: at least 60% of its words are; 0: no match."""
    g, q = norm(sentence), norm(quote)
    if not g or not q:
        return 0
    if g in q:
        return 2
    words = set(_TOKEN.findall(q))
    gold = _TOKEN.findall(g)
    return int(bool(gold) and sum(w in words for w in gold) / len(gold) >= 0.6)


def alias_in(alias: str, text: str) -> bool:
    a = norm(alias)
    tail = r"(?![0-9a-z])" if len(a) <= 3 else ""
    return bool(a) and re.search(r"(?<![0-9a-z])" + re.escape(a) + tail, norm(text)) is not None


def any_alias(aliases: list[str], *texts: str | None) -> bool:
    joined = " | ".join(t for t in texts if t)
    return any(alias_in(a, joined) for a in aliases)


def load(split: str) -> list[dict[str, Any]]:
    """The articles of one split ("dev" or "heldout"), merged from the per-article annotation files."""
    articles = []
    for path in sorted((REALNEWS / "annotations").glob("*.json")):
        article = json.loads(path.read_text(encoding="utf-8"))
        if article["split"] == split:
            articles.append(article)
    missing = [a["id"] for a in articles if not (CACHE / f"{a['id']}.txt").is_file()]
    if missing:
        sys.exit(f"{len(missing)} texts are not in {CACHE} (first: {missing[0]}): run "
                 "python3 tests/data/realnews/realnews.py rebuild")
    return articles


def text_of(article: dict[str, Any]) -> str:
    return (CACHE / f"{article['id']}.txt").read_text(encoding="utf-8")


def groups(items: list[dict[str, Any]]) -> list[int]:
    """Each gold item's group root: mentions linked with same_as are one claim."""
    root = list(range(len(items)))
    for i, item in enumerate(items):
        j = item.get("same_as")
        if isinstance(j, int) and 0 <= j < i:
            root[i] = root[j]
    return root
