"""activation/webhooks: HMAC-SHA256-signed JSON POSTs of segment joins and leaves (after each
run) and of finished sends, to every ``[[webhooks]]`` receiver, recorded in the state store
before they are sent so that none is sent twice by a rerun (docs/activation.md, "Outgoing
webhooks")."""

from segmentry.activation.webhooks.delivery import Retrying, Tally
from segmentry.activation.webhooks.events import delivery_id
from segmentry.activation.webhooks.service import WebhookReport, push_webhooks, secret_name
from segmentry.activation.webhooks.signing import sign, signed_headers, verify

__all__ = ["Retrying", "Tally", "WebhookReport", "delivery_id", "push_webhooks", "secret_name",
           "sign", "signed_headers", "verify"]
