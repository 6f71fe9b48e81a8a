"""Exports: one row per claim (casualty and territory), in ACLED/UCDP-like columns, as CSV or JSON.

A row is one claim as one article states it: the figure as stated (``figure_high`` only where the text gives
a range), the claimant as named (empty when the outlet states the figure itself), and where it came from.
Nothing is merged, summed or averaged: the same claim from three outlets is three rows sharing an
``incident_id``, and contested figures stay separate rows with their claimants. ``scope`` says when a figure
is a running total or a subset of another, so that nobody adds it up by mistake.

The CSV opens cleanly in a spreadsheet: UTF-8 with a byte-order mark, and no cell can be read as a formula
(a text cell starting with ``= + - @``, a tab or a carriage return gets a leading apostrophe; so does one
that already starts with an apostrophe, which keeps the escaping reversible: :func:`read_csv`).
An export too big for one file is split into parts that are each a valid file (CSV with its header, JSON a
whole array), or refused when even that would take too many files.
"""

from __future__ import annotations

import csv
import io
import json
import operator
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from bot.durations import parse_duration
from bot.errors import BadOption
from bot.model import Casualty, StoredFact, Territory

Format = Literal["csv", "json"]
FORMATS: tuple[Format, ...] = ("csv", "json")
Row = dict[str, str | int | None]

COLUMNS: tuple[str, ...] = (
    "kind",  # casualty or territory
    "event_date", "date_precision",  # the incident's date as stated (ISO, its length is its precision)
    "published",  # the article's publication time, ISO UTC
    "topic", "incident_id", "place",  # topic ids joined by "; "; the story that links outlets' reports
    "category",  # killed, injured, ... for casualties; taken, lost, destroyed, withdrawn for territory
    "figure_low", "figure_high", "qualifier", "scope",  # as stated; scope: total, subset or empty
    "victim_side", "victim_text",  # casualties: whose losses (canonical, and as written)
    "object", "by", "from",  # territory: what, by whom, from whom
    "claimant", "claimant_text",  # empty: the outlet states it itself
    "outlet", "url", "quote", "fact_id",
)
INT_COLUMNS = frozenset({"figure_low", "figure_high"})
BOM = "\ufeff"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")
MAX_PARTS = 10  # files one export may be split into; /export sends one per message, so at most 10 messages


@dataclass(frozen=True, slots=True)
class ExportScope:
    """What an export covers: said beside the file, and used to name it."""

    topic_name: str
    window: str  # "published in the last 7d", "everything stored"
    topics: tuple[str, ...] = ()  # the topic keys asked for: the only ones a row's topic column names
    stem: str = "sitrep-export"  # the file name without its extension


@dataclass(frozen=True, slots=True)
class Export:
    """The rows of one export, oldest article first."""

    rows: tuple[Row, ...]
    scope: ExportScope

    @property
    def stem(self) -> str:
        return self.scope.stem

    def summary(self) -> str:
        if not self.rows:
            return f"No casualty or territory claims stored for {self.scope.topic_name}, {self.scope.window}."
        n = len(self.rows)
        casualty = sum(1 for r in self.rows if r["kind"] == "casualty")
        claims = "claim" if n == 1 else "claims"
        return (f"{n:,} {claims} ({casualty:,} casualty, {n - casualty:,} territory) for {self.scope.topic_name}, "
                f"{self.scope.window}. One row per claim as stated: contested figures are separate rows, never "
                "added up.")


@dataclass(frozen=True, slots=True)
class ExportFile:
    name: str
    data: bytes


class ExportTooLarge(BadOption):
    """The export would need more files than one message can carry."""


def parse_since(text: str | None, now: datetime) -> tuple[datetime | None, str]:
    """``since`` as people type it: a duration back from now ("7d", "48h") or a date ("2025-10", "2025-10-09").
    Returns the bound on publication time (None: everything stored) and how to say it."""
    if text is None or not text.strip():
        return None, "everything stored"
    text = text.strip()
    if re.fullmatch(r"\d{4}(-\d{2}){0,2}", text):
        parts = [int(p) for p in text.split("-")]
        try:
            start = datetime(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1,
                             tzinfo=UTC)
        except ValueError:
            raise BadOption(f"since: {text!r} is not a date; use YYYY, YYYY-MM or YYYY-MM-DD") from None
        return start, f"published since {text}"
    try:
        window: timedelta = parse_duration(text)
    except ValueError as exc:
        raise BadOption(f"since: {exc}; or a date like 2025-10-01") from None
    return now - window, f"published in the last {text.lower()}"


def export_row(f: StoredFact, topics: Collection[str] = ()) -> Row:
    """One claim as a row of :data:`COLUMNS`; missing values are None. With ``topics``, the topic column names
    only those of the fact's topics (an export never shows another server's topic ids)."""
    c = f.fact
    category: str
    scope: str | None
    if isinstance(c, Casualty):
        category, scope = c.category, "total" if c.cumulative else ("subset" if c.breakdown else None)
        victim, victim_text, obj, by, from_ = c.victim, c.victim_text, None, None, None
    elif isinstance(c, Territory):
        category, scope = c.action, None
        victim, victim_text, obj, by, from_ = None, None, c.object, c.by_side, c.from_side
    else:
        raise ValueError(f"only claims are exported, not {c.kind} facts")
    shown = [t for t in f.topics if t in topics] if topics else f.topics
    published = f.article.published
    return {
        "kind": c.kind, "event_date": c.date, "date_precision": _PRECISION.get(len(c.date)) if c.date else None,
        "published": published.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if published else None,
        "topic": "; ".join(shown) or None, "incident_id": f.story_id, "place": c.location,
        "category": category, "figure_low": c.count, "figure_high": c.count_high, "qualifier": c.qualifier,
        "scope": scope, "victim_side": victim, "victim_text": victim_text, "object": obj, "by": by, "from": from_,
        "claimant": c.claimant, "claimant_text": c.claimant_text,
        "outlet": f.article.outlet, "url": f.article.url, "quote": c.quote, "fact_id": f.id,
    }


