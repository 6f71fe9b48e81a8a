"""An event loop in a thread of its own: the PostgreSQL driver runs every asyncpg call there, so its reads
can be synchronous (briefing is) while asyncpg is asynchronous."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")


class Portal:
    """An event loop in a thread of its own, where every asyncpg call of one store runs."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="sitrep-postgres", daemon=True)
        self.thread.start()

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the portal and wait for its result (from any thread but the portal's own)."""
        if threading.current_thread() is self.thread:
            coro.close()
            raise RuntimeError("a synchronous store read was called on the store's own loop")
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await ``coro`` on the portal from another loop."""
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return await asyncio.wrap_future(future)

    def stop(self) -> None:
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        if not self.thread.is_alive():
            self.loop.close()
