"""Imports every built-in module so each registers itself."""

from portrait.tags.builtins import (  # noqa: F401
    activity,
    interest,
    lifecycle,
    price_sensitivity,
    purchasing_power,
    rfm,
)
