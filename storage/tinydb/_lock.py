"""One writer per data directory: an exclusive ``flock`` on ``writer.lock`` in the directory.

The kernel releases an flock when the file descriptor is closed, which includes the holder dying (even by
SIGKILL): a stale lock cannot outlive its process, so there is nothing to clean up by hand. The file holds
the holder's pid, only to name it in the refusal; it is never removed (removing a lock file races with
the next process opening it).

Within one process the lock is shared: a second writable ``Store`` on the same directory (tests, scripts)
reuses it, and it is released when the last one is closed.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from bot.errors import StoreError

LOCK_FILE = "writer.lock"

_held: dict[Path, tuple[int, int]] = {}  # resolved directory → (fd, number of stores holding it)
_guard = threading.Lock()


def acquire(directory: Path) -> Path:
    """Take (or share, within this process) the writer lock of ``directory``; return the key to release
    it with. Raises StoreError naming the holder's pid if another process holds it."""
    key = directory.resolve()
    with _guard:
        if key in _held:
            fd, count = _held[key]
            _held[key] = (fd, count + 1)
            return key
        path = key / LOCK_FILE
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise StoreError(f"cannot create the lock file {path}: {exc.strerror or exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = _read_pid(fd)
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise StoreError(f"cannot lock {path}: {exc.strerror or exc}") from exc
            who = f"pid {holder}" if holder else "another process"
            raise StoreError(f"the data directory {directory} is in use by another Sitrep writer ({who}); "
                             f"stop it first, or use `ask`, which only reads") from None
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        _held[key] = (fd, 1)
        return key


def release(key: Path) -> None:
    with _guard:
        if key not in _held:
            return
        fd, count = _held[key]
        if count > 1:
            _held[key] = (fd, count - 1)
            return
        del _held[key]
        os.close(fd)  # closing the descriptor releases the flock


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


@contextlib.contextmanager
def no_writer(data_dir: Path) -> Iterator[None]:
    """Hold the data directory's writer lock *shared* while the store is read (writing nothing): if a bot or
    poller is writing it, the copy is refused; and none can start writing until the copy is done, so what is
    copied is one consistent state."""
    path = data_dir / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:  # never opened for writing
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            holder = _read_pid(fd)
            who = f" (pid {holder})" if holder else ""
            raise StoreError(f"the data directory {data_dir} is in use by a Sitrep writer{who}; stop it first: "
                             "a store being written cannot be copied consistently") from None
        yield
    finally:
        os.close(fd)
