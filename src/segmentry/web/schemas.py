"""The JSON API's shapes. Each page's context is one of these models, so every HTML page and
its JSON twin come from the same object (the OpenAPI schema at ``/openapi.json`` lists them).

Money and ratios are exact decimals, sent as strings (``"1234.50"``, ``"0.3125"``); days are
ISO dates in the shop's time zone; timestamps are UTC.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field

__all__ = [
    "CampaignCouponOut",
    "CampaignDayOut",
    "CampaignEstimate",
    "CampaignGroupOut",
    "CampaignLiftOut",
    "CampaignList",
    "CampaignReportOut",
    "CampaignSummaryOut",
    "ErrorBody",
    "Folder",
    "JobList",
    "JobOut",
    "JourneyOut",
    "LanguageIn",
    "MemberPage",
    "MetricRow",
    "Overview",
    "PasswordChange",
    "Preview",
    "PreviewRequest",
    "RunOut",
    "RunStage",
    "ScheduleIn",
    "ScheduleOut",
    "SegmentCreate",
    "SegmentDetail",
    "SegmentList",
    "SegmentSummary",
    "SegmentUpdate",
    "SettingsOut",
    "ShopifyConnect",
    "ShopifyOut",
    "TagPlanChange",
    "TagPlanOut",
    "TagSyncAudit",
    "TagSyncJob",
    "TagSyncOut",
    "TagSyncRequest",
    "TemplateOut",
    "TokenCreate",
    "TokenCreated",
    "TokenOut",
    "UserCreate",
    "UserOut",
]

def _utc(value: dt.datetime) -> dt.datetime:
    """The state store keeps naive UTC; the API says so (RFC 3339 needs an offset)."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


UtcDatetime = Annotated[dt.datetime, AfterValidator(_utc)]

_KEY_TEXT = ("The segment's key: used in URLs, Shopify tags, the CLI and the API (ASCII letters, "
             "digits, '-', '_', '.').")
_DISPLAY_NAME_TEXT = "The name people read: any text, e.g. 美容液リピーター (unique in the shop)."
_QUERY = Field(min_length=1, max_length=10_000, description="A query in the segment language.")


class Error(BaseModel):
    code: str = Field(description="Stable error code, e.g. unknown_attribute, unknown_segment.")
    message: str
    hint: str | None = None
    line: int | None = None
    column: int | None = None
    end_column: int | None = None
    suggestion: str | None = None
    details: list[dict[str, Any]] | None = None


_ERROR_CODE_TEXT = ("The failure's stable error code (None for a failure stored by an older "
                    "release, which has its English error only).")
_ERROR_DETAIL_TEXT = ("The failure as the API's errors are (code, message, hint), in the reader's "
                      "language (the language cookie, else Accept-Language).")


class ErrorBody(BaseModel):
    """Every error the API returns, whatever the status."""

    error: Error


class SegmentSummary(BaseModel):
    name: str = Field(description="The segment's key (kept for compatibility; see key).")
    description: str = ""
    version: int
    folder: str | None = None
    query: str
    day: dt.date | None = None
    customers: int = 0
    repeat_rate: Decimal | None = None
    ltv: Decimal | None = None
    aov: Decimal | None = None
    revenue_30d: Decimal | None = None
    change_30d: int | None = Field(None, description="Customers now minus 30 days ago.")
    sparkline: list[int] = Field(default_factory=list, description="Customers, last 90 days.")
    key: str = Field("", description=_KEY_TEXT)
    display_name: str = Field("", description=_DISPLAY_NAME_TEXT)


class SegmentList(BaseModel):
    day: dt.date
    sort: str
    order: str
    folder: str | None = None
    folders: list[str]
    segments: list[SegmentSummary]


class MetricRow(BaseModel):
    day: dt.date
    customers: int
    repeat_rate: Decimal | None = None
    ltv: Decimal | None = None
    aov: Decimal | None = None
    avg_orders: Decimal | None = None
    purchase_interval: Decimal | None = None
    revenue: Decimal | None = None
    orders: int = 0
    joined: int = 0
    left: int = 0


