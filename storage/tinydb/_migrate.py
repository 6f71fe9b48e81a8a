"""Migrations between store schema versions. Each step reads the old layout and writes the new one
through the normal commit path; the old files are kept (renamed), never deleted.

- v0 → v1: version 0 was one stock TinyDB file, ``sitrep.json``, with tables ``articles``, ``facts``
  (each fact document holding its article's ``url``), ``sources``, ``topics`` and ``guilds``: every write
  rewrote the whole file. v1 is the partitioned, manifest-committed layout of DESIGN.md.
"""

from __future__ import annotations

from pathlib import Path

from bot.errors import StoreError
from bot.model import Article, Fact, GuildSettings, SourceState, Topic
from storage import _codec
from storage.api import ArticleFacts, Batch
from storage.tinydb import _files


def read_v0(legacy: Path) -> Batch:
    """The whole version-0 file as one batch (its facts marked backlog, so history is not announced again);
    the store commits it, or applies it in memory only when read-only."""
    tables = _files.read_tables(legacy)
    try:
        facts_by_url: dict[str, list[Fact]] = {}
        for doc in tables.get("facts", []):
            facts_by_url.setdefault(doc["url"], []).append(_codec.decode_fact(doc["fact"]))
        articles = tuple(
            ArticleFacts(article, tuple(facts_by_url.get(article.url, ())), backlog=True)
            for article in (_codec.decode(Article, d) for d in tables.get("articles", []))
        )
        batch = Batch(
            articles=articles,
            sources=tuple(_codec.decode(SourceState, d) for d in tables.get("sources", [])),
            topics=tuple(_codec.decode(Topic, d) for d in tables.get("topics", [])),
            guilds=tuple(_codec.decode(GuildSettings, d) for d in tables.get("guilds", [])),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise StoreError(f"cannot migrate {legacy}: unexpected content ({exc}); it was left untouched") from None
    return batch
