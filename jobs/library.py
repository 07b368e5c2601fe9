"""Library actions that also start background work (a new video gets its canonical copy queued)."""

from __future__ import annotations

import logging
from pathlib import Path

from jobs.variants import request_normalize
from media.library import import_file

log = logging.getLogger(__name__)


def import_uploads(files: list[tuple[Path, str]], kind: str, collection: str = "",
                   prepare: bool = True) -> list[dict]:
    """Import uploaded ``(path, original name)`` pairs as library items of ``kind``.

    Returns one dict per file: ``{name, id, error}`` (``id`` when stored, ``error`` when refused).
    With ``prepare``, each stored video gets its canonical 9:16 copy (default fit) queued, so its first
    batch starts rendering at once.
    """
    outcomes = []
    for path, name in files:
        outcome = import_file(path, kind, collection, name=name)
        if outcome.id and kind == "video" and prepare:
            try:
                request_normalize(outcome.id)
            except Exception as exc:  # noqa: BLE001 - the import stands even if the queue is unavailable
                log.warning("could not queue normalisation of %s: %s", outcome.id, exc)
        outcomes.append(outcome.to_dict())
    return outcomes