_PRECISION = {10: "day", 7: "month", 4: "year"}


def build_export(facts: Iterable[StoredFact], scope: ExportScope) -> Export:
    """Every casualty and territory claim among ``facts`` as one row, oldest article first; a fact given twice
    (it belongs to two topics) is one row. Events are left out: they are the timeline, not claims."""
    claims = list({f.id: f for f in facts if isinstance(f.fact, (Casualty, Territory))}.values())
    claims.sort(key=lambda f: (f.article.published or f.stored_at, f.seq))
    topics = frozenset(scope.topics)
    return Export(tuple(export_row(f, topics) for f in claims), scope)


# --- CSV and JSON ----------------------------------------------------------------------------------------


def escape_cell(value: str | int | None) -> str:
    """A cell a spreadsheet shows as text: never a formula."""
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    return "'" + value if value.startswith(_FORMULA_START) else value


def _unescape_cell(column: str, text: str) -> str | int | None:
    if text == "":
        return None
    if column in INT_COLUMNS:
        return int(text)
    return text[1:] if text.startswith("'") else text


class _Lines(list[str]):
    """A file-like target for csv.writer that keeps each row's line apart, so files can be split by row."""

    def write(self, text: str) -> None:
        self.append(text)


def _csv_lines(rows: Iterable[Row]) -> tuple[str, list[str]]:
    header = _Lines()
    csv.writer(header).writerow(COLUMNS)
    lines = _Lines()
    writer = csv.writer(lines)
    cell, values = escape_cell, operator.itemgetter(*COLUMNS)
    for row in rows:
        writer.writerow([cell(v) for v in values(row)])
    return header[0], lines


def to_csv(rows: Iterable[Row]) -> bytes:
    header, lines = _csv_lines(rows)
    return (BOM + header + "".join(lines)).encode("utf-8")


def to_json(rows: Iterable[Row]) -> bytes:
    return _json_array([json.dumps(r, ensure_ascii=False) for r in rows]).encode("utf-8")


def _json_array(items: Sequence[str]) -> str:
    return "[\n" + ",\n".join(items) + "\n]\n" if items else "[]\n"


def render_export(export: Export, fmt: Format) -> bytes:
    return to_csv(export.rows) if fmt == "csv" else to_json(export.rows)


def read_csv(data: bytes) -> list[Row]:
    """An exported CSV read back into rows: the BOM dropped, the formula escaping undone, figures as ints."""
    text = data.decode("utf-8")
    if text.startswith(BOM):
        text = text[1:]
    reader = csv.DictReader(io.StringIO(text, newline=""))
    return [{c: _unescape_cell(c, r[c]) for c in COLUMNS} for r in reader]


# --- files within a size limit ---------------------------------------------------------------------------


def export_files(export: Export, fmt: Format, *, limit: int, max_parts: int = MAX_PARTS) -> list[ExportFile]:
    """The export as files of at most ``limit`` bytes each: one file when it fits, else parts that are each a
    valid file on their own (a CSV with the BOM and header, a JSON array). Raises :class:`ExportTooLarge`
    when it would take more than ``max_parts`` files, or one row alone is over the limit."""
    if fmt == "csv":
        header, lines = _csv_lines(export.rows)
        head = (BOM + header).encode("utf-8")
        parts = _pack([line.encode("utf-8") for line in lines], head, b"", b"", limit)
        chunks = [head + b"".join(part) for part in parts] or [head]
    else:
        items = [json.dumps(r, ensure_ascii=False).encode("utf-8") for r in export.rows]
        parts = _pack(items, b"[\n", b",\n", b"\n]\n", limit)
        chunks = [b"[\n" + b",\n".join(part) + b"\n]\n" for part in parts] or [b"[]\n"]
    if len(chunks) > max_parts:
        total = sum(len(c) for c in chunks)
        raise ExportTooLarge(f"this export is {_size(total)}: more than {max_parts} files of {_size(limit)}, the "
                             "largest this server accepts. Narrow it with topic or since, or run `python -m bot "
                             "export` where the bot runs.")
    if len(chunks) == 1:
        return [ExportFile(f"{export.stem}.{fmt}", chunks[0])]
    return [ExportFile(f"{export.stem}-part{i}of{len(chunks)}.{fmt}", chunk) for i, chunk in enumerate(chunks, 1)]


def _pack(items: list[bytes], head: bytes, sep: bytes, tail: bytes, limit: int) -> list[list[bytes]]:
    parts: list[list[bytes]] = []
    current: list[bytes] = []
    size = len(head) + len(tail)
    for item in items:
        grown = size + len(item) + (len(sep) if current else 0)
        if grown > limit and current:
            parts.append(current)
            current, grown = [], len(head) + len(tail) + len(item)
        if grown > limit:
            raise ExportTooLarge(f"one row of this export is over {_size(limit)}, the largest file this server "
                                 "accepts; run `python -m bot export` where the bot runs.")
        current.append(item)
        size = grown
    if current:
        parts.append(current)
    return parts


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MiB"
    if n >= 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n} bytes"


def file_stem(topic_id: str | None, now: datetime) -> str:
    """"sitrep-pak-afg-20251012": safe in any file system."""
    slug = re.sub(r"[^a-z0-9]+", "-", (topic_id or "all-topics").casefold()).strip("-") or "topic"
    return f"sitrep-{slug}-{now.astimezone(UTC):%Y%m%d}"
