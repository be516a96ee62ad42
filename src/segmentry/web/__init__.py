"""The web app and JSON API (FastAPI): see docs/web.md.

>>> # from segmentry.web import create_app; app = create_app("segmentry-demo")
"""

from __future__ import annotations

from segmentry.web.app import create_app

__all__ = ["create_app"]
