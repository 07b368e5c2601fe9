"""Hooks: the short texts overlaid on variants, with categories and bulk add."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

from sqlmodel import col, select

from media.db import session_scope
from media.errors import StudioError
from media.models import Hook, utcnow

MAX_HOOK_CHARS = 500  # longer texts cannot fit the safe zone legibly


class HookError(StudioError, ValueError):
    """Bad hook text, category, file or id."""


def parse_hook_lines(text: str) -> list[str]:
    """One hook per non-empty line (surrounding whitespace stripped, a BOM dropped)."""
    return [line.strip() for line in text.lstrip("\ufeff").splitlines() if line.strip()]


def parse_hook_file(path: str | Path) -> list[tuple[str, str]]:
    """(text, category) pairs from a ``.txt`` (one hook per line) or ``.csv`` file.

    A CSV takes its first column as the text and an optional second column as the category; a header
    row whose first cell is ``text`` or ``hook`` is skipped. Raises :class:`HookError` for other
    types or undecodable files.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".txt", ".csv"):
        raise HookError(f"hooks file must be .txt or .csv: {path.name}")
    try:
        raw = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise HookError(f"hooks file is not UTF-8 text: {path.name}") from exc
    if "\x00" in raw:
        raise HookError(f"hooks file is not text: {path.name}")
    if suffix == ".txt":
        return [(line, "") for line in parse_hook_lines(raw)]
    pairs: list[tuple[str, str]] = []
    for index, row in enumerate(csv.reader(io.StringIO(raw))):
        if not row or not row[0].strip():
            continue
        if index == 0 and row[0].strip().lower() in ("text", "hook"):
            continue
        pairs.append((row[0].strip(), row[1].strip() if len(row) > 1 else ""))
    return pairs


def add_hooks(text: str, category: str = "") -> list[Hook]:
    """Add one hook per non-empty line of ``text`` in ``category``; returns the new rows."""
    return add_hook_pairs([(line, category) for line in parse_hook_lines(text)])


def add_hook_pairs(pairs: list[tuple[str, str]]) -> list[Hook]:
    """Add (text, category) hooks; raises :class:`HookError` (nothing stored) if any text is too long."""
    for text, _ in pairs:
        if len(text) > MAX_HOOK_CHARS:
            raise HookError(f"hook longer than {MAX_HOOK_CHARS} characters: {text[:40]}…")
    base = utcnow()  # distinct, increasing times keep the order the hooks were given in
    kept = [(text.strip(), category.strip()) for text, category in pairs if text.strip()]
    rows = [Hook(text=text, category=category, created_at=base + timedelta(microseconds=i))
            for i, (text, category) in enumerate(kept)]
    with session_scope() as session:
        session.add_all(rows)
    return rows


def list_hooks(category: str | None = None) -> list[Hook]:
    """Hooks oldest first (the order they were added), optionally of one category."""
    with session_scope() as session:
        query = select(Hook).order_by(col(Hook.created_at), col(Hook.id))
        if category:
            query = query.where(Hook.category == category)
        return list(session.exec(query))


def list_categories() -> list[str]:
    """Distinct non-empty categories, sorted."""
    with session_scope() as session:
        return sorted({c for c in session.exec(select(Hook.category).distinct()) if c})


def update_hook(hook_id: str, text: str | None = None, category: str | None = None) -> Hook:
    """Edit a hook's text and/or category."""
    with session_scope() as session:
        hook = session.get(Hook, hook_id)
        if hook is None:
            raise HookError(f"no hook with id {hook_id}")
        if text is not None:
            if not text.strip():
                raise HookError("hook text is empty")
            hook.text = text.strip()
        if category is not None:
            hook.category = category.strip()
        session.add(hook)
        return hook


def delete_hooks(hook_ids: list[str]) -> int:
    """Delete hooks by id; returns how many were deleted. Refused while an active job uses one."""
    from media.library import LibraryError, active_jobs_using

    for hook_id in hook_ids:
        if active_jobs_using(hook_id):
            raise LibraryError("cannot delete: a running job uses this hook; cancel it or wait")
    with session_scope() as session:
        rows = list(session.exec(select(Hook).where(col(Hook.id).in_(hook_ids))))
        for row in rows:
            session.delete(row)
        return len(rows)
