"""Errors of the model stage: a model that cannot be trained or used as asked."""

from __future__ import annotations

from portrait.errors import PortraitError


class ModelError(PortraitError):
    """Training or prediction refused: bad cutoff, unobserved label window, missing version, leakage."""

    status = 400
    code = "model"


class ModelNotFound(ModelError):
    status = 404
    code = "model_not_found"
