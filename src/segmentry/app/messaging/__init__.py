"""Speaking to customers: message templates, the outbox every send goes through, and the
rules a send obeys (consent, frequency caps, quiet hours). Channels (LINE, e-mail, webhooks)
are plug-ins in :mod:`segmentry.activation`."""
