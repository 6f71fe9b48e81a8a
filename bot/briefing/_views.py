"""Timeline, brief, provenance, search, sources and digest answers: pure functions over stored facts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rapidfuzz import fuzz

from bot.briefing._answers import Answer, Day, DigestAnswer, Line, Ref, Section, source_of
from bot.briefing._casualties import build_casualties, claim_label, figure_text, plural, who_text
from bot.briefing._territory import build_territory, territory_claimant, territory_text
from bot.errors import BadOption
from bot.model import Casualty, Event, SourceState, StoredFact, Territory

MAX_TIMELINE = 300


def parse_date_bound(text: str | None, option: str, end: bool) -> str | None:
    """"2025", "2025-04" or "2025-04-09" → a comparable ISO day ("2025-04-31" for the end of April)."""
    if not text:
        return None
    parts = text.strip().split("-")
    try:
        if not 1 <= len(parts) <= 3 or len(parts[0]) != 4:
            raise ValueError
        values = [int(p) for p in parts]
        datetime(values[0], values[1] if len(values) > 1 else 1, values[2] if len(values) > 2 else 1)
    except ValueError:
        raise BadOption(f"{option}: {text!r} is not a date; use YYYY, YYYY-MM or YYYY-MM-DD") from None
    filler = ["12", "31"] if end else ["01", "01"]
    return "-".join([*parts, *filler[len(parts) - 1:]])


def _span(iso: str) -> tuple[str, str]:
    parts = iso.split("-")
    return "-".join([*parts, *["01", "01"][len(parts) - 1:]]), "-".join([*parts, *["12", "31"][len(parts) - 1:]])


def build_timeline(facts: Sequence[StoredFact], *, topic_name: str, date_from: str | None = None,
                   date_to: str | None = None, newest_first: bool = False) -> Answer:
    """Dated events (and dated casualty claims) in order, duplicates across outlets merged."""
    lo = parse_date_bound(date_from, "from", end=False)
    hi = parse_date_bound(date_to, "to", end=True)
    entries: list[tuple[str, str, StoredFact]] = []  # (date, summary, fact)
    event_quotes = {(f.fact.date, f.fact.quote) for f in facts if isinstance(f.fact, Event)}
    for f in facts:
        fact = f.fact
        when = fact.date
        if not when:
            continue
        start, end = _span(when)
        if (lo and end < lo) or (hi and start > hi):
            continue
        if isinstance(fact, Event):
            entries.append((when, fact.summary, f))
        elif isinstance(fact, Casualty) and not fact.breakdown and (when, fact.quote) not in event_quotes:
            entries.append((when, f"{figure_text(fact)} {who_text(fact)} {fact.category} "
                                  f"({claim_label(fact, f.article.outlet)})", f))
    entries.sort(key=lambda e: (e[0], e[2].seq))
    merged: list[tuple[str, str, list[StoredFact]]] = []
    by_date: dict[str, list[int]] = {}
    for when, summary, f in entries:
        for i in by_date.get(when, ()):
            if fuzz.token_set_ratio(summary, merged[i][1]) >= 85:
                merged[i][2].append(f)
                break
        else:
            by_date.setdefault(when, []).append(len(merged))
            merged.append((when, summary, [f]))
    title = f"Timeline: {topic_name}"
    if not merged:
        scope = " in that date range" if (lo or hi) else ""
        return Answer(title, empty_message=f"No dated events stored for {topic_name}{scope} yet.")
    total = len(merged)
    if newest_first:
        merged.reverse()
    shown = merged[:MAX_TIMELINE] if newest_first else merged[-MAX_TIMELINE:]
    lines = tuple(_timeline_line(when, summary, group) for when, summary, group in shown)
    footer = plural(total, "event") + (f", showing {len(shown)}: narrow with from/to" if total > len(shown) else "")
    return Answer(title, (Section("", lines),), footer=footer)


def _timeline_line(when: str, summary: str, group: list[StoredFact]) -> Line:
    outlets = list(dict.fromkeys(f.article.outlet for f in group))
    extra = f" +{len(outlets) - 1}" if len(outlets) > 1 else ""
    return Line.of(Day(when), f" — {summary} · ", source_of(group[0]), f"{extra} ", Ref(group[0].id))


def build_brief(facts: Sequence[StoredFact], *, topic_name: str, now: datetime) -> Answer:
    """The latest picture, extractive: newest events, newest claims, how many sources, last update."""
    title = f"Brief: {topic_name}"
    if not facts:
        return Answer(title, empty_message=f"Nothing stored for {topic_name} yet.")
    events = sorted((f for f in facts if isinstance(f.fact, Event) and f.fact.date),
                    key=lambda f: (f.fact.date, f.seq), reverse=True)[:3]
    claims = build_casualties([f for f in facts if isinstance(f.fact, Casualty)][:200],
                              topic_name=topic_name, window="lately", max_lines=4)
    sections = []
    if events:
        sections.append(Section("Latest events", tuple(
            Line.of(Day(f.fact.date), f" — {f.fact.summary} · ", source_of(f), " ", Ref(f.id))  # type: ignore[union-attr, arg-type]
            for f in events)))
    for section in claims.sections:
        sections.append(Section(f"Newest claims — {section.heading}", section.lines))
    places = build_territory([f for f in facts if isinstance(f.fact, Territory)][:50], topic_name=topic_name,
                             window="lately", max_lines=3)
    for section in places.sections:
        sections.append(Section(f"Territory — {section.heading}", section.lines))
    outlets = {f.article.outlet for f in facts}
    articles = {f.article.url for f in facts}
    updated = max(f.stored_at for f in facts)
    footer = (f"From {plural(len(articles), 'article')} by {plural(len(outlets), 'outlet')}; "
              f"last updated {updated:%d %b %Y %H:%M} UTC.")
    return Answer(title, tuple(sections), footer=footer)


def build_fact(f: StoredFact, topic_names: Sequence[str]) -> Answer:
    fact = f.fact
    lines = [Line.of(f"“{fact.quote}”")]
    if isinstance(fact, Casualty):
        lines.append(Line.of(f"Figure: {figure_text(fact)} {who_text(fact)} "
                             f"{fact.category}; victim side: {fact.victim or 'unspecified'}; "
                             f"{claim_label(fact, f.article.outlet)}"
                             + (" (admitted own losses)" if fact.admitted else "")))
        if fact.date:
            lines.append(Line.of("Incident date: ", Day(fact.date)))
    elif isinstance(fact, Territory):
        lines.append(Line.of(f"Territory: {territory_text(fact)}; {territory_claimant(fact, f.article.outlet)}"))
        if fact.date:
            lines.append(Line.of("Date: ", Day(fact.date)))
    else:
        lines.append(Line.of(f"Event: {fact.summary}"))
        if fact.date:
            lines.append(Line.of(f"Date ({fact.date_precision}): ", Day(fact.date)))
        if fact.actors:
            lines.append(Line.of("Actors: " + ", ".join(fact.actors)))
    published = f.article.published
    lines += [
        Line.of(f"Article: {f.article.title}"),
        Line.of("Outlet: ", source_of(f)),
        Line.of("Published: " + (f"{published:%a %d %b %Y %H:%M} UTC" if published else "unknown")),
        Line.of(f"Link: {f.article.url}"),
        Line.of("Topics: " + (", ".join(topic_names) or "none")),
    ]
    return Answer(f"Fact {f.id}", (Section("", tuple(lines)),), url=f.article.url)


def build_search(facts: Sequence[StoredFact], *, words: str) -> Answer:
    title = f"Search: {words}"
    if not facts:
        return Answer(title, empty_message=f"No stored fact mentions {words!r}.")
    lines = []
    for f in facts:
        fact = f.fact
        when: list[object] = [Day(fact.date), " "] if fact.date else []
        if isinstance(fact, Event):
            text = fact.summary
        elif isinstance(fact, Territory):
            text = f"{territory_text(fact)} ({territory_claimant(fact, f.article.outlet)})"
        else:
            text = f"{figure_text(fact)} {who_text(fact)} {fact.category} ({claim_label(fact, f.article.outlet)})"
        lines.append(Line.of(*when, f"{text} · ", source_of(f), " ", Ref(f.id)))  # type: ignore[arg-type]
    return Answer(title, (Section("", tuple(lines)),), footer=f"{len(facts)} matches, newest first.")


def build_sources(sources: Sequence[SourceState], now: datetime) -> Answer:
    title = "Sources"
    if not sources:
        return Answer(title, empty_message="No sources configured yet. Admins add them with /config feeds add.")
    lines = []
    for s in sorted(sources, key=lambda s: (not s.paused, s.name.casefold())):
        state = "PAUSED" if s.paused else ("failing" if s.consecutive_failures else "ok")
        seen = f"last success {_ago(s.last_success, now)}" if s.last_success else "never fetched successfully"
        error = f"; last error: {s.last_error}" if s.last_error and s.consecutive_failures else ""
        failures = f"; {s.consecutive_failures} failures in a row" if s.consecutive_failures else ""
        lines.append(Line.of(f"{s.name} · {state} — {seen}; {s.items_seen} items{failures}{error}",
                             detail=s.url))
    paused = sum(s.paused for s in sources)
    return Answer(title, (Section("", tuple(lines)),),
                  footer=f"{len(sources)} sources" + (f", {paused} paused" if paused else ""))


def _ago(when: datetime, now: datetime) -> str:
    seconds = max(0, int((now - when).total_seconds()))
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return "just now"


def build_digest(new_facts: Sequence[StoredFact], *, topic_name: str, paused: Sequence[SourceState],
                 notices: Sequence[str], guild_id: int | None, up_to_seq: int) -> DigestAnswer:
    """What is new since the last digest: events, claims (grouped like /casualties), paused sources."""
    title = f"Digest: {topic_name}"
    sections: list[Section] = []
    events = [f for f in new_facts if isinstance(f.fact, Event) and f.fact.date]
    if events:
        timeline = build_timeline(events, topic_name=topic_name)
        sections.append(Section("New events", timeline.sections[0].lines if timeline.sections else ()))
    claims = [f for f in new_facts if isinstance(f.fact, Casualty)]
    if claims:
        for section in build_casualties(claims, topic_name=topic_name, window="new since the last digest").sections:
            sections.append(Section(f"New claims — {section.heading}", section.lines))
    places = [f for f in new_facts if isinstance(f.fact, Territory)]
    if places:
        for section in build_territory(places, topic_name=topic_name, window="new since the last digest").sections:
            sections.append(Section(f"New territory claims — {section.heading}", section.lines))
    if paused:
        sections.append(Section("Paused sources", tuple(
            Line.of(f"{s.name}: {s.last_error or 'failing'} (retried slowly; resumes by itself)") for s in paused)))
    if notices:
        sections.append(Section("Notices", tuple(Line.of(n) for n in notices)))
    articles = {f.article.url for f in new_facts}
    footer = f"{plural(len(new_facts), 'new fact')} from {plural(len(articles), 'article')}." if new_facts else ""
    return DigestAnswer(title, tuple(sections), footer=footer, empty_message="Nothing new since the last digest.",
                        guild_id=guild_id, up_to_seq=up_to_seq, notices=tuple(notices))


__all__ = ["Ref", "build_brief", "build_digest", "build_fact", "build_search", "build_sources", "build_territory",
           "build_timeline"]
