"""Campaign definitions from a TOML file, to keep them under version control.

::

    [[campaigns]]
    key = "onboarding"
    segment = "first-buyers"
    schedule = "on_join"            # or "once" (with start = 2026-12-10T10:00:00, shop time)
    holdout = 0.1
    exit_on_order = true            # the default

    [[campaigns.steps]]
    name = "welcome"
    channels = ["line", "email"]    # the first that reaches the customer
    text = "{{ customer.honorific_name }}、ご購入ありがとうございます。"
    subject = "ご購入ありがとうございます"

    [[campaigns.steps]]
    name = "review"
    after_days = 3
    at = "10:00"                    # shop time
    channels = ["line"]
    text = "使い心地はいかがですか？"
    condition = "not_ordered"

    [campaigns.steps.coupon]        # optional: {{ coupon }} in the texts (docs/campaigns.md)
    kind = "unique"                 # or "shared" (one code for the campaign's Shopify segment)
    code = "THANKS"                 # shared: the code; unique: the prefix of each one's code
    percent_off = 10                # or amount_off = 500 (shop currency)
    expires_after_days = 14

>>> text = '''
... [[campaigns]]
... key = "w"
... segment = "vip"
... schedule = "once"
... start = 2026-12-10T10:00:00
... [[campaigns.steps]]
... name = "news"
... channels = ["line"]
... text = "hi"
... '''
>>> (d,) = parse_definitions(text, "Asia/Tokyo")
>>> d.start_at, d.steps[0].channels, d.holdout
(datetime.datetime(2026, 12, 10, 1, 0), ('line',), 0.0)
"""

from __future__ import annotations

import datetime as dt
import tomllib
import zoneinfo
from pathlib import Path
from typing import Any

from segmentry.app.campaigns.campaigns import CampaignDefinition
from segmentry.app.campaigns.coupons import coupon_of
from segmentry.core.errors import CampaignError
from segmentry.store.campaigns import Step
from segmentry.store.coupons import Coupon

__all__ = ["definition_item", "definition_of", "load_definitions", "parse_definitions",
           "shop_time"]


