"""Versioned model storage: warehouse/models/<model>/<version>/."""

from portrait.models.registry.store import ModelStore, ModelVersion

__all__ = ["ModelStore", "ModelVersion"]
