"""Sitrep's store: the repository API over TinyDB files. The only package that imports tinydb.

Reads are synchronous and answered from in-memory indexes (no file I/O, safe on the event loop); writes
go through one async :meth:`Store.commit` per batch, done off the event loop, durable and atomic. See
``storage/DESIGN.md`` for why it is built this way.
"""

from storage.api import ArticleFacts, Batch, CommitResult, fact_id
from storage.store import Store

__all__ = ["ArticleFacts", "Batch", "CommitResult", "Store", "fact_id"]
