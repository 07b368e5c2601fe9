"""Face-swap providers: one module each, all implementing :class:`jobs.swap_providers.base.SwapProvider`."""
