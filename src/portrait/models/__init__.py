"""Model and predicted tags (挖掘/预测标签): point-in-time training, honest evaluation, versioned models.

Pure algorithms: `spec` (the `model:` block), `features`, `labels`, `train`, `baselines`, `evaluate`,
`outputs`, `report`. I/O at the edges: `inputs` (reads through a query function), `service`
(snapshots, training runs), `registry/store` (versions on disk), `hook` (predictions in every build).
"""

from portrait.models.errors import ModelError, ModelNotFound
from portrait.models.spec import ModelSpec, ResolvedModel, model_for, resolve_models

__all__ = ["ModelError", "ModelNotFound", "ModelSpec", "ResolvedModel", "model_for", "resolve_models"]
