"""Alembic migrations of the Newsdesk schema (SQLite and PostgreSQL)."""
