"""Swap provider ``fal``: fal's video face-swap endpoint (setting ``fal_swap_endpoint``); price per second
of output from the setting ``swap_price_cents_per_second`` (fal publishes none for it)."""

from __future__ import annotations

from jobs.providers import Provider

PROVIDER = Provider(id="fal", label="fal.ai video face swap (cloud, billed)", tool="swap",
                    key_variables=("FAL_KEY", "NOVAI_FAL_KEY"),
                    settings_fields=("fal_key", "fal_swap_endpoint", "swap_price_cents_per_second"),
                    impl="jobs.swap_providers.fal_swap:FalSwapProvider")
