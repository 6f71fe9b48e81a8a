"""The records that travel along Sitrep's data flow: sources → extraction → storage → briefing → cogs.

Every stage hands the next one frozen dataclasses from this module, never dicts. Datetimes are always
timezone-aware UTC. Dates of incidents and events are ISO strings whose length says their precision
(``2025-10-09`` day, ``2025-10`` month, ``2025`` year), exactly as the design's fact model and the
``extract --format jsonl`` contract spell them.

This module imports nothing from the rest of the project and nothing outside the standard library, so
every layer may import it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, cast

Category = Literal["killed", "injured", "captured", "missing", "arrested", "displaced"]
Qualifier = Literal["exact", "at_least", "more_than", "about", "up_to", "fewer_than", "range", "vague"]
Precision = Literal["day", "month", "year"]
Kind = Literal["casualty", "event", "territory"]
Action = Literal["taken", "lost", "destroyed", "withdrawn"]
PlacePrecision = Literal["town", "district", "province", "country"]

CATEGORIES: tuple[Category, ...] = ("killed", "injured", "captured", "missing", "arrested", "displaced")
QUALIFIERS: tuple[Qualifier, ...] = (
    "exact", "at_least", "more_than", "about", "up_to", "fewer_than", "range", "vague",
)
PRECISIONS: tuple[Precision, ...] = ("day", "month", "year")


@dataclass(frozen=True, slots=True)
class Place:
    """A fact's place in the gazetteer (GeoNames data shipped by a package): a town (village, camp or
    neighbourhood too), a district, a province (state, region) or a country. ``country`` is ISO 3166 alpha-2;
    a district's or province's coordinates are the mean of its towns'."""

    name: str
    lat: float
    lon: float
    country: str
    precision: PlacePrecision
    admin1: str | None = None


@dataclass(frozen=True, slots=True)
class Casualty:
    """One casualty figure as one text states it, with who states it and whose casualties it counts.

    ``count`` is the number as written (``None`` for vague amounts such as "dozens"); a range keeps its
    low end in ``count`` and its high end in ``count_high``. ``claimant`` is ``None`` when the outlet states
    the figure itself: rule 3 of the product, "unattributed figures are marked as reported by the outlet",
    is applied when the figure is shown, not by inventing a claimant here.
    """

    category: Category
    count: int | None
    qualifier: Qualifier
    quote: str
    count_high: int | None = None
    victim: str | None = None
    victim_text: str | None = None
    claimant: str | None = None
    claimant_text: str | None = None
    date: str | None = None
    location: str | None = None
    place: Place | None = None  # ``location`` resolved in the gazetteer; None where that needs a guess
    cumulative: bool = False  # a running total over a war or period ("400 killed since January")
    breakdown: bool = False  # a subset of another figure ("including two commanders")
    kind: Kind = field(default="casualty", init=False)

    @property
    def admitted(self) -> bool:
        """A side stating its own losses, as opposed to claiming the other side's."""
        return self.claimant is not None and self.claimant == self.victim


@dataclass(frozen=True, slots=True)
class Event:
    """A dated happening for the timeline. ``date`` is ``None`` when the text gives no resolvable date."""

    summary: str
    quote: str
    date: str | None = None
    date_precision: Precision | None = None
    actors: tuple[str, ...] = ()
    location: str | None = None
    place: Place | None = None
    kind: Kind = field(default="event", init=False)


@dataclass(frozen=True, slots=True)
class Territory:
    """A claim about places: "the army said its forces had taken control of more than 20 posts". Counts of
    places are never casualties and never summed; like a casualty figure, the claim keeps its claimant.

    ``object`` is the plural noun as stated ("posts", "villages", "town"); ``by_side`` took, lost, destroyed
    or withdrew, ``from_side`` is the side it was taken from (canonical, or ``None`` when not stated). In
    the ``extract --format jsonl`` contract they are named ``by`` and ``from``.
    """

    action: Action
    object: str
    count: int | None
    qualifier: Qualifier
    quote: str
    count_high: int | None = None
    by_side: str | None = None
    from_side: str | None = None
    claimant: str | None = None
    claimant_text: str | None = None
    date: str | None = None
    location: str | None = None
    place: Place | None = None
    kind: Kind = field(default="territory", init=False)


Fact = Casualty | Event | Territory


