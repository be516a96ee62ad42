"""A campaign as the web takes it: the JSON body of ``POST /api/campaigns`` and the fields of
the campaign form, both read into a ``[[campaigns]]`` table of the TOML definitions
(docs/campaigns.md, "Definitions in a file"), which
:func:`~segmentry.app.campaigns.definitions.definition_of` turns into the definition the CLI
adds. So the form, the API and the file are checked by one service and refused with the same
errors; nothing here checks what the service checks.

The form's own work is only reading text into numbers (a holdout in percent, days) and putting
each service error by the field it is about (:func:`field_of`).

>>> item, problems = form_item({"key": "w", "segment": "vip", "schedule": "once",
...     "holdout_percent": "10", "step": ["0"], "step-0-name": "m",
...     "step-0-channels": "line,email", "step-0-text": "hi", "step-0-subject": "Hi"})
>>> item["holdout"], item["steps"][0]["channels"], problems
(0.1, ['line', 'email'], {})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field

from segmentry.core.errors import SegmentryError

__all__ = [
    "CHANNEL_CHOICES",
    "CampaignIn",
    "CampaignOut",
    "CampaignStepsIn",
    "CouponIn",
    "StepIn",
    "field_of",
    "form_item",
    "form_values",
    "raw_values",
    "step_indices",
]

# The channel orders a step may take (the first that reaches the customer).
CHANNEL_CHOICES = ("line", "email", "line,email", "email,line")
_TEXT = 50_000


class CouponIn(BaseModel):
    """A step's Shopify coupon (docs/campaigns.md, "Coupons")."""

    kind: str = Field(max_length=20, description="shared (one code for the campaign's Shopify "
                      "segment) or unique (a code per recipient).")
    code: str = Field("", max_length=300, description="shared: the code; unique: the prefix "
                      "of each code (letters, digits, - and _).")
    percent_off: float | None = Field(None, ge=-1e9, le=1e9, description="10 = 10 % off.")
    amount_off: str | None = Field(None, max_length=40, description="An amount off in the "
                                   "shop's currency (give this or percent_off).")
    expires_after_days: int | None = Field(None, ge=-100_000, le=100_000)


class StepIn(BaseModel):
    """One step: a message due ``after_days`` after entry (at ``at``, shop time)."""

    name: str = Field(max_length=200, description="Unique in the campaign; a step is known "
                      "by its name when the steps are edited.")
    after_days: int = Field(0, ge=-100_000, le=100_000, description="Days after entry.")
    at: str | None = Field(None, max_length=20, description="Time of day, shop time (HH:MM); "
                           "none: the time of entry.")
    channels: list[str] = Field(["line"], max_length=5, description="line and/or email, in "
                                "the order tried: the first that reaches the customer.")
    text: str = Field(max_length=_TEXT, description="The message (a template).")
    subject: str | None = Field(None, max_length=1000, description="E-mail subject.")
    html: str | None = Field(None, max_length=200_000, description="E-mail HTML (optional).")
    flex: str | None = Field(None, max_length=_TEXT, description="LINE Flex contents (JSON).")
    condition: str | None = Field(None, max_length=300, description="not_ordered or "
                                  "in_segment:<segment key>; a customer it fails for passes "
                                  "the step without a message.")
    coupon: CouponIn | None = None


class CampaignStepsIn(BaseModel):
    """The new steps of a campaign (``PUT``): customers inside keep their place
    (docs/campaigns.md, "Editing a running sequence")."""

    steps: list[StepIn] = Field(max_length=50)


class CampaignIn(CampaignStepsIn):
    """A new campaign: a ``[[campaigns]]`` table of the TOML definitions."""

    key: str = Field(max_length=200, description="The campaign's name (its URL).")
    segment: str = Field(max_length=200, description="The segment's key.")
    schedule: str = Field("once", max_length=20, description="once (everyone in the segment "
                          "at start) or on_join (each customer who newly joins).")
    start: str | None = Field(None, max_length=40, description="once: when, shop time "
                              "(2026-12-10T10:00); none: now.")
    holdout: float = Field(0.0, ge=-1e9, le=1e9, description="Share held out and measured "
                           "(0.1 = 10 %), from 0 up to 1.")
    language: Literal["ja", "en"] = "ja"
    exit_on_order: bool = True

    def item(self) -> dict[str, Any]:
        """The ``[[campaigns]]`` table (without the fields left out)."""
        return self.model_dump(exclude_none=True)


class CampaignOut(CampaignIn):
    status: str = Field(description="active or paused.")


# ------------------------------------------------------------------ the form


def form_item(form: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, str]]]:
    """The form's fields (``getlist`` for ``step``) as a ``[[campaigns]]`` table, and the
    fields whose text is not a number (field → ``{"code": "number"}``)."""
    problems: dict[str, dict[str, str]] = {}

    def number(field: str, kind: type[int] | type[float], default: Any = None) -> Any:
        text = _text(form, field)
        if not text:
            return default
        try:
            return kind(text)
        except ValueError:
            problems[field] = {"code": "number"}
            return default

    percent = number("holdout_percent", float, 0.0)
    item: dict[str, Any] = {
        "key": _text(form, "key"), "segment": _text(form, "segment"),
        "schedule": _text(form, "schedule") or "once",
        "start": _text(form, "start") or None if _text(form, "schedule") != "on_join" else None,
        "holdout": round(percent / 100, 6) if percent == percent else percent,
        "language": _text(form, "language") or "ja",
        "exit_on_order": _text(form, "exit_on_order") == "true",
        "steps": [],
    }
    for i in step_indices(form):
        p = f"step-{i}-"
        condition = _text(form, p + "condition")
        if condition == "in_segment":
            condition = "in_segment:" + _text(form, p + "condition_segment")
        step: dict[str, Any] = {
            "name": _text(form, p + "name"), "after_days": number(p + "after_days", int, 0),
            "at": _text(form, p + "at") or None,
            "channels": [c for c in _text(form, p + "channels").split(",") if c] or ["line"],
            "text": _text(form, p + "text"), "subject": _text(form, p + "subject") or None,
            "html": _text(form, p + "html") or None, "flex": _text(form, p + "flex") or None,
            "condition": condition or None,
        }
        kind = _text(form, p + "coupon")
        if kind:
            value = number(p + "coupon_value", float)
            percent_off = _text(form, p + "coupon_unit") != "amount"
            step["coupon"] = {
                "kind": kind, "code": _text(form, p + "coupon_code"),
                "percent_off": value if percent_off else None,
                "amount_off": None if percent_off or value is None
                else _text(form, p + "coupon_value"),
                "expires_after_days": number(p + "coupon_expires", int)}
        item["steps"].append(step)
    return item, problems


