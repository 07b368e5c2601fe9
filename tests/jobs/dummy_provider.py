"""A dummy Animate provider for the registry test: one module declaring one :class:`Provider`."""

from __future__ import annotations

from jobs.providers import Price, Provider

PROVIDER = Provider(
    id="dummy", label="Dummy i2v", tool="animate", endpoint="dummy-org/dummy-i2v",
    price=Price(cents_per_unit=1.5, source="test"),
    arguments=lambda urls, opts: {"first_frame": urls["image"], "text": opts["prompt"],
                                  "seconds": opts["duration_s"]},
    billed_units=lambda opts, facts: float(opts["duration_s"]),
    options={"duration_s": (3, 6)},
)
