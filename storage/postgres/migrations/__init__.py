"""Numbered SQL migrations of the PostgreSQL schema (storage/postgres/store.py applies them in order)."""
