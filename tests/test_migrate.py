"""`python -m bot migrate`: the demo's TinyDB store copied to PostgreSQL and back answers the same questions the
same way, keeps every seq and watermark, refuses a non-empty target, and a copy that differs is caught."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.errors import StoreError
from bot.model import Article, Event, GuildSettings, StoredFact, Topic
from storage import ArticleFacts, Batch, TinyStore
from storage.copy import compare, held, read_all

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = [["casualties"], ["casualties", "--topic", "pak-afg"], ["timeline"], ["brief"], ["sources"],
             ["digest"], ["search", "Kurram"], ["territory", "--topic", "pak-afg"]]
GUILD = GuildSettings(guild_id=42, digest_channel_id=7, digest_enabled=True, digest_watermark=9,
                      last_digest_at=datetime(2025, 1, 2, 7, 30, tzinfo=UTC),
                      last_digest_slot="2025-01-02T07:30:00+00:00",
                      topic_channels={"42:kurram": 8}, channel_slots={"8": "2025-01-02T07:30:00+00:00"},
                      topic_watermarks={"42:kurram": 11}, alert_watermark=5, alerts_sent=("8:abcd",))
TOPIC = Topic(id="kurram", name="Kurram", keywords=("Kurram",), guild_id=42)


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's store (two polls of the sample outlets on loopback), plus a guild's topic and settings."""
    data = tmp_path_factory.mktemp("demo")
    demo = subprocess.run([sys.executable, "-m", "bot", "--data-dir", str(data), "demo"], capture_output=True,
                          text=True, cwd=ROOT, timeout=120, env={"PATH": "/usr/bin:/bin", "HOME": str(ROOT)})
    assert demo.returncode == 0, demo.stderr
    store = TinyStore.open_sync(data)
    try:
        store.commit_sync(Batch(topics=(TOPIC,), guilds=(GUILD,)))
    finally:
        store.close_sync()
    return data


