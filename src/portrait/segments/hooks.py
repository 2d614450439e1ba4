"""How segments plug into every build: the bitmap index is written into the snapshot before it
is published (ARTIFACT_BUILDERS), saved segments are re-evaluated after it becomes current
(POST_PUBLISH)."""

from __future__ import annotations

from pathlib import Path


def bitmap_index(staging: Path, catalog, engine) -> dict[str, str]:
    """Index profiles.parquet as written in the staging folder (ordinal = its row order)."""
    from portrait.segments.index_build import build_index

    build_index(Path(staging) / "profiles.parquet", [ct.tag for ct in catalog.tags], Path(staging) / "bitmaps")
    return {"bitmaps": "bitmaps/manifest.json"}


def refresh_segments(project, snapshot) -> None:
    """The snapshot is already published and current: a failure here must not fail the build."""
    import warnings

    from portrait.segments.service import refresh

    try:
        refresh(project, snapshot)
    except Exception as e:  # noqa: BLE001 - reported, and the next build or `segment save` retries
        warnings.warn(f"saved segments were not re-evaluated on snapshot {snapshot.id}: {e}", stacklevel=2)


def register(artifact_builders: list, post_publish: list) -> None:
    """Idempotent: safe if the pipeline module is reloaded."""
    if bitmap_index not in artifact_builders:
        artifact_builders.append(bitmap_index)
    if refresh_segments not in post_publish:
        post_publish.append(refresh_segments)