class TagSyncJob(BaseModel):
    """The last sync job: writes planned and writes Shopify confirmed."""

    id: int
    status: str = Field(description="running, succeeded or failed.")
    created_at: UtcDatetime
    finished_at: UtcDatetime | None = None
    adds: int = Field(description="Customers to tag (planned).")
    removes: int = Field(description="Customers to untag (planned).")
    adds_done: int = 0
    removes_done: int = 0
    failed: int = Field(0, description="Writes Shopify refused.")
    error: str | None = Field(None, description="Why the job failed (English).")
    error_code: str | None = Field(None, description=_ERROR_CODE_TEXT)
    error_detail: Error | None = Field(None, description=_ERROR_DETAIL_TEXT)
    # The stored error (segmentry.core.errors.error_record) that error_detail is made from.
    error_template: str | None = Field(None, exclude=True)
    error_hint: str | None = Field(None, exclude=True)
    error_params: str | None = Field(None, exclude=True)


class TagSyncAudit(BaseModel):
    at: UtcDatetime
    customer_id: str | None = None
    action: str = Field(description="tags_add or tags_remove.")
    tags: str
    result: str = Field(description="ok or failed.")


class TagSyncOut(BaseModel):
    """The segment's Shopify tag sync (``segmentry segments sync``)."""

    tag: str = Field(description="The customer tag segmentry manages for this segment.")
    retired_tags: list[str] = Field(default_factory=list)
    shopify_segment_id: str | None = Field(
        None, description="The Shopify segment matching the tag, when one was created.")
    bound_at: UtcDatetime
    last_job: TagSyncJob | None = None
    audit_entries: int = Field(description="Tag changes in the audit log for this segment.")
    recent_audit: list[TagSyncAudit] = Field(default_factory=list,
                                             description="The newest audit-log entries.")


class SegmentDetail(BaseModel):
    segment: SegmentSummary
    history_start: dt.date | None = None
    computed_through: dt.date | None = None
    created_at: UtcDatetime
    updated_at: UtcDatetime
    metrics: list[MetricRow]
    tag_sync: TagSyncOut | None = Field(
        None, description="Shopify tag-sync status; null when the segment is not synced to a "
                          "tag or Shopify is not connected.")


class Share(BaseModel):
    value: str
    customers: int
    share: float
    label: str = Field("", description="How the value reads (a product type slug as words).")


class OrderPanels(BaseModel):
    customers: int = Field(description="Members who placed this order.")
    products: list[Share] = Field(default_factory=list)
    product_types: list[Share] = Field(default_factory=list)
    channels: list[Share] = Field(default_factory=list)


class GapBucketOut(BaseModel):
    days: str
    customers: int


class GapOut(BaseModel):
    buckets: list[GapBucketOut]
    median: float | None = None


class JourneyOut(BaseModel):
    day: dt.date
    members: int
    orders: dict[str, OrderPanels] = Field(description="'1' and '2': the 1st and 2nd order.")
    days_to_second_order: GapOut


class Member(BaseModel):
    customer_id: str
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None


class MemberPage(BaseModel):
    segment: str
    day: dt.date
    total: int = Field(description="Members matching the search.")
    page: int
    per_page: int
    q: str = ""
    members: list[Member]


class PreviewRequest(BaseModel):
    query: str = _QUERY


class Preview(BaseModel):
    """A valid query's live count and a few sample members on the current day."""

    day: dt.date
    count: int
    sample: list[Member]
    seconds: float
    read_as: str | None = Field(None, description="The query as read, when full-width forms or "
                                "yen amounts were made plain (see the segment language).")
    full_width_text: list[str] = Field(
        default_factory=list, description="Quoted text with full-width letters or digits, "
        "matched exactly as written (a store's tags and codes rarely are).")
    no_events: list[str] = Field(
        default_factory=list, description="Event functions of the query (shopify_email.opened, "
        "storefront.product_viewed, …) of which the store has recorded no event yet: MATCHES "
        "holds for no one, NOT MATCHES for everyone.")


class SegmentCreate(BaseModel):
    """Give ``display_name`` (any text) and optionally ``key`` (derived when absent).
    ``name`` is the older single name: the key when it can be one, else the display name."""

    name: str | None = Field(None, min_length=1, max_length=100,
                             description="Older single name: the key when it can be one, else "
                                         "the display name (the key is then derived).")
    key: str | None = Field(None, min_length=1, max_length=100, description=_KEY_TEXT)
    display_name: str | None = Field(None, min_length=1, max_length=100,
                                     description=_DISPLAY_NAME_TEXT)
    query: str = _QUERY
    description: str = Field("", max_length=2000)
    folder: str = Field("", max_length=100)


