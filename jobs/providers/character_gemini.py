"""Character provider ``gemini``: Gemini image generation (price per image from the setting
``gemini_image_price_cents``)."""

from __future__ import annotations

from jobs.providers import Provider

PROVIDER = Provider(id="gemini", label="Gemini (cloud, billed per image)", tool="character",
                    key_variables=("GOOGLE_API_KEY", "GEMINI_API_KEY", "NOVAI_GEMINI_API_KEY"),
                    settings_fields=("gemini_api_key", "gemini_image_model", "gemini_image_price_cents"),
                    impl="jobs.character_providers.gemini:GeminiCharacterProvider")