@dataclass(frozen=True, slots=True)
class ArticleRef:
    """Where a fact comes from. Rule 1: no fact without a source."""

    url: str  # canonical URL
    outlet: str
    title: str
    published: datetime | None  # aware UTC; None when neither feed nor page gives one


@dataclass(frozen=True, slots=True)
class Article:
    """An article as stored: one row per canonical URL, however many feeds or polls brought it."""

    url: str  # canonical URL: the article's identity
    outlet: str
    title: str
    published: datetime | None
    source_id: str  # the source that first brought it
    text_hash: str  # of the normalised text: an edit changes it, a re-poll does not
    topics: tuple[str, ...] = ()
    guid: str | None = None
    summary: str = ""  # the feed's summary or the page's lead, for briefs and similarity
    story_id: str | None = None  # articles about the same incident from different outlets share it
    fetched_at: datetime | None = None
    preview: bool = False  # paywalled or preview-cut text: kept for what it is

    @property
    def ref(self) -> ArticleRef:
        return ArticleRef(self.url, self.outlet, self.title, self.published)


@dataclass(frozen=True, slots=True)
class StoredFact:
    """A fact with its provenance, as storage keeps it and briefing reads it.

    ``id`` is short, stable and derived from the article and the fact, so the same fact extracted again
    (a re-poll, an edit that leaves the sentence alone) keeps its id. ``seq`` is assigned by the store in
    commit order and only ever grows: digests remember the last ``seq`` they delivered.
    """

    id: str
    seq: int
    fact: Fact
    article: ArticleRef
    topics: tuple[str, ...]
    stored_at: datetime
    story_id: str | None = None

    @property
    def kind(self) -> Kind:
        return self.fact.kind


@dataclass(frozen=True, slots=True)
class SourceState:
    """A polled source and its fetch state and health.

    ``guild_id`` is ``None`` for sources from ``config.toml`` (every guild sees them) and the guild's id for
    sources an admin added from Discord (only that guild sees them).
    """

    id: str
    name: str
    url: str
    guild_id: int | None = None
    full_text: bool = False
    etag: str | None = None
    last_modified: str | None = None
    last_attempt: datetime | None = None
    last_success: datetime | None = None
    last_error: str | None = None
    consecutive_failures: int = 0
    items_seen: int = 0
    paused: bool = False
    paused_at: datetime | None = None
    next_due: datetime | None = None  # backoff and Retry-After push this forward
    seeded: bool = False  # the first poll stores the backlog without announcing it


@dataclass(frozen=True, slots=True)
class Topic:
    id: str
    name: str
    keywords: tuple[str, ...]
    guild_id: int | None = None  # None: from config.toml, seen by every guild

    @property
    def key(self) -> str:
        """The id facts carry: config topics by their id, guild topics qualified by their guild."""
        return self.id if self.guild_id is None else f"{self.guild_id}:{self.id}"


AlertValue = int | str | list[str] | None  # what one field of a stored alert rule may hold (plain JSON)


@dataclass(frozen=True, slots=True)
class AlertRule:
    """One /config alerts rule: which new facts are posted at once to ``channel_id``.

    A casualty claim alerts when its own stated figure is at or over ``min_killed`` (category killed) or
    ``min_injured`` (injured): one claim's figure, never a sum of several. An event alerts when its text
    contains one of ``keywords``. ``topic`` is a Topic.key (``None``: every topic the guild follows).
    Facts stored at or before ``since_seq`` (when the rule was made) never alert for it.
    """

    id: str
    channel_id: int
    topic: str | None = None
    min_killed: int | None = None
    min_injured: int | None = None
    keywords: tuple[str, ...] = ()
    role_id: int | None = None
    since_seq: int = 0

    def to_json(self) -> dict[str, AlertValue]:
        """As GuildSettings stores it: a dict of plain JSON values (the store's generic codec keeps it as is)."""
        return {"channel_id": self.channel_id, "topic": self.topic, "min_killed": self.min_killed,
                "min_injured": self.min_injured, "keywords": list(self.keywords), "role_id": self.role_id,
                "since_seq": self.since_seq}

    @classmethod
    def from_json(cls, rule_id: str, data: dict[str, AlertValue]) -> AlertRule:
        def number(key: str) -> int | None:
            value = data.get(key)
            return value if isinstance(value, int) else None

        topic = data.get("topic")
        return cls(id=rule_id, channel_id=number("channel_id") or 0, topic=topic if isinstance(topic, str) else None,
                   min_killed=number("min_killed"), min_injured=number("min_injured"),
                   keywords=tuple(cast(list[str], data.get("keywords") or [])), role_id=number("role_id"),
                   since_seq=number("since_seq") or 0)


