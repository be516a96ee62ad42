"""LINE as a channel plug-in (:mod:`segmentry.app.plugins`): offered when ``[line]`` is set
and a channel access token is found."""

from __future__ import annotations

from typing import TYPE_CHECKING

from segmentry.activation.line.client import LineChannel, LineClient
from segmentry.activation.line.sender import LineSender
from segmentry.app.plugins import hookimpl
from segmentry.core.errors import MessagingError
from segmentry.core.secrets import load_secret

if TYPE_CHECKING:
    from segmentry.core.context import Context

__all__ = ["TOKEN_SECRET", "segmentry_channels"]

TOKEN_SECRET = "line_channel_token"
CHANNEL_SECRET = "line_channel_secret"


@hookimpl
def segmentry_channels(workspace: Context) -> list[LineSender] | None:
    settings = workspace.settings.line
    if settings is None:
        return None
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
    return [LineSender(LineClient(channel))]
