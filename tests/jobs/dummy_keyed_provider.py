"""A dummy lip-sync provider of its own key account (``dummycloud``) for the registry test: one module that
declares its account, key variables, key setting, connection check and price table."""

from __future__ import annotations

from jobs.provider_check import ConnectionResult
from jobs.providers import Price, Provider
from media.keys import mask_key
from media.settings import get_settings


def check_dummy() -> ConnectionResult:
    """The account's connection check: says whether the key in force reached it (masked)."""
    key = get_settings().fal_key
    return ConnectionResult("dummycloud", bool(key), f"dummycloud saw key {mask_key(key) or 'none'}", 0.0)


PROVIDER = Provider(
    id="dummy_sync", label="Dummy lip sync", tool="lipsync", endpoint="dummy-org/dummy-sync",
    account="dummycloud", account_label="Dummy Cloud", check="tests.jobs.dummy_keyed_provider:check_dummy",
    price=Price(cents_per_unit=2.0, source="test"),
    arguments=lambda urls, opts: {"video_url": urls["video"], "audio_url": urls["audio"]},
    billed_units=lambda opts, facts: facts.get("video_s", 0.0),
)
