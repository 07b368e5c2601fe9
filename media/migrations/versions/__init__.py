"""Catalog revisions, oldest first (``0001_baseline`` = the schema of the catalogs made before Alembic)."""