class SegmentUpdate(BaseModel):
    """What to change; a field left out stays as it is."""

    query: str | None = Field(None, min_length=1, max_length=10_000,
                              description="A new query: saved as a new version, history "
                                          "recomputed.")
    description: str | None = Field(None, max_length=2000)
    display_name: str | None = Field(None, min_length=1, max_length=100,
                                     description=_DISPLAY_NAME_TEXT)
    key: str | None = Field(None, min_length=1, max_length=100,
                            description="A new key: renames the segment (history, folder, tag "
                                        "binding and references from other segments are kept; "
                                        "the Shopify tag stays). The old key then answers 404 "
                                        "with code renamed_segment, naming the new one.")


class Folder(BaseModel):
    folder: str = Field("", max_length=100, description="Empty: out of any folder.")


class TemplateOut(BaseModel):
    name: str
    title: str
    description: str
    query: str


class RunStage(BaseModel):
    stage: str
    status: str
    seconds: float
    detail: str = ""


class RunOut(BaseModel):
    id: int
    day: dt.date
    status: str
    started_at: UtcDatetime
    finished_at: UtcDatetime | None = None
    error: str | None = Field(None, description="Why the run failed (English).")
    seconds: float | None = None
    stages: list[RunStage]
    error_code: str | None = Field(None, description=_ERROR_CODE_TEXT)
    error_detail: Error | None = Field(None, description=_ERROR_DETAIL_TEXT)
    # The stored error (segmentry.core.errors.error_record) that error_detail is made from.
    error_template: str | None = Field(None, exclude=True)
    error_hint: str | None = Field(None, exclude=True)
    error_params: str | None = Field(None, exclude=True)


class KPI(BaseModel):
    key: str
    value: Decimal | None = None
    previous: Decimal | None = Field(None, description="The same metric 30 days earlier.")


class Overview(BaseModel):
    shop: str
    day: dt.date
    kpis: list[KPI]
    trend: list[MetricRow] = Field(description="Store metrics, one row per day (90 days).")
    top_growing: list[SegmentSummary]
    last_run: RunOut | None = None
    next_run: UtcDatetime | None = Field(
        default=None, description="When `segmentry serve` runs the daily pipeline next.")


class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str
    created_at: UtcDatetime
    last_used_at: UtcDatetime | None = None
    revoked_at: UtcDatetime | None = None


class TokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)


class TokenCreated(BaseModel):
    id: int | None = None
    name: str
    token: str = Field(description="Shown once; send it as `Authorization: Bearer <token>`.")


class SourceOut(BaseModel):
    kind: str = Field(description="shopify, shopify_csv, generic or parquet.")
    path: str
    customers_path: str | None = Field(None, description="shopify_csv: the customers file.")
    rows: str | None = Field(None, description="generic: one row per `order` or `line`.")
    shop: str | None = Field(None, description="shopify: the shop domain.")


class SettingsOut(BaseModel):
    shop_id: str
    shop_name: str
    timezone: str
    currency: str
    subtract_refunds: bool
    engine: str
    state_store: str
    sources: list[SourceOut]
    tokens: list[TokenOut]
    default_language: str = Field(description="ja or en: pages for browsers that ask for "
                                  "neither.")
    schedule: ScheduleIn
    shopify: ShopifyOut | None = Field(description="null: not connected to Shopify.")
    users: list[UserOut]


class ValueOption(BaseModel):
    value: str
    label: str | None = Field(None, description="What the value stands for (a product's title).")


class ValueList(BaseModel):
    """The store's values of an attribute or function argument that match a prefix."""

    attribute: str
    prefix: str
    values: list[ValueOption]
    distinct: int = Field(description="How many distinct values the store has for it in all.")


class PickerArgument(BaseModel):
    name: str
    kind: str
    description: str
    operators: list[str]
    aggregate: bool
    suggest: bool = Field(description="The store's values can be suggested (GET /api/values).")


class PickerAttribute(PickerArgument):
    values: list[str] = Field(description="The fixed set of values, if any.")


class PickerFunction(BaseModel):
    name: str
    description: str
    arguments: list[PickerArgument]


class Picker(BaseModel):
    """What the point-and-click builder offers: the query language's catalogue."""

    attributes: list[PickerAttribute]
    functions: list[PickerFunction]


