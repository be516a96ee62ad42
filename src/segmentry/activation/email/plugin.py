"""E-mail as a channel plug-in (:mod:`segmentry.app.plugins`): offered when ``[email]`` is
set."""

from __future__ import annotations

from typing import TYPE_CHECKING

from segmentry.activation.email.channel import EmailChannel
from segmentry.app.messaging.unsubscribe import key_for
from segmentry.app.plugins import hookimpl
from segmentry.core.secrets import load_secret
from segmentry.store import unsubscriptions

if TYPE_CHECKING:
    from segmentry.core.context import Context

__all__ = ["PASSWORD_SECRET", "segmentry_channels"]

PASSWORD_SECRET = "smtp_password"


@hookimpl
def segmentry_channels(workspace: Context) -> list[EmailChannel] | None:
    settings = workspace.settings.email
    if settings is None:
        return None
    password = load_secret(workspace.folder, PASSWORD_SECRET, settings.password_env)

    def unsubscribed() -> set[str]:
        with workspace.state.begin() as conn:
            return unsubscriptions.addresses(conn)

    return [EmailChannel(settings, password, key_for(workspace.folder), unsubscribed)]