def load_definitions(path: Path, timezone: str) -> list[CampaignDefinition]:
    """The ``[[campaigns]]`` of a TOML file (times in the shop's ``timezone``)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise CampaignError("Cannot read {path}: {problem}", code="campaign_file",
                            params={"path": str(path), "problem": str(e)}) from e
    return parse_definitions(text, timezone, str(path))


def parse_definitions(text: str, timezone: str, where: str = "the file"
                      ) -> list[CampaignDefinition]:
    try:
        document = tomllib.loads(text)
        return [_campaign(item, timezone) for item in document.get("campaigns", [])]
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as e:
        raise CampaignError("The campaigns in {path} cannot be read: {problem}",
                            code="campaign_file",
                            params={"path": where, "problem": str(e)}) from e


def definition_of(item: dict[str, Any], timezone: str) -> CampaignDefinition:
    """One ``[[campaigns]]`` table (as TOML reads it, or as the web's form and JSON give it:
    ``start`` may be text) as a definition; checked in full by :meth:`Campaigns.add`.

    >>> d = definition_of({"key": "w", "segment": "vip", "start": "2026-12-10T10:00",
    ...                    "steps": [{"name": "m", "text": "hi"}]}, "Asia/Tokyo")
    >>> d.start_at, d.schedule, definition_item(d, "Asia/Tokyo")["start"]
    (datetime.datetime(2026, 12, 10, 1, 0), 'once', '2026-12-10T10:00')
    """
    try:
        return _campaign(item, timezone)
    except (KeyError, TypeError, ValueError) as e:
        raise CampaignError("The campaigns in {path} cannot be read: {problem}",
                            code="campaign_file",
                            params={"path": "the request", "problem": str(e)}) from e


def definition_item(definition: CampaignDefinition, timezone: str) -> dict[str, Any]:
    """The ``[[campaigns]]`` table of ``definition``: what :func:`definition_of` reads back
    (``start`` in shop time, ISO text; only the keys that are set)."""
    start = None
    if definition.start_at is not None:
        local = definition.start_at.replace(tzinfo=dt.UTC).astimezone(zoneinfo.ZoneInfo(timezone))
        start = local.replace(tzinfo=None).isoformat(timespec="minutes")
    return {"key": definition.key, "segment": definition.segment,
            "schedule": definition.schedule, "start": start, "holdout": definition.holdout,
            "language": definition.language, "exit_on_order": definition.exit_on_order,
            "steps": [_step_item(s) for s in definition.steps]}


def shop_time(text: str, timezone: str) -> dt.datetime:
    """``2026-12-10T10:00`` in the shop's ``timezone`` as UTC (no zone), as campaigns keep it.

    >>> shop_time("2026-12-10T10:00", "Asia/Tokyo")
    datetime.datetime(2026, 12, 10, 1, 0)
    """
    try:
        local = dt.datetime.fromisoformat(text)
    except ValueError as e:
        raise CampaignError("The start {text!r} is not a date and time like 2026-12-10T10:00.",
                            code="campaign_time", params={"text": text}) from e
    if local.tzinfo is None:
        local = local.replace(tzinfo=zoneinfo.ZoneInfo(timezone))
    return local.astimezone(dt.UTC).replace(tzinfo=None)


def _campaign(item: dict[str, Any], timezone: str) -> CampaignDefinition:
    start = item.get("start")
    if isinstance(start, str):
        start = shop_time(start, timezone)
    elif isinstance(start, dt.datetime):
        if start.tzinfo is None:
            start = start.replace(tzinfo=zoneinfo.ZoneInfo(timezone))
        start = start.astimezone(dt.UTC).replace(tzinfo=None)
    return CampaignDefinition(
        key=str(item["key"]), segment=str(item["segment"]),
        schedule=str(item.get("schedule", "once")),
        steps=tuple(_step(s) for s in item.get("steps", [])),
        start_at=start, holdout=float(item.get("holdout", 0.0)),
        language=str(item.get("language", "ja")),
        exit_on_order=bool(item.get("exit_on_order", True)),
    )


def _step(item: dict[str, Any]) -> Step:
    channels = item.get("channels", item.get("channel", ["line"]))
    if isinstance(channels, str):
        channels = [channels]
    return Step(
        name=str(item["name"]), after_days=int(item.get("after_days", 0)),
        at_time=item.get("at"), channels=tuple(str(c) for c in channels),
        body=str(item["text"]), subject=item.get("subject"), html=item.get("html"),
        flex=item.get("flex"), condition=item.get("condition"),
        coupon=None if item.get("coupon") is None else _coupon(item["coupon"]),
    )


def _coupon(item: dict[str, Any]) -> Coupon:
    unknown = set(item) - {"kind", "code", "percent_off", "amount_off", "expires_after_days"}
    if unknown:
        raise ValueError(f"a coupon has no {sorted(unknown)[0]!r}")
    days = item.get("expires_after_days")
    return coupon_of(str(item["kind"]), str(item["code"]), percent_off=item.get("percent_off"),
                     amount_off=item.get("amount_off"),
                     expires_after_days=None if days is None else int(days))


def _step_item(step: Step) -> dict[str, Any]:
    item: dict[str, Any] = {"name": step.name, "after_days": step.after_days, "at": step.at_time,
                            "channels": list(step.channels), "text": step.body,
                            "subject": step.subject, "html": step.html, "flex": step.flex,
                            "condition": step.condition}
    coupon = step.coupon
    if coupon is not None:
        item["coupon"] = {
            "kind": coupon.kind, "code": coupon.code if coupon.kind == "shared" else coupon.prefix,
            "percent_off": None if coupon.percentage is None else round(coupon.percentage * 100, 4),
            "amount_off": coupon.amount, "expires_after_days": coupon.expires_days}
    return item