def config_file(tmp_path: Path, name: str, *, data_dir: Path | None = None, driver: str = "tinydb",
                schema: str = "sitrep") -> Path:
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    text = re.sub(r'(?m)^data_dir = "data".*$', f'data_dir = "{data_dir or tmp_path / "unused"}"', text)
    text = text.replace("[storage]\n", f'[storage]\ndriver = "{driver}"\nschema = "{schema}"\n', 1)
    path = tmp_path / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def pinned(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Answers that depend on now ("last success 3 min ago", the default windows) see one fixed now."""
    import bot.briefing._service as service

    fixed = datetime.now(UTC)

    class Pinned(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return fixed if tz is not None else fixed.replace(tzinfo=None)

    monkeypatch.setattr(service, "datetime", Pinned)
    yield


def answers(capsys: pytest.CaptureFixture[str], config: Path) -> list[str]:
    out = []
    for question in QUESTIONS:
        status, text, err = run(capsys, "--config", str(config), "ask", *question)
        assert status == 0, err
        out.append(text)
    return out


def new_fact_seq(store: Any) -> int:
    """Commit one new article with one fact; the seq it was given."""
    article = Article(url="https://example.org/after-migration", outlet="Example", title="After", source_id="x",
                      text_hash="h-after", published=datetime.now(UTC), topics=("pak-afg",))
    store.commit_sync(Batch(articles=(ArticleFacts(article, (Event(summary="After.", quote="After."),)),)))
    found = store.facts(topics=["pak-afg"], limit=1)
    assert found[0].article.url == article.url
    return int(found[0].seq)


# --- PostgreSQL and back --------------------------------------------------------------------------------------


def test_round_trip_answers_alike_and_keeps_seqs(demo_dir: Path, pg_dsn: str, pg_schema: str, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                                 pinned: None) -> None:
    from storage.postgres.store import PgStore

    monkeypatch.setenv("SITREP_DATABASE_URL", pg_dsn)
    tiny = config_file(tmp_path, "tiny", data_dir=demo_dir)
    pg = config_file(tmp_path, "pg", driver="postgres", schema=pg_schema)
    back_dir = tmp_path / "back"
    back = config_file(tmp_path, "back", data_dir=back_dir)

    status, out, err = run(capsys, "--config", str(tiny), "migrate", "--to", "postgres", "--schema", pg_schema)
    assert status == 0, err
    assert "DIFFERS" not in out and re.search(r"(?m)^facts\s+(\d+)\s+\1\s+(\w+)\s+\2\s+ok$", out), out
    assert re.search(r"(?m)^guilds\s+1\s+1\s.*ok$", out) and re.search(r"(?m)^last_seq\s+(\d+)\s+\1\s.*ok$", out)
    status, out, err = run(capsys, "--config", str(pg), "migrate", "--to", "tinydb", str(back_dir))
    assert status == 0, err
    assert "DIFFERS" not in out and "Verified." in out

    expected = answers(capsys, tiny)
    assert "more than 150 Taliban fighters killed" in expected[0] and "Frontier Wire · ok" in expected[4]
    assert answers(capsys, pg) == expected
    assert answers(capsys, back) == expected

    # Everything, seqs, backlog flags and watermarks included, is the same on all three.
    source = TinyStore.open_sync(demo_dir, read_only=True)
    copy = PgStore.open_sync(pg_dsn, schema=pg_schema)
    again = TinyStore.open_sync(back_dir)
    try:
        original = read_all(source)
        assert any(backlog for _, backlog in original.facts) and not all(backlog for _, backlog in original.facts)
        for other in (read_all(copy), read_all(again)):
            assert all(check.ok for check in compare(original, other))
            assert other.guilds == [GUILD] and other.topics == [TOPIC]
            assert sorted((f.id, f.seq, f.stored_at, b) for f, b in other.facts) == sorted(
                (f.id, f.seq, f.stored_at, b) for f, b in original.facts)
        assert [f.id for f in copy.facts_after(0)] == [f.id for f in source.facts_after(0)]
        # The next fact continues the sequence: last_seq came along.
        assert new_fact_seq(copy) == original.last_seq + 1
        assert new_fact_seq(again) == original.last_seq + 1
    finally:
        for store in (source, copy, again):
            store.close_sync()


def test_refuses_a_non_empty_target(demo_dir: Path, pg_dsn: str, pg_schema: str, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from storage.postgres.store import PgStore

    monkeypatch.setenv("SITREP_DATABASE_URL", pg_dsn)
    tiny = config_file(tmp_path, "tiny", data_dir=demo_dir)
    store = PgStore.open_sync(pg_dsn, schema=pg_schema)
    try:
        store.commit_sync(Batch(guilds=(GuildSettings(guild_id=1, digest_watermark=3),)))
    finally:
        store.close_sync()
    status, _, err = run(capsys, "--config", str(tiny), "migrate", "--to", "postgres", "--schema", pg_schema)
    assert status == 2
    assert re.fullmatch(rf"error: the target \(PostgreSQL at .*, schema {pg_schema}\) is not empty \(1 guilds\); "
                        r"nothing was copied\. Migrate into an empty schema \(--schema NAME\) or database",
                        err.strip().splitlines()[-1]), err
    store = PgStore.open_sync(pg_dsn, schema=pg_schema, read_only=True)
    try:
        assert held(store) == {"guilds": 1} and store.last_seq == 0
    finally:
        store.close_sync()

    # The other way: a TinyDB directory that holds a store is refused, its files untouched.
    status, _, err = run(capsys, "--config", str(tiny), "migrate", "--to", "postgres", "--schema", pg_schema + "_b")
    assert status == 0, err
    before = {p.name: p.read_bytes() for p in demo_dir.iterdir()}
    status, _, err = run(capsys, "--config", str(tiny), "migrate", "--to", "tinydb", str(demo_dir),
                         "--schema", pg_schema + "_b")
    assert status == 2
    assert f"error: the target (the TinyDB store in {demo_dir}) is not empty (" in err
    assert {p.name: p.read_bytes() for p in demo_dir.iterdir()} == before
    from tests.conftest import _execute, _run

    _run(_execute(pg_dsn, f'DROP SCHEMA IF EXISTS "{pg_schema}_b" CASCADE'))


def _tampered(original: Any) -> Any:
    """A driver's import_rows that changes one fact's quote on the way."""
    def import_rows(self: Any, articles: Any, facts: Any, **rest: Any) -> None:
        (first, backlog), *others = facts
        changed = replace(first, fact=replace(first.fact, quote=first.fact.quote + " (altered)"))
        original(self, articles, [(changed, backlog), *others], **rest)
    return import_rows


def test_verification_catches_a_changed_row(demo_dir: Path, pg_dsn: str, pg_schema: str, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    from storage.postgres.store import PgStore
    from tests.conftest import _execute, _run

    monkeypatch.setenv("SITREP_DATABASE_URL", pg_dsn)
    tiny = config_file(tmp_path, "tiny", data_dir=demo_dir)
    with monkeypatch.context() as patch:
        patch.setattr(PgStore, "import_rows", _tampered(PgStore.import_rows))
        status, out, err = run(capsys, "--config", str(tiny), "migrate", "--to", "postgres", "--schema", pg_schema)
    assert status == 2
    assert re.search(r"(?m)^facts\s+(\d+)\s+\1\s+\w+\s+\w+\s+DIFFERS$", out), out
    assert re.search(r"(?m)^articles\s.*ok$", out)
    assert err.strip().splitlines()[-1].startswith("error: verification failed: facts differ(s)")

    with monkeypatch.context() as patch:
        patch.setattr(TinyStore, "import_rows", _tampered(TinyStore.import_rows))
        status, out, err = run(capsys, "--config", str(tiny), "migrate", "--to", "tinydb", str(tmp_path / "back"),
                               "--schema", pg_schema)
    assert status == 2 and "DIFFERS" in out and "verification failed: facts" in err

    # A row changed behind the store's back (one guild's digest watermark) is caught by the same checksums.
    source = TinyStore.open_sync(demo_dir, read_only=True)
    try:
        original = read_all(source)
    finally:
        source.close_sync()
    _run(_execute(pg_dsn, f"UPDATE \"{pg_schema}\".guilds SET doc = jsonb_set(doc, '{{digest_watermark}}', '10')"))
    copy = PgStore.open_sync(pg_dsn, schema=pg_schema, read_only=True)
    try:
        checks = {c.table: c for c in compare(original, read_all(copy))}
    finally:
        copy.close_sync()
    assert not checks["guilds"].ok and checks["guilds"].source == checks["guilds"].target == "1"
    assert all(c.ok for t, c in checks.items() if t not in ("guilds", "facts"))


# --- without PostgreSQL ------------------------------------------------------------------------------------


def test_tinydb_import_rows_keeps_everything(demo_dir: Path, tmp_path: Path) -> None:
    source = TinyStore.open_sync(demo_dir, read_only=True)
    target = TinyStore.open_sync(tmp_path / "copy")
    try:
        original = read_all(source)
        target.import_rows(original.articles, original.facts, sources=original.sources, topics=original.topics,
                           guilds=original.guilds, last_seq=original.last_seq)
        assert all(c.ok for c in compare(original, read_all(target)))  # in memory at once
        with pytest.raises(StoreError, match="not empty"):
            target.import_rows(original.articles, original.facts, last_seq=original.last_seq)
    finally:
        source.close_sync()
        target.close_sync()
    reopened = TinyStore.open_sync(tmp_path / "copy", read_only=True)
    try:
        assert all(c.ok for c in compare(original, read_all(reopened)))
        assert reopened.stats()["partitions"] >= 2  # the demo's articles span two weeks
    finally:
        reopened.close_sync()


def test_tinydb_import_refuses_a_fact_without_its_article(tmp_path: Path) -> None:
    from bot.model import ArticleRef

    store = TinyStore.open_sync(tmp_path / "d")
    fact = StoredFact(id="abcdefghij", seq=1, fact=Event(summary="x", quote="x"),
                      article=ArticleRef("https://x.org/a", "X", "A", None), topics=(), stored_at=datetime.now(UTC))
    try:
        with pytest.raises(StoreError, match=r"its article https://x\.org/a is not among the articles"):
            store.import_rows([], [(fact, False)], last_seq=1)
        assert store.stats()["facts"] == 0 and not (tmp_path / "d" / "manifest.json").exists()
    finally:
        store.close_sync()


def test_command_errors(demo_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("SITREP_DATABASE_URL", raising=False)
    tiny = config_file(tmp_path, "tiny", data_dir=demo_dir)
    cases = [
        (["--to", "tinydb"], "error: --to tinydb needs DIR, the data directory of the new TinyDB store"),
        (["--to", "postgres", str(tmp_path)], "error: --to postgres takes no DIR: the target is SITREP_DATABASE_URL"),
        (["--to", "tinydb", str(tmp_path / "x"), "--from-data-dir", str(demo_dir)],
         "error: --from-data-dir: only with --to postgres (--to tinydb reads SITREP_DATABASE_URL)"),
        (["--to", "postgres"], "error: SITREP_DATABASE_URL: is not set; set it to the database URL, e.g. "
                               "postgresql://sitrep@db:5432/sitrep"),
    ]
    for argv, message in cases:
        status, _, err = run(capsys, "--config", str(tiny), "migrate", *argv)
        assert (status, err.strip()) == (2, message)
    monkeypatch.setenv("SITREP_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    status, _, err = run(capsys, "--config", str(tiny), "migrate", "--to", "postgres",
                         "--from-data-dir", str(tmp_path / "empty"))
    assert (status, err.strip()) == (2, f"error: no TinyDB store in {tmp_path / 'empty'} (no manifest.json): "
                                        "nothing to migrate")


def test_a_running_writer_is_refused(demo_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SITREP_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")  # never reached
    tiny = config_file(tmp_path, "tiny", data_dir=demo_dir)
    writer = TinyStore.open_sync(demo_dir)  # as a running bot holds it
    try:
        status, _, err = run(capsys, "--config", str(tiny), "migrate", "--to", "postgres")
    finally:
        writer.close_sync()
    assert status == 2
    assert err.strip().startswith(f"error: the data directory {demo_dir} is in use by a Sitrep writer (pid ")


def test_the_cluster_config_is_config_toml_with_the_postgres_driver() -> None:
    """deploy/config.cluster.toml (what compose.yaml mounts) must not drift from config.toml: TOML has no include."""
    from bot.config import load_config

    base = load_config(ROOT / "config.toml")
    cluster = load_config(ROOT / "deploy" / "config.cluster.toml")
    assert (cluster.storage.driver, cluster.storage.schema) == ("postgres", "sitrep")
    assert replace(cluster, storage=replace(cluster.storage, driver="tinydb"), path=None,
                   data_dir=base.data_dir) == replace(base, path=None)
