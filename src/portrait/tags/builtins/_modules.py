"""Imports every built-in module so each registers itself."""
