"""Checking a token's access scopes, and where the token itself is kept.

The Admin API access token is a secret: it never goes into ``segmentry.toml``. It is read from
the environment variable named in the settings (``SEGMENTRY_SHOPIFY_TOKEN`` by default) or from
the workspace's ``secrets`` file, which must be readable by its owner only (mode 0600).
"""

from __future__ import annotations

from pathlib import Path

from segmentry.connectors.shopify.client import ShopifyClient
from segmentry.core.config import ShopifySettings
from segmentry.core.errors import ShopifyError
from segmentry.core.secrets import load_secret

__all__ = [
    "OPTIONAL_SCOPES",
    "REQUIRED_SCOPES",
    "MissingScopes",
    "check_scopes",
    "granted_scopes",
    "missing_scopes",
]

REQUIRED_SCOPES = (
    "read_customers",
    "write_customers",
    "read_orders",
    "read_all_orders",
    "read_products",
)
# Scopes segmentry uses when granted and does without otherwise (the sync says what it skipped):
# store credit accounts and their transactions (``store_credit_accounts``).
OPTIONAL_SCOPES = ("read_store_credit_accounts", "read_store_credit_account_transactions")
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