@dataclass(frozen=True, slots=True)
class GuildSettings:
    """What a guild's admins chose with /config. Guilds never see or change each other's settings."""

    guild_id: int
    digest_channel_id: int | None = None
    digest_time: str = "08:00"  # HH:MM in ``timezone``
    timezone: str = "UTC"
    digest_enabled: bool = False
    digest_chart: bool = False  # attach the casualties chart of the digest's topics (/config digest chart)
    digest_map: bool = False  # attach the map of the digest's topics' incidents (/config digest map)
    digest_disabled_reason: str | None = None  # e.g. the channel went away; shown to admins in /config
    poll_interval_s: int | None = None  # None: the config default
    digest_watermark: int = 0  # seq of the last fact a delivered digest covered
    last_digest_at: datetime | None = None  # when the last digest was accepted by Discord
    last_digest_slot: str | None = None  # the scheduled slot (ISO, UTC) it was for: never post a slot twice
    notices: tuple[str, ...] = ()  # admin notices waiting to be shown (paused sources, digest switched off)
    # Topic routing: a topic's digest goes to its own channel (topic key -> channel id); topics without a route
    # go to ``digest_channel_id``. Each routed channel keeps its own slot (key: channel id as text), so a digest
    # posted to one channel is never posted again when another fails or after a restart; each topic that was
    # ever routed keeps its own watermark, so a topic moving between channels loses nothing and repeats nothing.
    topic_channels: dict[str, int] = field(default_factory=dict)
    channel_slots: dict[str, str] = field(default_factory=dict)
    topic_watermarks: dict[str, int] = field(default_factory=dict)
    # Digests being sent (written before the post, cleared with its record): the digest's nonce → the highest
    # seq it covers. A process that died between Discord's accept and the record leaves it here; the re-send
    # builds the same digest (nothing newer), Discord returns the same message for the same nonce, and exactly
    # what was shown is recorded. Without it, facts stored in between would be recorded as delivered unseen.
    digests_in_flight: dict[str, int] = field(default_factory=dict)

    # Alerts (/config alerts). Plain JSON so the store's generic codec keeps them: rule id → AlertRule.to_json().
    alert_rules: dict[str, dict[str, AlertValue]] = field(default_factory=dict)
    # Delivery state, recorded only after Discord accepted a post. Every (channel, fact) with a seq at or below
    # the watermark is settled; above it, ``alerts_sent`` holds "channel:fact id" keys already posted (a cycle
    # cut short by an error resumes without posting them twice).
    alert_watermark: int = 0
    alerts_sent: tuple[str, ...] = ()
    alert_posts: dict[str, int] = field(default_factory=dict)  # "channel:story id" → message id, or forum post id
    alert_threads: dict[str, int] = field(default_factory=dict)  # "channel:story id" → its follow-up thread's id
    alert_times: tuple[str, ...] = ()  # ISO times of the new posts made in the last hour (the hourly limit)
    alert_names: dict[str, str] = field(default_factory=dict)  # "channel:story id" → its name (first alert's title)
    # New posts being made (written before the post, cleared with its record): "channel:story id" keys. A forum
    # post takes no nonce, so after a crash between Discord's accept and the record, the forum is searched
    # for the incident's post before another is made.
    alerts_in_flight: tuple[str, ...] = ()

    def watermark(self, topic_key: str) -> int:
        return self.topic_watermarks.get(topic_key, self.digest_watermark)

    def routes(self, topic_keys: list[str]) -> list[tuple[int, list[str], str | None]]:
        """(channel, its topics, route key or None for the default channel) for every channel a digest goes
        to: the default channel with the topics not routed elsewhere, then each routed channel."""
        out: list[tuple[int, list[str], str | None]] = []
        unrouted = [k for k in topic_keys if k not in self.topic_channels]
        if self.digest_channel_id is not None and unrouted:
            out.append((self.digest_channel_id, unrouted, None))
        for channel in dict.fromkeys(self.topic_channels.values()):
            routed = [k for k in topic_keys if self.topic_channels.get(k) == channel]
            if routed:
                out.append((channel, routed, str(channel)))
        return out

    @property
    def rules(self) -> list[AlertRule]:
        return [AlertRule.from_json(rule_id, data) for rule_id, data in self.alert_rules.items()]
