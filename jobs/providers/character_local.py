"""Character provider ``local``: the offline reference sheet, no key, free."""

from __future__ import annotations

from jobs.providers import Provider

PROVIDER = Provider(id="local", label="Local sheet (offline, free)", tool="character", key_variables=(),
                    settings_fields=(), impl="jobs.character_providers.local:LocalCharacterProvider")
