"""Fixtures every test package shares: the storage drivers.

Tests that take ``store_spec`` (or ``driver``) run once per driver: TinyDB files in the test's tmp_path, and
PostgreSQL in a schema of the test's own (created on first open, dropped after the test), so tests never see
each other's data. The PostgreSQL runs need ``SITREP_TEST_DATABASE_URL`` (``.ci/run`` sets it): without it
they are skipped, with one line in the summary saying how to enable them; with it, a server that cannot be
reached fails them loudly. The second driver is never skipped silently.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from storage.api import Store

DRIVERS = ["tinydb", "postgres"]
PG_ENV = "SITREP_TEST_DATABASE_URL"
_LEFT_OUT = pytest.StashKey[int]()
PG_SKIP = (f"PostgreSQL driver not tested: set {PG_ENV}=postgresql://postgres@127.0.0.1:5432/test "
           "(as .ci/run does) to run these tests against a real server")


def pytest_report_header(config: pytest.Config) -> str:
    dsn = os.environ.get(PG_ENV)
    return f"storage drivers: tinydb, postgres ({PG_ENV} set)" if dsn else f"storage drivers: tinydb only ({PG_SKIP})"


def _needs_postgres(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    return (callspec is not None and callspec.params.get("driver") == "postgres") or "pg_dsn" in getattr(
        item, "fixturenames", ())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without a PostgreSQL to test against, its tests are deselected and counted in one summary line."""
    if os.environ.get(PG_ENV):
        return
    left_out = [item for item in items if _needs_postgres(item)]
    if left_out:
        items[:] = [item for item in items if not _needs_postgres(item)]
        config.hook.pytest_deselected(items=left_out)
        config.stash[_LEFT_OUT] = len(left_out)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    left_out = config.stash.get(_LEFT_OUT, 0)
    if left_out:
        terminalreporter.write_line(f"{left_out} tests not run. {PG_SKIP}", yellow=True)


async def until(condition: Callable[[], bool], timeout: float = 10, every: float = 0.01) -> None:
    """Until ``condition()`` holds, looked at every ``every`` seconds; fails after ``timeout`` seconds. For what
    another process or a background task makes true, with no event to wait on."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout}s"
        await asyncio.sleep(every)


def _run(coro: Any) -> Any:
    """Run ``coro`` to the end in a thread of its own: fixtures may be set up while a test's loop runs."""
    result: list[Any] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            result.append(asyncio.run(coro))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return result[0]


async def _execute(dsn: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pg_dsn() -> str:
    dsn = os.environ.get(PG_ENV)
    if not dsn:
        pytest.skip(PG_SKIP)
    try:
        _run(_execute(dsn, "SELECT 1"))
    except Exception as exc:
        pytest.fail(f"{PG_ENV} is set but PostgreSQL cannot be reached: {type(exc).__name__}: {exc}",
                    pytrace=False)
    return dsn


@pytest.fixture
def pg_schema(pg_dsn: str) -> Iterator[str]:
    """A schema name of this test's own; the schema is dropped after the test."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    yield name
    _run(_execute(pg_dsn, f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))


@pytest.fixture(params=DRIVERS)
def driver(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@dataclass
class StoreSpec:
    """Where a test's store lives, for its driver: ``open``/``open_sync`` open (or reopen) that one store."""

    driver: str
    data_dir: Path
    dsn: str | None = None
    schema: str | None = None
    opened: list[Store] = field(default_factory=list)

    async def open(self, **options: Any) -> Store:
        if self.driver == "postgres":
            from storage.postgres.store import PgStore

            store: Store = await PgStore.open(self.dsn or "", schema=self.schema or "", **options)
        else:
            from storage import TinyStore

            store = await TinyStore.open(self.data_dir, **options)
        self.opened.append(store)
        return store

    def open_sync(self, **options: Any) -> Store:
        if self.driver == "postgres":
            from storage.postgres.store import PgStore

            store: Store = PgStore.open_sync(self.dsn or "", schema=self.schema or "", **options)
        else:
            from storage import TinyStore

            store = TinyStore.open_sync(self.data_dir, **options)
        self.opened.append(store)
        return store

    def close_all(self) -> None:
        for store in self.opened:
            store.close_sync()


@pytest.fixture
def store_spec(driver: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[StoreSpec]:
    if driver == "postgres":
        spec = StoreSpec(driver, tmp_path / "data", request.getfixturevalue("pg_dsn"),
                         request.getfixturevalue("pg_schema"))
    else:
        spec = StoreSpec(driver, tmp_path / "data")
    yield spec
    spec.close_all()
