"""The PostgreSQL driver of the repository API (see storage/DESIGN.md)."""
