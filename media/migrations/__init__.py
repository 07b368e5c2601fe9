"""Alembic migrations of the catalog (``env.py``, ``versions/``); run by :mod:`media.migrate`."""
