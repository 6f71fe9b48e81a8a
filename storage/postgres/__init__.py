"""The PostgreSQL driver of the repository API, for several processes (see storage/DESIGN.md, "The PostgreSQL
driver").

- ``store.py``: the store's face, :class:`PgStore`: open (and migrations), the commit, the reads.
- ``_write.py``: what a commit writes, inside its transaction. ``_rows.py``: rows and WHERE clauses.
- ``_portal.py``: the event loop thread that runs asyncpg for the synchronous reads.
- ``migrations/``: the schema, numbered SQL files applied in order.
"""

from storage.postgres.store import PgStore

__all__ = ["PgStore"]
