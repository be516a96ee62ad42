"""``segmentry insight …``: the insight views (docs/insight.md) and the predictive models
(docs/predictive.md). Each view's commands live in a module of their own and are registered
here."""

from __future__ import annotations

import typer

from segmentry.cli import (
    insight_cohorts,
    insight_predictive,
    insight_recommendations,
    insight_transitions,
)

__all__ = ["app"]

app = typer.Typer(
    help="Insight: predictive models, cohorts, first products, segment transitions, the RFM "
         "grid and recommendations.",
    no_args_is_help=True,
)
insight_cohorts.register(app)
insight_transitions.register(app)
insight_recommendations.register(app)
insight_predictive.register(app)
