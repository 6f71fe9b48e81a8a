"""`python -m bot migrate --to postgres` and `python -m bot migrate --to tinydb DIR`: copy the whole store to
the other driver, then check the copy.

- ``--to postgres`` copies the TinyDB store of the configured data directory (``--from-data-dir`` or
  ``--data-dir`` to name another) into PostgreSQL at ``SITREP_DATABASE_URL``, schema ``[storage] schema``
  (``--schema`` to name another).
- ``--to tinydb DIR`` copies the PostgreSQL store at ``SITREP_DATABASE_URL`` (schema as above) into a new
  TinyDB store in ``DIR``.

The source is opened read-only; a TinyDB source's writer lock is held shared while it is read, so a running
bot or poller is refused (stop it first) and none can start mid-copy. A target that holds anything is
refused, untouched. Facts keep their ids, seqs, stored_at times and backlog flags, guild settings keep their
digest and alert watermarks and slots, and the target's last seq is the source's: nothing is announced or
posted again. Afterwards the target is re-opened read-only and compared with what was read, table by table
(count and sha256 of the canonical records); any difference is an error (exit status 2).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import Config, database_url
from bot.errors import BadOption, ConfigError, StoreError

if TYPE_CHECKING:
    from storage.copy import Snapshot


def run_migrate(args: argparse.Namespace, config: Config) -> int:
    if args.to == "postgres":
        if args.target_dir is not None:
            raise BadOption("--to postgres takes no DIR: the target is SITREP_DATABASE_URL")
        migrate_to_postgres(args.from_data_dir or config.data_dir, _dsn(), args.schema or config.storage.schema,
                            hot_weeks=config.storage.hot_weeks)
    else:
        if args.target_dir is None:
            raise BadOption("--to tinydb needs DIR, the data directory of the new TinyDB store")
        if args.from_data_dir is not None:
            raise BadOption("--from-data-dir: only with --to postgres (--to tinydb reads SITREP_DATABASE_URL)")
        migrate_to_tinydb(_dsn(), args.schema or config.storage.schema, args.target_dir,
                          hot_weeks=config.storage.hot_weeks)
    return 0


def _dsn() -> str:
    dsn = database_url()
    if dsn is None:
        raise ConfigError("SITREP_DATABASE_URL", "is not set; set it to the database URL, e.g. "
                                                 "postgresql://sitrep@db:5432/sitrep")
    return dsn


def migrate_to_postgres(source_dir: Path, dsn: str, schema: str, *, hot_weeks: int = 8,
                        say: Callable[[str], None] = print) -> None:
    from storage import PgStore, TinyStore
    from storage.copy import describe_held, held, import_snapshot, no_writer, read_all

    if not TinyStore.exists(source_dir):
        raise StoreError(f"no TinyDB store in {source_dir} (no {TinyStore.MANIFEST}): nothing to migrate")
    with no_writer(source_dir):
        source = TinyStore.open_sync(source_dir, read_only=True, hot_weeks=hot_weeks)
        try:
            target = PgStore.open_sync(dsn, schema=schema, hot_weeks=hot_weeks)
            where = f"PostgreSQL at {target.where}, schema {schema}"
            try:
                there = held(target)
                if there:
                    raise StoreError(f"the target ({where}) is not empty ({describe_held(there)}); nothing was "
                                     "copied. Migrate into an empty schema (--schema NAME) or database")
                say(f"Copying the TinyDB store in {source_dir} to {where}")
                snapshot = read_all(source)
                say(_summary_line(snapshot))
                import_snapshot(target, snapshot)
            finally:
                target.close_sync()
        finally:
            source.close_sync()
    copy = PgStore.open_sync(dsn, schema=schema, read_only=True, hot_weeks=hot_weeks)
    try:
        copied = read_all(copy)
    finally:
        copy.close_sync()
    _verify(snapshot, copied, say)
    say('Verified. To use it, set [storage] driver = "postgres" in config.toml'
        + (f' (and schema = "{schema}")' if schema != "sitrep" else "") + " and export SITREP_DATABASE_URL.")


def migrate_to_tinydb(dsn: str, schema: str, target_dir: Path, *, hot_weeks: int = 8,
                      say: Callable[[str], None] = print) -> None:
    from storage import PgStore, TinyStore
    from storage.copy import describe_held, held, import_snapshot, read_all

    if target_dir.exists() and not target_dir.is_dir():
        raise StoreError(f"{target_dir} is not a directory")
    if TinyStore.exists(target_dir):
        existing = TinyStore.open_sync(target_dir, read_only=True, hot_weeks=hot_weeks)  # look without writing
        try:
            there = held(existing)
        finally:
            existing.close_sync()
        if there:
            raise StoreError(f"the target (the TinyDB store in {target_dir}) is not empty ({describe_held(there)}); "
                             "nothing was copied. Name a new directory")
    source = PgStore.open_sync(dsn, schema=schema, read_only=True, hot_weeks=hot_weeks)
    try:
        say(f"Copying PostgreSQL at {source.where}, schema {schema}, to a TinyDB store in {target_dir}")
        before = (source.stats(), source.last_seq)
        snapshot = read_all(source)
        if (source.stats(), source.last_seq) != before:
            raise StoreError("the PostgreSQL store changed while it was read: stop every bot and poller using "
                             "it, then migrate again (nothing was copied)")
    finally:
        source.close_sync()
    say(_summary_line(snapshot))
    target = TinyStore.open_sync(target_dir, hot_weeks=hot_weeks)
    try:
        import_snapshot(target, snapshot)
    finally:
        target.close_sync()
    copy = TinyStore.open_sync(target_dir, read_only=True, hot_weeks=hot_weeks)
    try:
        copied = read_all(copy)
    finally:
        copy.close_sync()
    _verify(snapshot, copied, say)
    say(f'Verified. To use it, set [storage] driver = "tinydb" and [bot] data_dir = "{target_dir}" in config.toml '
        f"(or pass --data-dir {target_dir}).")


def _summary_line(snapshot: Snapshot) -> str:
    from storage.copy import TABLES

    counts = ", ".join(f"{snapshot.count(t)} {t}" for t in TABLES)
    return f"Read {counts}; last seq {snapshot.last_seq}"


def _verify(source: Snapshot, target: Snapshot, say: Callable[[str], None]) -> None:
    from storage.copy import compare, render

    checks = compare(source, target)
    say(render(checks))
    differ = [c.table for c in checks if not c.ok]
    if differ:
        raise StoreError(f"verification failed: {', '.join(differ)} differ(s) between the source and the copy; "
                         "the copy is kept for inspection and must not be used")