class JobOut(BaseModel):
    """A background job of the server ("Run now", the scheduled run, a tag sync, a segment's
    recompute or save)."""

    id: int
    kind: str = Field(description="run, tag_sync, tag_clear, recompute, segment_add or "
                                  "segment_edit.")
    subject: str = Field("", description="The segment (key) of a tag sync, recompute or save "
                                         "(after a save that renames it: the new key).")
    trigger: str = Field(description="manual or schedule.")
    status: str = Field(description="queued, running, succeeded or failed.")
    stage: str = Field("", description="The stage under way, e.g. segments, metrics, tags.")
    done: int = Field(0, description="Steps of the stage done (for tags: writes confirmed).")
    total: int = Field(0, description="Steps of the stage in all.")
    created_at: UtcDatetime
    started_at: UtcDatetime | None = None
    finished_at: UtcDatetime | None = None
    result: str = ""
    error: str | None = Field(None, description="Why a failed job failed (English).")
    error_code: str | None = Field(None, description=_ERROR_CODE_TEXT)
    error_detail: Error | None = Field(None, description=_ERROR_DETAIL_TEXT)
    # The stored error (segmentry.core.errors.error_record) that error_detail is made from.
    error_template: str | None = Field(None, exclude=True)
    error_hint: str | None = Field(None, exclude=True)
    error_params: str | None = Field(None, exclude=True)


class JobList(BaseModel):
    """The jobs this server ran since it started (newest first) and the warm-up."""

    current: JobOut | None = Field(None, description="The job queued or running, if any.")
    jobs: list[JobOut]
    warmed_at: UtcDatetime | None = Field(
        None, description="When the day's live-count snapshot and journeys were last prepared.")
    warm_seconds: float | None = None


class ScheduleOut(BaseModel):
    """The daily run's schedule (setting ``schedule`` in segmentry.toml)."""

    enabled: bool
    time: str = Field(description="HH:MM in the shop's time zone.")
    timezone: str
    next_run: UtcDatetime | None = Field(None, description="None when off or not serving.")
    running: bool = Field(description="Whether this server runs the schedule.")


class ScheduleIn(BaseModel):
    enabled: bool = True
    time: str = Field("04:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
                      description="HH:MM (24-hour) in the shop's time zone.")


class LanguageIn(BaseModel):
    default_language: Literal["ja", "en"]


class ShopifyOut(BaseModel):
    """The Shopify connection as a live check found it."""

    shop: str
    api_version: str
    status: str = Field(description="connected, missing_scopes, invalid_token, uninstalled, "
                        "unavailable, …")
    granted: list[str] = Field(description="Scopes the token has.")
    required: list[str] = Field(description="Scopes segmentry needs.")
    missing: list[str]
    problem: str | None = None
    token_from_env: bool = Field(description="The token (with client credentials: the client "
                                 "secret) comes from the environment variable.")
    auth: str = Field(default="token", description="How the token is got: token, "
                      "client_credentials or oauth.")


class ShopifyConnect(BaseModel):
    shop: str = Field(min_length=1, max_length=255, description="my-store.myshopify.com")
    token: str = Field(min_length=1, max_length=500, description="Admin API access token.")


class UserOut(BaseModel):
    id: int
    email: str
    created_at: UtcDatetime
    you: bool = Field(description="The signed-in user.")


class UserCreate(BaseModel):
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=8, max_length=1000)


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=1, max_length=1000)
    new_password: str = Field(min_length=8, max_length=1000)


_TAG = Field(min_length=1, max_length=255, pattern=r"^[^,]*[^,\s][^,]*$",
             description="A Shopify customer tag (no commas).")


class TagSyncRequest(BaseModel):
    tag: str = _TAG
    create_shopify_segment: bool = Field(
        False, description="Also create a Shopify segment `customer_tags CONTAINS '<tag>'`.")
    adopt: bool = Field(False, description="Let segmentry manage a tag customers already carry.")


class TagPlanChange(BaseModel):
    customer_id: str
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    tags: list[str] = Field(description="Tags to add (or remove).")


class TagPlanOut(BaseModel):
    """A dry run: what a tag sync (or clearing) would change; nothing is written."""

    segment: str
    tag: str
    adds: int = Field(description="Customers the tag would be added to.")
    removes: int = Field(description="Customers managed tags would be removed from.")
    sample_adds: list[TagPlanChange]
    sample_removes: list[TagPlanChange]


# ------------------------------------------------------------------ campaigns
# Statistics are floats (intervals and p-values are not money); None where a figure does not
# exist (an empty group, no conversion to take a ratio of). docs/campaigns.md explains them.


class CampaignSummaryOut(BaseModel):
    key: str
    segment: str
    schedule: Literal["once", "on_join"]
    start_at: str | None = Field(description="once: when it was sent (UTC, ISO).")
    holdout_share: float = Field(description="The share held out (0.1 = 10 %).")
    status: str
    steps: list[str]
    treated: int = Field(description="Customers who entered, treated.")
    holdout: int = Field(description="Customers who entered, held out.")


