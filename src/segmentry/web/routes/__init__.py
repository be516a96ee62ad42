"""One router per resource. ``public`` needs no sign-in; every other router requires it."""

from __future__ import annotations

from fastapi import APIRouter

from segmentry.web.routes import (
    builder,
    campaigns,
    campaigns_edit,
    channels,
    clicks,
    insight,
    insight_cohorts,
    insight_predictive,
    insight_recommendations,
    insight_transitions,
    jobs,
    line_webhook,
    overview,
    pixel,
    public,
    runs,
    segments,
    sends,
    settings,
    tag_sync,
    unsubscribe,
    webhooks,
)

__all__ = ["ROUTERS"]

ROUTERS: list[APIRouter] = [
    public.router,
    unsubscribe.router,
    clicks.router,
    overview.router,
    segments.router,
    builder.router,
    insight.router,
    insight_cohorts.router,
    insight_transitions.router,
    insight_recommendations.router,
    insight_predictive.router,
    runs.router,
    settings.router,
    channels.router,
    sends.router,
    campaigns_edit.router,  # before campaigns: /campaigns/new is not a campaign's key
    campaigns.router,
    jobs.router,
    tag_sync.router,
    webhooks.receiver,
    pixel.router,
    line_webhook.router,
    webhooks.router,
]
