"""A leader lease on PostgreSQL: of all the processes running Sitrep on one database, one at a time leads.

The leader is the process holding a session-level ``pg_try_advisory_lock(key)`` on its own dedicated
connection, ``key`` a stable 64-bit hash of the lease's name. The lock lives as long as that connection: if the
process dies, or its connection does, the server frees it (TCP keepalives of 5 s idle, 2 s interval and 3
probes let the server notice a dead peer in about 11 s rather than hours; ``tcp_user_timeout`` does the same
when the server was sending as the network went), and a follower, trying every ``retry_s``, takes over. The
leader checks its connection every ``retry_s`` with ``SELECT 1``; when that fails (or takes over ``timeout_s``)
it stops leading at once (``on_deposed``) and goes back to trying.

A leader's host can also stop answering in a way TCP does not report: a middlebox or proxy that keeps the
connection open, a peer whose kernel answers keepalives while the process is cut off. Then the server keeps
the lock. So a follower that finds the lock held also looks at the holder's connection: a leader runs its
check every ``retry_s``, so a holder that has run no statement for ``stale_s`` (20 s: four missed checks)
has stopped checking; its own check has deposed it long before (after ``timeout_s``), and the follower
terminates its backend, which frees the lock, and takes it in the same attempt. A takeover after a lost
network therefore takes at most ``stale_s + retry_s`` (25 s with the defaults), or the keepalives' 11 s.

A leader can be deposed without knowing it yet: between the server freeing its lock and its next check (at
most ``retry_s`` plus ``timeout_s``), two processes may both think they lead. Each election therefore also
increments a fencing ``epoch`` (table ``leader_epoch``, in the same statement that takes the lock): whatever
the leader writes can carry its epoch, and a store can refuse a write from an older one.

This module is independent of the store; it needs only a DSN.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

log = logging.getLogger(__name__)

Callback = Callable[[], Awaitable[None]]

# Free a dead peer's lock quickly: first probe after 5 s of silence, then every 2 s, dead after 3 misses.
KEEPALIVES = {"tcp_keepalives_idle": "5", "tcp_keepalives_interval": "2", "tcp_keepalives_count": "3",
              "tcp_user_timeout": "11000"}  # ms: the same bound when data the server sent is never acknowledged

CREATE_TABLE = "CREATE TABLE IF NOT EXISTS leader_epoch (name text PRIMARY KEY, epoch bigint NOT NULL)"
# One statement: the lock, and only if it was granted, the epoch's increment (1 for a new name).
ELECT = """
WITH granted AS (SELECT pg_try_advisory_lock($1) AS ok)
INSERT INTO leader_epoch AS e (name, epoch) SELECT $2, 1 FROM granted WHERE ok
ON CONFLICT (name) DO UPDATE SET epoch = e.epoch + 1
RETURNING epoch
"""


# The holder of the lease's lock, if its connection has run no statement for $3 seconds: terminated, which
# frees the lock; waiting up to $4 ms for it to exit (PostgreSQL 14+). (A bigint advisory key is classid:objid in
# pg_locks, each an unsigned 32-bit half.)
DEPOSE_STALE = """
SELECT a.pid, pg_terminate_backend(a.pid, $4::bigint) AS gone FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND l.classid::bigint = $1 AND l.objid::bigint = $2
  AND a.pid <> pg_backend_pid() AND a.state = 'idle' AND a.state_change < now() - make_interval(secs => $3)
"""


def lease_key(name: str) -> int:
    """The advisory lock key of a lease name: the first 8 bytes of its SHA-256, as PostgreSQL's signed bigint.
    The same in every process and every Python (``hash()`` is salted per process)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


async def _nothing() -> None:
    return None


