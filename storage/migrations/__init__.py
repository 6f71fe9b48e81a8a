"""Numbered SQL migrations of the PostgreSQL schema (storage/postgres.py applies them in order)."""
