"""Character provider ``gemini``: Gemini image generation, billed per image.

Price: 7 cents per image, the upper end of "about $0.04-0.07 per image at 1K" (shared/design/contracts.md,
third-party figures), so spend is not under-counted; ``NOVAI_GEMINI_IMAGE_PRICE_CENTS`` (model -> cents)
overrides it for the model in ``NOVAI_GEMINI_IMAGE_MODEL``. Connection check: list models (free).
"""

from __future__ import annotations

from jobs.providers import Price, Provider

PROVIDER = Provider(id="gemini", label="Gemini (cloud, billed per image)", tool="character",
                    key_variables=("GOOGLE_API_KEY", "GEMINI_API_KEY", "NOVAI_GEMINI_API_KEY"),
                    settings_fields=("gemini_api_key", "gemini_image_model", "gemini_image_price_cents"),
                    account="gemini", account_label="Google Gemini", check="jobs.provider_check:check_gemini",
                    price=Price(cents_per_unit=7.0, unit="image",
                                source="contracts.md: about $0.04-0.07 per image at 1K (upper end)"),
                    price_setting="gemini_image_price_cents", price_key=lambda s: s.gemini_image_model,
                    billed_units=lambda opts, facts: 1.0,
                    impl="jobs.character_providers.gemini:GeminiCharacterProvider")