class CampaignList(BaseModel):
    campaigns: list[CampaignSummaryOut]


class CampaignEstimate(BaseModel):
    estimate: float | None
    low: float | None = Field(description="95 % interval, low end (None: no interval).")
    high: float | None
    p_value: float | None = Field(description="None for the ratio intervals and the "
                                  "bootstrap.")
    method: str = Field(description="newcombe_hybrid_score, katz_log, welch_t, "
                        "log_ratio_delta, ratio_delta, bootstrap_studentized.")
    verdict: Literal["positive", "negative", "too_small_to_tell"]


class CampaignLiftOut(BaseModel):
    treated: float | None
    holdout: float | None
    difference: CampaignEstimate = Field(description="treated − holdout.")
    relative: CampaignEstimate = Field(description="treated ÷ holdout − 1.")
    minimum_detectable_effect: float | None = Field(
        description="The smallest difference these sizes would detect (α 0.05, power 0.8).")


class CampaignGroupOut(BaseModel):
    group: Literal["treated", "holdout"]
    customers: int
    converted: int
    conversion: float | None
    revenue: float
    revenue_per_customer: float | None
    orders: int
    orders_per_customer: float | None
    aov: float | None


class CampaignCouponOut(BaseModel):
    step: str
    kind: Literal["shared", "unique"]
    code: str = Field(description="The shared code, or the unique codes' prefix.")
    issued: int = Field(description="Customers given a code.")
    orders: int = Field(description="Orders that used one of the step's codes.")
    customers: int = Field(description="Customers who placed those orders.")


class CampaignDayOut(BaseModel):
    day: int = Field(description="Days since start (1 = the first 24 hours).")
    treated: float | None = Field(description="Revenue per customer by the end of the day.")
    holdout: float | None


class CampaignLineEngagementOut(BaseModel):
    read: bool = Field(description="LINE's figures were read (`segmentry campaigns "
                       "engagement`); false: nothing read yet.")
    unique_impressions: int | None = Field(description="People who saw the message (LINE).")
    unique_clicks: int | None = Field(description="People who opened a link in it (LINE).")
    not_reported: list[Literal["unique_impressions", "unique_clicks"]] = Field(
        description="Figures LINE did not report: fewer than 20 people (LINE's rule).")
    periods: int = Field(description="LINE periods (up to 31 days each) summed.")
    read_at: str | None = Field(description="When LINE was last asked (UTC, ISO).")


class CampaignEmailEngagementOut(BaseModel):
    tracked: bool = Field(description="Link clicks are tracked ([email] track_clicks).")
    unique_clickers: int | None = Field(description="Customers who clicked a link.")
    click_rate: float | None = Field(description="Unique clickers per delivered e-mail.")


class CampaignEngagementOut(BaseModel):
    step: str
    channel: Literal["line", "email"]
    delivered: int = Field(description="Customers the step's message reached on the channel.")
    line: CampaignLineEngagementOut | None = None
    email: CampaignEmailEngagementOut | None = None


class CampaignReportOut(BaseModel):
    campaign: str
    segment: str
    step: str | None = Field(description="None: the whole campaign, each customer from "
                             "their first step.")
    steps: list[str]
    window_days: int
    bootstrap: bool
    measured_at: str
    provisional: bool = Field(description="Some windows are still open: the levels may grow.")
    open_customers: int
    final_at: str | None = Field(description="When the last window closes (UTC, ISO).")
    groups: list[CampaignGroupOut]
    lift: dict[Literal["conversion", "revenue_per_customer", "orders_per_customer", "aov"],
               CampaignLiftOut]
    incremental_revenue: CampaignEstimate
    revenue_bootstrap: CampaignEstimate | None
    incremental_revenue_bootstrap: CampaignEstimate | None
    cumulative: list[CampaignDayOut]
    coupons: list[CampaignCouponOut] = Field(
        description="Steps with a coupon: codes issued and redemptions, read from the orders' "
                    "discount codes (beside the lift, never instead of it).")
    engagement: list[CampaignEngagementOut] = Field(
        default_factory=list,
        description="Per step and channel, what the channel reports: LINE's unique impressions "
                    "and clicks, e-mail link clickers (opt-in). Beside the lift, never instead "
                    "of it: a click is not a sale.")