def form_values(item: Mapping[str, Any]) -> dict[str, Any]:
    """A ``[[campaigns]]`` table as the form's fields (a stored campaign, to edit it)."""
    steps = []
    for i, s in enumerate(item.get("steps", [])):
        condition = s.get("condition") or ""
        coupon = s.get("coupon") or {}
        amount = coupon.get("amount_off")
        steps.append({
            "index": i, "name": s["name"], "after_days": str(s.get("after_days", 0)),
            "at": s.get("at") or "", "channels": ",".join(s.get("channels", ["line"])),
            "text": s.get("text", ""), "subject": s.get("subject") or "",
            "html": s.get("html") or "", "flex": s.get("flex") or "",
            "condition": condition.partition(":")[0],
            "condition_segment": condition.partition(":")[2],
            "coupon": coupon.get("kind", ""), "coupon_code": coupon.get("code", ""),
            "coupon_unit": "amount" if amount is not None else "percent",
            "coupon_value": _plain(amount if amount is not None else coupon.get("percent_off")),
            "coupon_expires": _plain(coupon.get("expires_after_days")),
        })
    holdout = item.get("holdout", 0.0)
    return {"key": item.get("key", ""), "segment": item.get("segment", ""),
            "schedule": item.get("schedule", "once"), "start": item.get("start") or "",
            "holdout_percent": _plain(round(holdout * 100, 4)),
            "language": item.get("language", "ja"),
            "exit_on_order": bool(item.get("exit_on_order", True)), "steps": steps}


def raw_values(form: Mapping[str, Any]) -> dict[str, Any]:
    """The form's fields as typed (shown again with the errors: nothing the user wrote is
    lost)."""
    steps = []
    for i in step_indices(form):
        p = f"step-{i}-"
        steps.append({"index": i, **{name: _text(form, p + name) for name in _STEP_FIELDS}})
    return {**{name: _text(form, name) for name in ("key", "segment", "schedule", "start",
                                                    "holdout_percent", "language",
                                                    "preview_customer")},
            "exit_on_order": _text(form, "exit_on_order") == "true", "steps": steps}


_STEP_FIELDS = ("name", "after_days", "at", "channels", "text", "subject", "html", "flex",
                "condition", "condition_segment", "coupon", "coupon_code", "coupon_unit",
                "coupon_value", "coupon_expires")


def step_indices(form: Mapping[str, Any]) -> list[int]:
    """The form's step blocks, in page order (each carries ``step=<index>``)."""
    values = form.getlist("step") if hasattr(form, "getlist") else form.get("step", [])
    found: list[int] = []
    for value in ([values] if isinstance(values, str) else values):
        if str(value).isdigit() and int(value) < 1000 and int(value) not in found:
            found.append(int(value))
    return found


def field_of(error: SegmentryError, steps: Sequence[Mapping[str, Any]]) -> str:
    """The form field a service error is about: ``key``, ``segment``, ``schedule``,
    ``start``, ``holdout``, ``step-<i>-<field>``, ``step-<i>`` (the step as a whole),
    ``steps``, or ``form``.

    >>> from segmentry.core.errors import CampaignError
    >>> e = CampaignError("…", code="campaign_coupon", params={"step": "b"})
    >>> field_of(e, [{"index": 0, "name": "a"}, {"index": 3, "name": "b"}])
    'step-3-coupon'
    """
    fields = {"campaign_name": "key", "campaign_exists": "key", "unknown_segment": "segment",
              "renamed_segment": "segment", "campaign_schedule": "schedule",
              "campaign_holdout": "holdout"}
    if error.code in fields:
        return fields[error.code]
    params = error.params
    if error.code == "campaign_time" and "step" not in params:
        at = {s.get("at"): s["index"] for s in steps}
        return f"step-{at[params['text']]}-at" if params.get("text") in at else "start"
    if error.code == "campaign_condition":
        for s in steps:
            if _condition(s) == params.get("text"):
                return f"step-{s['index']}-condition"
    by_name = {s.get("name"): s["index"] for s in reversed(steps)}
    index = by_name.get(params.get("step"))
    if index is None:
        return "steps" if error.code == "campaign_steps" else "form"
    part = {"campaign_coupon": "coupon"}.get(error.code, str(params.get("field", "")))
    return f"step-{index}-{part}" if part else f"step-{index}"


def _condition(step: Mapping[str, Any]) -> str | None:
    if "condition_segment" in step and step.get("condition") == "in_segment":
        return f"in_segment:{step['condition_segment']}"
    return step.get("condition") or None


def _text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) and name.rpartition("-")[2] not in {
        "text", "subject", "html", "flex"} else (value if isinstance(value, str) else "")


def _plain(value: object) -> str:
    """A number as the form shows it: 10, not 10.0; nothing for None."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
