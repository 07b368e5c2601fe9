"""Swap provider ``fal``: fal's video face-swap endpoint (setting ``fal_swap_endpoint``), billed per second
of output.

fal publishes no price for half-moon-ai/ai-face-swap/faceswapvideo (shared/design/contracts.md), so the
10 cents/s here is a placeholder (a third-party reseller lists ~$0.10/s for video face swap,
https://muapi.ai/face-swap-api); set your own with ``NOVAI_SWAP_PRICE_CENTS_PER_SECOND='{"fal": 8}'``.
"""

from __future__ import annotations

from jobs.providers import Price, Provider

PROVIDER = Provider(id="fal", label="fal.ai video face swap (cloud, billed)", tool="swap",
                    settings_fields=("fal_key", "fal_swap_endpoint", "swap_price_cents_per_second"),
                    price=Price(cents_per_unit=10.0, unit="second",
                                source="placeholder: fal publishes none (reseller ~$0.10/s)"),
                    price_setting="swap_price_cents_per_second",
                    billed_units=lambda opts, facts: float(facts.get("video_s", 0.0)),
                    impl="jobs.swap_providers.fal_swap:FalSwapProvider")
