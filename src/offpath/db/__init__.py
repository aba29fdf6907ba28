"""State: the API database and the cell databases (SQLAlchemy 2, Alembic)."""
