"""Fixtures: the short generated clips of tests/clips.py."""

from tests.clips import faceless_clip, swap_clip  # noqa: F401
