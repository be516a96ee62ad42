"""LINE as a channel plug-in (:mod:`segmentry.app.plugins`): offered when ``[line]`` is set
and a channel access token is found; and, when ``[[line.rich_menus]]`` are set, the
``line_rich_menus`` stage after each run (:mod:`.rich_menus`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from segmentry.activation.line.client import LineChannel, LineClient
from segmentry.activation.line.rich_menus import sync_rich_menus
from segmentry.activation.line.sender import LineSender
from segmentry.app.plugins import Destination, RunOutcome, hookimpl
from segmentry.core.errors import MessagingError
from segmentry.core.secrets import load_secret

if TYPE_CHECKING:
    from segmentry.core.context import Context

__all__ = ["TOKEN_SECRET", "connect", "segmentry_channels", "segmentry_destinations"]

TOKEN_SECRET = "line_channel_token"
CHANNEL_SECRET = "line_channel_secret"


@hookimpl
def segmentry_channels(workspace: Context) -> list[LineSender] | None:
    if workspace.settings.line is None:
        return None
    settings = workspace.settings.line
    return [LineSender(connect(workspace), narrowcast_from=settings.narrowcast_from)]


@hookimpl
def segmentry_destinations(workspace: Context) -> list[Destination] | None:
    settings = workspace.settings.line
    if settings is None or not settings.rich_menus:
        return None

    def push(outcome: RunOutcome) -> str:
        with connect(workspace) as client:
            return sync_rich_menus(workspace.state, workspace.warehouse, client,
                                   settings.rich_menus, outcome.day).detail()

    return [Destination("line_rich_menus", push)]


def connect(workspace: Context) -> LineClient:
    """A client of the workspace's LINE channel (``[line]``); :class:`MessagingError`
    ``channel_not_configured`` when no channel access token is found."""
    settings = workspace.settings.line
    if settings is None:
        raise MessagingError("LINE is not set up in this workspace.",
                             code="channel_not_configured",
                             hint="Add a [line] section to segmentry.toml.")
    token = load_secret(workspace.folder, TOKEN_SECRET, settings.token_env)
    if not token:
        raise MessagingError(
            "No channel access token for the LINE account {name}.",
            code="channel_not_configured",
            hint="Set {env}, or store the token in the workspace's secrets file as {secret}.",
            params={"name": settings.name, "env": settings.token_env, "secret": TOKEN_SECRET},
        )
    secret = load_secret(workspace.folder, CHANNEL_SECRET, settings.channel_secret_env) or ""
    channel = LineChannel(token, secret, name=settings.name, host=settings.endpoint)
    return LineClient(channel)