class Lease:
    """``await start()`` makes a first attempt (so ``is_leader`` is known when it returns) and keeps trying in
    the background; ``await stop()`` stops leading (``on_deposed`` first, then the lock is released) and closes
    the connection. ``on_elected`` and ``on_deposed`` are awaited on each change; if ``on_elected`` fails, the
    lease resigns and tries again later. Connection errors never escape: they are logged and retried."""

    def __init__(self, dsn: str, name: str, *, retry_s: float = 5.0, timeout_s: float = 5.0, stale_s: float = 20.0,
                 on_elected: Callback | None = None, on_deposed: Callback | None = None,
                 schema: str | None = None) -> None:
        self.dsn = dsn
        self.schema = schema  # where leader_epoch lives: the store's schema (the server's default if None)
        self.name = name
        self.key = lease_key(name)
        self.retry_s = retry_s
        self.timeout_s = timeout_s
        self.stale_s = stale_s  # a holder silent this long has stopped checking: see the module's note
        self.on_elected: Callback = on_elected or _nothing
        self.on_deposed: Callback = on_deposed or _nothing
        self.is_leader = False
        self.epoch: int | None = None  # the epoch of this process's latest election
        self._conn: Any = None  # asyncpg.Connection, only while connected
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()  # one state change at a time: the loop's step or stop()
        self._failing = False  # log a run of connection failures once, not every retry
        self._stale_failing = False  # the same for the look at a holder

    def fence(self) -> tuple[str, int] | None:
        """What a leader-only write carries (``storage.api.Batch.fence``): this lease's name and the epoch of
        its latest election. A store refuses it once another process has been elected since."""
        return None if self.epoch is None else (self.name, self.epoch)

    @property
    def backend_pid(self) -> int | None:
        """The server process of this lease's connection (None when not connected)."""
        return None if self._conn is None else int(self._conn.get_server_pid())

    async def start(self) -> None:
        if self._task is not None:
            return
        async with self._lock:
            await self._step()
        self._task = asyncio.create_task(self._run(), name=f"lease:{self.name}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        async with self._lock:
            if self.is_leader:
                await self._depose("stopped")
                if self._conn is not None:  # released now, not when the server gets round to the closed socket
                    with contextlib.suppress(Exception):
                        await self._conn.execute("SELECT pg_advisory_unlock($1)", self.key, timeout=self.timeout_s)
            await self._disconnect()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.retry_s)
            async with self._lock:
                await self._step()

    async def _step(self) -> None:
        if self.is_leader:
            await self._check()
        else:
            await self._try_elect()

    async def _try_elect(self) -> None:
        try:
            if self._conn is None:
                self._conn = await self._connect()
            epoch = await self._conn.fetchval(ELECT, self.key, self.name, timeout=self.timeout_s)
        except Exception as exc:  # any failure: this connection is done with (it may even hold the lock)
            self._log_failure("cannot try for the leader lease", exc)
            self._drop()
            return
        self._failing = False
        if epoch is None:  # another process leads, or did until it went silent
            if not await self._depose_stale_holder():
                return
            try:
                epoch = await self._conn.fetchval(ELECT, self.key, self.name, timeout=self.timeout_s)
            except Exception as exc:
                self._log_failure("cannot try for the leader lease", exc)
                self._drop()
                return
            if epoch is None:
                return
        self.is_leader, self.epoch = True, int(epoch)
        log.info("leader lease %r taken: this process leads (epoch %d)", self.name, self.epoch)
        try:
            await self.on_elected()
        except Exception:
            log.exception("leader lease %r: starting to lead failed; resigning", self.name)
            await self._depose("on_elected failed")
            self._drop()

    async def _depose_stale_holder(self) -> bool:
        """Terminate the lock's holder if it has gone silent (see the module's note); whether it is gone."""
        key = self.key & 0xFFFFFFFFFFFFFFFF
        try:
            row = await self._conn.fetchrow(DEPOSE_STALE, key >> 32, key & 0xFFFFFFFF, self.stale_s,
                                            int(self.timeout_s * 1000 / 2), timeout=self.timeout_s)
        except Exception as exc:  # e.g. no right to terminate another role's backend: keepalives still work
            if not self._stale_failing:
                log.warning("leader lease %r: cannot look at its holder: %s: %s", self.name, type(exc).__name__, exc)
            self._stale_failing = True
            return False
        self._stale_failing = False
        if row is None:
            return False
        log.warning("leader lease %r: its holder (server process %s) has run nothing for over %gs; terminated it",
                    self.name, row["pid"], self.stale_s)
        return bool(row["gone"])

    async def _check(self) -> None:
        try:
            await self._conn.fetchval("SELECT 1", timeout=self.timeout_s)
        except Exception as exc:
            log.warning("leader lease %r lost: its connection failed (%s); no longer leading", self.name,
                        type(exc).__name__)
            self._drop()  # the server frees the lock with the connection, if it has not already
            await self._depose("connection lost")

    async def _depose(self, why: str) -> None:
        """Stop leading: ``on_deposed`` runs while the lock may still be held, so jobs stop before another
        process can start them."""
        self.is_leader = False
        log.info("leader lease %r: no longer leading (%s)", self.name, why)
        try:
            await self.on_deposed()
        except Exception:
            log.exception("leader lease %r: on_deposed failed", self.name)

    async def _connect(self) -> Any:
        conn = await asyncpg.connect(self.dsn, timeout=self.timeout_s,
                                     server_settings={**KEEPALIVES, "application_name": "sitrep-leader",
                                                      **({"search_path": self.schema} if self.schema else {})})
        try:
            await conn.execute(CREATE_TABLE, timeout=self.timeout_s)
        except (asyncpg.UniqueViolationError, asyncpg.DuplicateTableError):
            pass  # another process created it at the same moment
        except BaseException:
            conn.terminate()
            raise
        return conn

    async def _disconnect(self) -> None:
        """Close gracefully (releasing the lock at once); a connection that does not answer is cut."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            await conn.close(timeout=self.timeout_s)
        except Exception:
            conn.terminate()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.terminate()

    def _log_failure(self, what: str, exc: BaseException) -> None:
        if not self._failing:
            log.warning("%s %r: %s: %s (retrying every %gs)", what, self.name, type(exc).__name__, exc, self.retry_s)
        self._failing = True
