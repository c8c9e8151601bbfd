"""The platform store: departments, applications, operators, purposes, catalog and grants.

SQLite by default, PostgreSQL by URL, through the same SQLAlchemy Core code; its schema is
managed by Alembic (`store/migrations`).
"""
