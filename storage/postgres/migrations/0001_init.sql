-- Sitrep's PostgreSQL schema, version 1 (see storage/DESIGN.md, "The PostgreSQL driver").
-- Every column a query filters or sorts on is a column; the rest of a record is one jsonb document in the
-- same encoding as the TinyDB driver's (storage/_codec.py), so both drivers read and write the same values.

-- One row: the highest fact seq given out, and the version of the small state tables (sources, topics,
-- guilds) that every process keeps in memory.
CREATE TABLE meta (
    id            boolean PRIMARY KEY DEFAULT true CHECK (id),
    last_seq      bigint NOT NULL DEFAULT 0,
    state_version bigint NOT NULL DEFAULT 0
);
INSERT INTO meta DEFAULT VALUES;

CREATE TABLE articles (
    url       text PRIMARY KEY,                 -- canonical URL: the article's identity
    sort_time timestamptz NOT NULL,             -- published, else fetched: recent_articles orders by it
    guid      text,
    text_hash text NOT NULL,
    story_id  text,
    topics    text[] NOT NULL,
    doc       jsonb NOT NULL                    -- the Article
);
CREATE INDEX articles_guid ON articles (guid) WHERE guid IS NOT NULL;
CREATE INDEX articles_text_hash ON articles (text_hash);
CREATE INDEX articles_story ON articles (story_id) WHERE story_id IS NOT NULL;
CREATE INDEX articles_sort_time ON articles (sort_time DESC);

CREATE TABLE facts (
    id          text COLLATE "C" PRIMARY KEY,   -- "C": a btree answers id-prefix lookups
    seq         bigint NOT NULL UNIQUE,         -- commit order; digests remember the last one delivered
    rev         bigint NOT NULL DEFAULT txid_current(),  -- the row's version: the transaction that wrote it
    article_url text NOT NULL REFERENCES articles (url) ON DELETE CASCADE,
    kind        text NOT NULL,                  -- casualty | event | territory
    t           timestamptz NOT NULL,           -- the article's publication time, else when stored: answers
                                                -- are newest first by (t, seq)
    topics      text[] NOT NULL,
    category    text,                           -- casualties: killed, injured, ...
    victim      text,                           -- casualties: the victim side, case-folded ('' when none)
    claimant    text,                           -- casualties: the claimant, case-folded ('' = unattributed)
    backlog     boolean NOT NULL,               -- a new source's first poll: stored, never announced
    words       text[] NOT NULL,                -- the folded words /search finds it by (storage/_index.py)
    stored_at   timestamptz NOT NULL,
    story_id    text,
    article     jsonb NOT NULL,                 -- the ArticleRef (url, outlet, title, published)
    fact        jsonb NOT NULL                  -- the Fact, with its "kind"
);
CREATE INDEX facts_newest ON facts (t DESC, seq DESC);
CREATE INDEX facts_kind_newest ON facts (kind, t DESC, seq DESC);
CREATE INDEX facts_words ON facts USING gin (words);
CREATE INDEX facts_article ON facts (article_url);
-- A claimant's or a side's casualty figures: the index alone answers (ids, versions, and the topic and category
-- filters), newest first.
CREATE INDEX facts_claimant ON facts (claimant, t DESC, seq DESC) INCLUDE (id, rev, topics, category)
    WHERE kind = 'casualty';
CREATE INDEX facts_victim ON facts (victim, t DESC, seq DESC) INCLUDE (id, rev, topics, category)
    WHERE kind = 'casualty';

-- A fact's topics again, one row each, in the order answers want: "a topic's facts since ..." is a range
-- scan of one index (a GIN index on facts.topics finds the rows, but in no order: at a million facts,
-- sorting a big topic's matches cost more than the 20 ms an answer may take).
-- Its rows are rewritten with the fact's, and carry the fact's rev: a topic's ids and versions come from the
-- index alone (an index-only scan), and only facts not already decoded are read from the facts table.
CREATE TABLE fact_topics (
    topic   text NOT NULL,
    kind    text NOT NULL,
    t       timestamptz NOT NULL,
    seq     bigint NOT NULL,
    fact_id text COLLATE "C" NOT NULL REFERENCES facts (id) ON DELETE CASCADE,
    rev     bigint NOT NULL DEFAULT txid_current(),
    category text,                              -- casualties: killed, injured, ...
    PRIMARY KEY (topic, fact_id)
);
CREATE INDEX fact_topics_newest ON fact_topics (topic, t DESC, seq DESC) INCLUDE (fact_id, rev);
CREATE INDEX fact_topics_kind_newest ON fact_topics (topic, kind, t DESC, seq DESC) INCLUDE (fact_id, rev, category);
CREATE INDEX fact_topics_fact ON fact_topics (fact_id);

CREATE TABLE sources (
    id       text PRIMARY KEY,
    guild_id bigint,                            -- NULL: config.toml's, every guild sees it
    doc      jsonb NOT NULL
);

CREATE TABLE topics (
    key      text PRIMARY KEY,
    guild_id bigint,
    doc      jsonb NOT NULL
);

CREATE TABLE guilds (
    guild_id bigint PRIMARY KEY,
    doc      jsonb NOT NULL
);

-- The leader lease's fencing epochs (bot/client/_leader.py increments one at each election): a commit
-- fenced with an older epoch than its lease's current one comes from a deposed leader and is refused.
CREATE TABLE IF NOT EXISTS leader_epoch (
    name  text PRIMARY KEY,
    epoch bigint NOT NULL
);
