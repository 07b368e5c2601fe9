"""Fixtures of the job tests: the short generated clips of tests/clips.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.clips import make_faceless_clip, make_talking_clip


@pytest.fixture(scope="session")
def swap_clip(samples, tmp_path_factory) -> Path:
    """See :func:`tests.clips.make_talking_clip`."""
    return make_talking_clip(samples, tmp_path_factory.mktemp("clips"))


@pytest.fixture(scope="session")
def faceless_clip(tmp_path_factory) -> Path:
    """See :func:`tests.clips.make_faceless_clip`."""
    return make_faceless_clip(tmp_path_factory.mktemp("clips"))
