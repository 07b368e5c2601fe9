"""LoRA provider ``fal``: the Wan 2.2 image trainer on fal (setting ``lora_trainer_endpoint``).

Price (fal model page of fal-ai/wan-22-image-trainer, shared/design/contracts.md): $0.0045 per step,
100 steps minimum. ``NOVAI_FAL_PRICES`` (``{endpoint: {usd_per_unit, unit, min_units}}``) overrides it
for the endpoint in ``NOVAI_LORA_TRAINER_ENDPOINT``.
"""

from __future__ import annotations

from jobs.providers import Price, Provider

PROVIDER = Provider(id="fal", label="fal.ai Wan 2.2 image trainer (cloud, billed per step)", tool="lora",
                    endpoint="fal-ai/wan-22-image-trainer",
                    settings_fields=("fal_key", "lora_trainer_endpoint", "lora_test_image_endpoint",
                                     "fal_prices"),
                    price=Price(cents_per_unit=0.45, unit="step", base_cents=45.0, base_units=100.0,
                                source="fal model page: $0.0045 per step, 100 steps minimum"),
                    price_setting="fal_prices", price_key=lambda s: s.lora_trainer_endpoint,
                    billed_units=lambda opts, facts: float(facts.get("steps", 0.0)),
                    docs="https://fal.ai/models/fal-ai/wan-22-image-trainer")
