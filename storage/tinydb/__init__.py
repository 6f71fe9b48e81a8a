"""The TinyDB driver of the repository API: the embedded default (see storage/DESIGN.md).

- ``store.py``: the store's face, :class:`TinyStore`: open and close, the commit, the reads.
- ``_plan.py``: a commit's plan: what a batch changes, its new files, and applying it to memory in one step.
- ``_partitions.py``: the partitions in memory (the loaded window, the cache of old ones, every summary),
  reading a partition that is not loaded, and what the summaries tell before anything is read.
- ``_disk.py``, ``_files.py``, ``_layout.py``: the manifest and the generations on disk, one file's bytes,
  the names and the shape of a partition file.
- ``_summary.py``, ``_index.py``: a partition's summary (kept for every partition) and indexes (loaded ones).
- ``_lock.py``: the writer lock. ``_migrate.py``: the version-0 layout. ``_import.py``: the bulk import.
"""

from storage.tinydb._lock import no_writer
from storage.tinydb.store import TinyStore

__all__ = ["TinyStore", "no_writer"]
