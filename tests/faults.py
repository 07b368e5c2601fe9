"""Real faults for the reliability tests: a small full disk (tmpfs) and a read-only catalog file.

As root (CI containers, this machine) the disk is a real 20 MiB tmpfs and the catalog is made read-only
with a read-only bind mount (root ignores file modes); otherwise the file mode is used and the tmpfs
tests skip with the reason.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def _run(*args: str) -> bool:
    return subprocess.run(args, check=False, capture_output=True).returncode == 0


@contextmanager
def small_disk(folder: Path, size_mb: int = 20) -> Iterator[Path]:
    """Mount a ``size_mb`` MiB tmpfs on ``folder`` (root only; skips otherwise) and unmount it after."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or not _run("mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(folder)):
        pytest.skip("a real small disk needs root to mount a tmpfs")
    try:
        yield folder
    finally:
        _run("umount", "-l", str(folder))


def fill_disk(folder: Path) -> Path:
    """Write zeros into ``folder/filler.bin`` until the disk is full; returns the filler (delete it to free)."""
    filler = folder / "filler.bin"
    with filler.open("wb") as handle:
        try:
            while True:
                handle.write(b"\0" * (256 * 1024))
                handle.flush()
        except OSError:
            pass
    return filler


@contextmanager
def read_only(path: Path) -> Iterator[Path]:
    """Make the file ``path`` read-only for this process, for real, while the block runs."""
    if os.geteuid() == 0:
        if not (_run("mount", "--bind", str(path), str(path))
                and _run("mount", "-o", "remount,bind,ro", str(path))):
            _run("umount", str(path))
            pytest.skip("could not bind-mount the catalog read-only")
        try:
            yield path
        finally:
            _run("umount", "-l", str(path))  # lazy: open connections keep the read-only view
    else:
        mode = path.stat().st_mode
        path.chmod(0o444)
        try:
            yield path
        finally:
            path.chmod(mode)
