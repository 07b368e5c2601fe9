"""Swap provider ``local``: the offline face engine (MediaPipe landmarks + seamless blend), no key, free."""

from __future__ import annotations

from jobs.providers import Provider

PROVIDER = Provider(id="local", label="Local engine (offline, free)", tool="swap", key_variables=(),
                    settings_fields=("swap_blend", "swap_detect_every"),
                    impl="jobs.swap_providers.local:LocalSwapProvider")
