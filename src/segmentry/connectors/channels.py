"""The acquisition channel of an order, derived from its UTM tags, referrer and sales channel
(and the other things read off an order's marketing data: UTM tags, subscription orders).

Rules, first match wins (values are compared lower-cased, word by word, so ``line_official``
counts as LINE but ``online`` does not):

1. ``source_name`` is ``pos`` → ``pos`` (bought in a shop; any link data is stale);
2. ``utm_medium`` or ``utm_source`` names an affiliate (``affiliate``, ``a8``, ``afb``,
   ``valuecommerce``, ``accesstrade``, ``moshimo``, …) → ``affiliate``;
3. ``utm_medium`` or ``utm_source`` names email (``email``, ``newsletter``, ``mailmagazine``,
   ``klaviyo``, ``mailchimp``, …) → ``email``;
4. ``utm_source``, then ``utm_medium``, names a platform → that platform: ``instagram`` (ig),
   ``facebook`` (fb, meta), ``line``, ``google`` (googleads, adwords, gdn), ``yahoo`` (ydn),
   ``tiktok``, ``x`` (twitter), ``youtube``;
5. the referring site is a webmail host (``mail.google.com``, ``outlook.live.com``, a host
   starting with ``mail.``) → ``email``; a platform's host (``l.instagram.com``, ``lin.ee``,
   ``www.google.co.jp``, ``t.co`` …) → that platform;
6. ``source_name`` names a platform (Shopify's Instagram/Facebook/Google sales channels) → it;
7. any other UTM source or referring site → ``other``;
8. nothing at all → ``direct``.

>>> derive_channel("ig", "social", None, "web")
'instagram'
>>> derive_channel(None, None, "https://lin.ee/abc", "web")
'line'
>>> derive_channel("newsletter", "email", "https://www.google.com/", "web")
'email'
>>> derive_channel(None, None, None, "web")
'direct'
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

__all__ = [
    "CHANNELS",
    "derive_channel",
    "is_subscription",
    "utm_from_attributes",
    "utm_from_url",
]

# channel → words in utm_source / utm_medium / source_name that name it.
_PLATFORM_WORDS: dict[str, frozenset[str]] = {
    "instagram": frozenset({"instagram", "ig", "insta"}),
    "facebook": frozenset({"facebook", "fb", "meta"}),
    "line": frozenset({"line", "lineapp", "lineads", "linead"}),
    "google": frozenset({"google", "googleads", "adwords", "gdn", "gads", "pmax"}),
    "yahoo": frozenset({"yahoo", "ydn", "yahooads"}),
    "tiktok": frozenset({"tiktok"}),
    "x": frozenset({"x", "twitter", "tw"}),
    "youtube": frozenset({"youtube", "yt"}),
}
# channel → host names (or their last labels) of referring sites.
_PLATFORM_HOSTS: dict[str, tuple[str, ...]] = {
    "instagram": ("instagram.com",),
    "facebook": ("facebook.com", "fb.com", "fb.me"),
    "line": ("line.me", "lin.ee", "line-apps.com"),
    "google": ("google",),  # any google.<tld>: matched by label below
    "yahoo": ("yahoo",),
    "tiktok": ("tiktok.com",),
    "x": ("twitter.com", "x.com", "t.co"),
    "youtube": ("youtube.com", "youtu.be"),
}
_LABEL_HOSTS = frozenset({"google", "yahoo"})
_AFFILIATE_WORDS = frozenset(
    {
        "affiliate",
        "aff",
        "affiliates",
        "a8",
        "afb",
        "valuecommerce",
        "accesstrade",
        "moshimo",
        "janet",
        "rentracks",
        "impact",
        "cj",
        "shareasale",
        "partner",
        "partners",
    }
)
_EMAIL_WORDS = frozenset(
    {
        "email",
        "mail",
        "newsletter",
        "mailmagazine",
        "merumaga",
        "mailmag",
        "klaviyo",
        "mailchimp",
        "sendgrid",
        "omnisend",
        "edm",
    }
)
_WEBMAIL_HOSTS = ("mail.google.com", "outlook.live.com", "outlook.office.com", "mail.yahoo.co.jp")

CHANNELS = ("pos", "affiliate", "email", *_PLATFORM_WORDS, "other", "direct")

_SUBSCRIPTION_SOURCES = frozenset({"subscription_contract", "subscription_contract_checkout_one"})
_UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign")
_ATTRIBUTE = re.compile(r"^\s*([A-Za-z_][\w .-]*?)\s*[:=]\s*(.*?)\s*$")


def derive_channel(
    utm_source: str | None,
    utm_medium: str | None,
    referring_site: str | None,
    source_name: str | None,
) -> str:
    """The acquisition channel (one of :data:`CHANNELS`) by the rules in the module docstring."""
    source, medium, sales = _words(utm_source), _words(utm_medium), _words(source_name)
    if "pos" in sales:
        return "pos"
    if (source | medium) & _AFFILIATE_WORDS:
        return "affiliate"
    if (source | medium) & _EMAIL_WORDS:
        return "email"
    host = _host(referring_site)
    return (
        _platform(source)
        or _platform(medium)
        or _host_channel(host)
        or _platform(sales)
        or ("other" if utm_source or host else "direct")
    )


def _words(value: str | None) -> set[str]:
    return {w for w in re.split(r"[^a-z0-9]+", (value or "").casefold()) if w}


def _platform(words: set[str]) -> str | None:
    return next((ch for ch, names in _PLATFORM_WORDS.items() if words & names), None)


def _host(site: str | None) -> str:
    text = (site or "").strip()
    if not text:
        return ""
    if "//" not in text:
        text = f"//{text}"
    try:
        return (urlsplit(text).hostname or "").casefold()
    except ValueError:
        return ""


def _host_channel(host: str) -> str | None:
    if not host:
        return None
    if host in _WEBMAIL_HOSTS or host.startswith(("mail.", "webmail.")):
        return "email"
    labels = host.split(".")
    for channel, hosts in _PLATFORM_HOSTS.items():
        for known in hosts:
            if known in _LABEL_HOSTS and known in labels[:-1]:
                return channel
            if host == known or host.endswith(f".{known}"):
                return channel
    return None


def utm_from_url(url: str | None) -> dict[str, str]:
    """``utm_source`` / ``utm_medium`` / ``utm_campaign`` from a URL's query string.

    >>> utm_from_url("/products/serum?utm_source=ig&utm_medium=social&x=1")
    {'utm_source': 'ig', 'utm_medium': 'social'}
    """
    if not url or "?" not in url:
        return {}
    query = parse_qs(url.split("?", 1)[1], keep_blank_values=False)
    return {key: query[key][0].strip() for key in _UTM_KEYS if key in query}


def utm_from_attributes(text: str | None) -> dict[str, str]:
    """``key: value`` lines (Shopify's note attributes) as a dict with lower-cased keys.

    UTM values inside a URL attribute (a landing page) are picked up when the attribute
    itself has no ``utm_*`` keys.

    >>> utm_from_attributes("utm_source: line\\nutm_campaign: spring sale\\ngift: no")
    {'utm_source': 'line', 'utm_campaign': 'spring sale', 'gift': 'no'}
    """
    found: dict[str, str] = {}
    for line in (text or "").splitlines():
        match = _ATTRIBUTE.match(line)
        if match and match[2]:
            found.setdefault(match[1].strip().casefold().replace(" ", "_"), match[2])
    for value in list(found.values()):
        for key, utm in utm_from_url(value).items():
            found.setdefault(key, utm)
    return found


def is_subscription(tags: list[str], source_name: str | None) -> bool:
    """A subscription order: tagged ``subscription`` (or ``Subscription …`` as subscription
    apps tag recurring orders) or placed by a subscription contract.

    >>> is_subscription(["Subscription Recurring Order"], "web")
    True
    """
    lowered = [t.casefold() for t in tags]
    if any(t == "subscription" or t.startswith("subscription ") for t in lowered):
        return True
    return (source_name or "").casefold() in _SUBSCRIPTION_SOURCES
