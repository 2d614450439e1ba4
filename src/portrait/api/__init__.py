"""The profile service's HTTP API (FastAPI): thin routes over the shared service layer.

`create_app(project)` builds the app; `portrait serve` runs it with uvicorn.
"""

from portrait.api.app import create_app

__all__ = ["create_app"]
