"""Alembic migration trees: `api` for the API database, `cell` for each cell database."""
