"""Start-up checks of the data folder: is it writable, is the catalog writable (the SQLite file) or
reachable (a database server, ``NOVAI_DATABASE_URL``), is there free space.

``launch.py`` prints each problem as a warning before serving, so a read-only catalog or a full disk is
said once, clearly, instead of every later write failing. Nothing here raises.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from pathlib import Path

from media.settings import get_settings


def _folder_problem(folder: Path) -> str | None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(prefix=".write-check-", dir=folder):
            pass
    except OSError as exc:
        return (f"the data folder {folder} is not writable ({exc.strerror or exc}): uploads, renders and "
                "job results cannot be saved; give the studio's user write access or set NOVAI_DATA_DIR")
    return None


def _catalog_problem(path: Path) -> str | None:
    if not path.exists():
        return None  # made on first use
    try:
        conn = sqlite3.connect(str(path), timeout=5)
    except sqlite3.Error as exc:
        return f"the catalog {path} cannot be opened ({exc}); check the file and its folder"
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("DELETE FROM jobs WHERE 0")  # a write that changes nothing, rolled back
    except sqlite3.OperationalError as exc:
        text = str(exc)
        if "locked" in text or "no such table" in text:
            return None  # busy with another process, or a new catalog: writable
        return (f"the catalog {path} is not writable ({text}): every change (uploads, jobs, settings) "
                "will fail until it is; make the file and its folder writable by the studio's user")
    finally:
        conn.rollback()
        conn.close()
    return None


def _server_catalog_problem(url: str) -> str | None:
    """A catalog on a database server (``NOVAI_DATABASE_URL``): can it be reached and migrated?"""
    from sqlalchemy.engine import make_url

    from media.db import get_engine

    try:
        get_engine()
    except Exception as exc:  # noqa: BLE001 - said as a warning; each later write says why it failed
        where = make_url(url).render_as_string(hide_password=True)
        return (f"the catalog database {where} cannot be used ({type(exc).__name__}: "
                f"{str(exc).strip().splitlines()[0] if str(exc).strip() else exc!r}); check NOVAI_DATABASE_URL, "
                "that the server is running and that its user may create tables")
    return None


def _space_problem(folder: Path) -> str | None:
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return None
    minimum = get_settings().min_free_disk_mb * 1024 * 1024
    if free < minimum:
        return (f"only {free / 2**20:.0f} MiB free on the disk of the data folder {folder} (less than "
                f"NOVAI_MIN_FREE_DISK_MB={get_settings().min_free_disk_mb}): renders and uploads may fail "
                "with 'disk full'; free some space")
    return None


def data_folder_problems() -> list[str]:
    """Warnings about the data folder (not writable), the catalog (read-only, unopenable) and free disk
    space (under ``NOVAI_MIN_FREE_DISK_MB``); empty when all is well. Paths are shown: this is for the
    console of the person running the studio."""
    settings = get_settings()
    catalog = (_server_catalog_problem(settings.database_url) if settings.database_url
               else _catalog_problem(settings.catalog_path))
    checks = (_folder_problem(settings.data_dir), _folder_problem(settings.media_dir), catalog,
              _space_problem(settings.data_dir))
    problems: list[str] = []
    for problem in checks:
        if problem and problem not in problems:
            problems.append(problem)
    return problems
