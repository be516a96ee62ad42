"""Fixtures shared by the insight tests."""

from __future__ import annotations

import pytest

from segmentry.analytics.predictive.cdnow import CdnowCheck, check_cdnow


@pytest.fixture(scope="session")
def cdnow() -> CdnowCheck:
    """The CDNOW reproduction (docs/predictive.md): every model fitted once per session."""
    return check_cdnow()
