"""Checking a token's access scopes, and where the token itself is kept.

The Admin API access token is a secret: it never goes into ``segmentry.toml``. It is read from
the environment variable named in the settings (``SEGMENTRY_SHOPIFY_TOKEN`` by default) or from
the workspace's ``secrets`` file, which must be readable by its owner only (mode 0600).
"""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path

import tomli_w

from segmentry.connectors.shopify.client import ShopifyClient
from segmentry.core.config import ShopifySettings
from segmentry.core.errors import ShopifyError

__all__ = [
    "REQUIRED_SCOPES",
    "SECRETS_FILE",
    "MissingScopes",
    "check_scopes",
    "granted_scopes",
    "load_secret",
    "missing_scopes",
    "save_secret",
]

REQUIRED_SCOPES = (
    "read_customers",
    "write_customers",
    "read_orders",
    "read_all_orders",
    "read_products",
)
SECRETS_FILE = "secrets"
_SCOPES_QUERY = "{ currentAppInstallation { accessScopes { handle } } }"
# A write scope implies its read scope (Shopify omits the read one when both are granted).
_IMPLIED = {
    "write_customers": "read_customers",
    "write_orders": "read_orders",
    "write_products": "read_products",
}


def missing_scopes(granted: set[str], required: tuple[str, ...] = REQUIRED_SCOPES) -> list[str]:
    """The required scopes ``granted`` lacks, in the order they are listed.

    >>> missing_scopes({"write_customers", "read_orders"})
    ['read_all_orders', 'read_products']
    """
    have = granted | {_IMPLIED[s] for s in granted if s in _IMPLIED}
    return [scope for scope in required if scope not in have]


def granted_scopes(client: ShopifyClient) -> set[str]:
    """The scopes Shopify says the client's token has (one request)."""
    data = client.execute(_SCOPES_QUERY)
    return {s["handle"] for s in data["currentAppInstallation"]["accessScopes"]}


class MissingScopes(ShopifyError):
    """The token lacks scopes segmentry needs (``missing``, in :data:`REQUIRED_SCOPES` order)."""

    code = "missing_scopes"

    def __init__(self, message: str, *, missing: list[str], hint: str,
                 params: dict[str, object] | None = None) -> None:
        super().__init__(message, hint=hint, params=params)
        self.missing = missing


def check_scopes(client: ShopifyClient) -> list[str]:
    """The token's scopes; raise MissingScopes naming every missing one."""
    granted = granted_scopes(client)
    missing = missing_scopes(granted)
    if missing:
        raise MissingScopes(
            "The access token for {shop} lacks these scopes: {scopes}.",
            missing=missing,
            params={"shop": client.shop, "scopes": ", ".join(missing)},
            hint="In Shopify admin open the app → Configuration → Admin API access scopes, "
            "tick them, save, reinstall the app and use the new token. read_all_orders "
            "(orders older than 60 days) needs Shopify's approval for public apps.",
        )
    return sorted(granted)


def save_secret(folder: Path, name: str, value: str) -> Path:
    """Store a secret in the workspace's ``secrets`` file (created with mode 0600)."""
    path = folder / SECRETS_FILE
    values = _read(path) if path.exists() else {}
    values[name] = value
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(tomli_w.dumps(values))
    path.chmod(0o600)
    return path


def load_secret(folder: Path, name: str, env: str) -> str | None:
    """A secret from the environment variable ``env``, else from the ``secrets`` file."""
    if os.environ.get(env):
        return os.environ[env]
    path = folder / SECRETS_FILE
    if not path.exists():
        return None
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ShopifyError(
            "{path} can be read by other users; segmentry will not use the secrets in it.",
            code="secrets_permissions",
            params={"path": str(path)},
        )
    value = _read(path).get(name)
    return str(value) if value else None


def _read(path: Path) -> dict[str, str]:
    try:
        return {k: str(v) for k, v in tomllib.loads(path.read_text(encoding="utf-8")).items()}
    except tomllib.TOMLDecodeError as e:
        raise ShopifyError("{path} is not valid TOML: {problem}", code="secrets",
                           params={"path": str(path), "problem": str(e)}) from e


def token_for(folder: Path, settings: ShopifySettings) -> str:
    """The access token of a connected workspace, or a clear error."""
    token = load_secret(folder, "shopify_token", settings.token_env)
    if not token:
        raise ShopifyError(
            "No Shopify access token for {shop}.",
            code="invalid_token",
            params={"shop": settings.shop, "env": settings.token_env},
        )
    return token
