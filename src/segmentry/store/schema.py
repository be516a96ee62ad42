"""Every table of the state store, on ONE :data:`metadata` (what the migrations build and
``alembic check`` compares against; see :mod:`segmentry.store.migrate`).

By aggregate:

- segments: ``segments``, ``segment_versions``, ``segment_metrics``, ``segment_former_keys``,
  ``segment_folders``, ``unclaimed_memberships``;
- runs: ``runs``, ``run_stages``;
- erasures: ``erasures``;
- accounts: ``web_users``, ``web_sessions``, ``api_tokens``, ``login_attempts``;
- Shopify: ``shopify_sync_state``, ``shopify_tag_bindings``, ``shopify_managed_tags``,
  ``shopify_sync_jobs`` / ``shopify_sync_items`` (tag-sync jobs), ``shopify_audit_log``,
  ``shopify_webhooks`` (the webhook queue);
- messages: ``sends``, ``outbox`` (every message planned before it is delivered),
  ``unsubscriptions``;
- outgoing webhooks: ``webhook_receivers``, ``webhook_deliveries``;
- LINE: ``line_rich_menu_links``;
- campaigns: ``campaigns``, ``campaign_steps``, ``campaign_entries`` (each customer's place),
  ``campaign_cohorts`` (one per step sent in a pass), ``campaign_assignments`` (treated or
  holdout, per step: what the measurement reads); engagement: ``line_unit_statistics``
  (LINE's figures per campaign step), ``email_clicks`` (opt-in link clicks).

Repositories beside this module read and write them per aggregate (:mod:`.segment_records`,
:mod:`.runs`, :mod:`.erasures`, :mod:`.accounts`, :mod:`.folders`, :mod:`.tag_bindings`,
:mod:`.tag_jobs`, :mod:`.sync_marks`, :mod:`.outbox`, :mod:`.webhook_deliveries`,
:mod:`.rich_menu_links`, :mod:`.campaigns`, :mod:`.engagement`); the modules not yet moved to one
(:mod:`segmentry.connectors.shopify.webhook_queue`, ...) import the table objects from here.
None creates or alters a table: opening the store brings it to this layout
(:func:`segmentry.store.connection.open_state_store`).

>>> len(metadata.tables), sorted(metadata.tables)[:3]
(35, ['api_tokens', 'campaign_assignments', 'campaign_cohorts'])
"""

from __future__ import annotations

import sqlalchemy as sa

from segmentry.core.errors import ERROR_FIELDS

__all__ = [
    "METRIC_TEXT_COLUMNS",
    "REVISION",
    "TABLES",
    "api_tokens",
    "campaign_assignments",
    "campaign_cohorts",
    "campaign_entries",
    "campaign_steps",
    "campaigns",
    "coupon_codes",
    "coupon_discounts",
    "email_clicks",
    "erasures",
    "former_keys",
    "line_rich_menu_links",
    "line_unit_statistics",
    "login_attempts",
    "metadata",
    "outbox",
    "run_stages",
    "runs",
    "segment_folders",
    "segment_metrics",
    "segment_versions",
    "segments",
    "sends",
    "shopify_audit_log",
    "shopify_managed_tags",
    "shopify_sync_items",
    "shopify_sync_jobs",
    "shopify_sync_state",
    "shopify_tag_bindings",
    "shopify_webhooks",
    "unclaimed_memberships",
    "unsubscriptions",
    "web_sessions",
    "web_users",
    "webhook_deliveries",
    "webhook_receivers",
]

# The newest migration (segmentry/store/migrations/versions): the one that builds this layout.
# A store at it opens without Alembic; test_migrations checks it is the migrations' head.
REVISION = "0009_engagement"

# NOTE: no naming convention: stores made before the migrations have their constraints under
# the engines' own names, and the baseline adopts them as they are.
metadata = sa.MetaData()

# --- segments (segmentry.store.segment_records) --------------------------------------------

segments = sa.Table(
    "segments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("version", sa.Integer, nullable=False),  # the current version
    # Key of the current version's rows in the warehouse's membership table (NULL until
    # computed; see segmentry.analytics.membership).
    sa.Column("membership_key", sa.String(200)),
    # Last day the membership and metrics are complete for.
    sa.Column("computed_through", sa.Date),
    sa.Column("history_start", sa.Date),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    # What people read (any text, e.g. 美容液リピーター); ``name`` is the segment's key, used in
    # URLs, tags, the CLI and the API (see segmentry.app.segment_names).
    sa.Column("display_name", sa.String(200), nullable=False),
    sa.Index("segments_display_name", "display_name", unique=True),
)

segment_versions = sa.Table(
    "segment_versions",
    metadata,
    sa.Column("segment_id", sa.Integer, sa.ForeignKey("segments.id", ondelete="CASCADE")),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("query", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.PrimaryKeyConstraint("segment_id", "version"),
)

# Money and ratios are stored as exact decimal strings: SQLite has no decimal type.
METRIC_TEXT_COLUMNS = (
    "repeat_rate",
    "ltv",
    "aov",
    "avg_orders",
    "purchase_interval",
    "revenue",
)
segment_metrics = sa.Table(
    "segment_metrics",
    metadata,
    sa.Column("segment_id", sa.Integer, sa.ForeignKey("segments.id", ondelete="CASCADE")),
    sa.Column("day", sa.Date, nullable=False),
    sa.Column("customers", sa.Integer, nullable=False),
    *(sa.Column(name, sa.String(40)) for name in METRIC_TEXT_COLUMNS),
    sa.Column("orders", sa.Integer, nullable=False),
    sa.Column("joined", sa.Integer, nullable=False),
    sa.Column("left", sa.Integer, nullable=False),
    sa.PrimaryKeyConstraint("segment_id", "day"),
)

# Keys segments had before they were renamed (segmentry segments edit NAME --key NEW): an old
# address, command or API call is told the new key instead of "no such segment".
former_keys = sa.Table(
    "segment_former_keys",
    metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("segment_id", sa.Integer, sa.ForeignKey("segments.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("renamed_at", sa.DateTime, nullable=False),
)

# A shop's own grouping of its segments (segmentry.web.folders): one folder per segment or none.
segment_folders = sa.Table(
    "segment_folders",
    metadata,
    sa.Column(
        "segment_id",
        sa.Integer,
        sa.ForeignKey("segments.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("folder", sa.String(100), nullable=False),
)

# Membership keys that may have rows in the warehouse's membership table but that no segment
# points to: a version being computed (listed before its first row is written, unlisted in the
# transaction that points a segment to it) or one replaced or removed (listed in that
# transaction, unlisted once its rows are deleted). A key still listed when the next write starts
# is left over from a killed process; see segmentry.app.segments.SegmentBook.forget_unclaimed.
unclaimed_memberships = sa.Table(
    "unclaimed_memberships",
    metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("since", sa.DateTime, nullable=False),
)

# --- runs (segmentry.store.runs) ------------------------------------------------------------

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("day", sa.Date, nullable=False),
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("finished_at", sa.DateTime),
    sa.Column("status", sa.String(20), nullable=False),  # running, succeeded, failed
    sa.Column("error", sa.Text),
    sa.Column("holder", sa.String(200), nullable=False, default=""),
    # The error again, to show in the reader's language (segmentry.core.errors.error_record); rows
    # stored before have the English ``error`` only.
    *(sa.Column(name, sa.Text) for name in ERROR_FIELDS),
)

run_stages = sa.Table(
    "run_stages",
    metadata,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE")),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("stage", sa.String(50), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("seconds", sa.Float, nullable=False),
    sa.Column("detail", sa.Text, nullable=False, default=""),
    sa.PrimaryKeyConstraint("run_id", "position"),
)

# --- erasures (segmentry.store.erasures) ----------------------------------------------------

# Customers erased (Shopify's customers/redact): recorded when the ledger's values are cleared;
# ``finished_at`` once no copy is left in the warehouse's old blocks or the state store's log.
erasures = sa.Table(
    "erasures",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("shop_id", sa.String(200), nullable=False),
    sa.Column("customer_id", sa.String(200), nullable=False),
    sa.Column("requested_at", sa.DateTime, nullable=False),
    sa.Column("finished_at", sa.DateTime),
)

# --- accounts (segmentry.store.accounts) ----------------------------------------------------

web_users = sa.Table(
    "web_users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("shop_id", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

web_sessions = sa.Table(
    "web_sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("web_users.id", ondelete="CASCADE")),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=False),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("web_users.id", ondelete="CASCADE")),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("prefix", sa.String(12), nullable=False),  # shown in lists: "sgt_AbC1…"
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("last_used_at", sa.DateTime),
    sa.Column("revoked_at", sa.DateTime),
)

# Failed sign-ins, per account ("email:<address>") and per client ("client:<ip>"): in the
# state store, so neither a restart nor a second worker resets them.
login_attempts = sa.Table(
    "login_attempts",
    metadata,
    sa.Column("key", sa.String(400), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("window_start", sa.DateTime, nullable=False),
    sa.Column("lockouts", sa.Integer, nullable=False),
    sa.Column("locked_until", sa.DateTime),
)

# --- Shopify (segmentry.connectors.shopify, segmentry.activation.shopify) -------------------

# High-water marks of the incremental sync, per resource.
shopify_sync_state = sa.Table(
    "shopify_sync_state",
    metadata,
    sa.Column("resource", sa.String(50), primary_key=True),
    sa.Column("high_water", sa.String(40)),  # ISO UTC updatedAt of the newest row read
    sa.Column("synced_at", sa.DateTime),
)

# Which segment is pushed to Shopify as which customer tag.
shopify_tag_bindings = sa.Table(
    "shopify_tag_bindings",
    metadata,
    sa.Column("segment", sa.String(200), primary_key=True),
    sa.Column("tag", sa.String(255), nullable=False),
    sa.Column("create_shopify_segment", sa.Boolean, nullable=False, default=False),
    sa.Column("shopify_segment_id", sa.String(200)),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

# Every tag segmentry manages (a tag not listed is never touched).
shopify_managed_tags = sa.Table(
    "shopify_managed_tags",
    metadata,
    sa.Column("tag", sa.String(255), primary_key=True),
    sa.Column("segment", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("retired_at", sa.DateTime),  # set when the binding moved to another tag
)

# A tag sync's plan, one item per customer write, each marked done as Shopify confirms it, so a
# crashed sync resumes without repeating writes.
shopify_sync_jobs = sa.Table(
    "shopify_sync_jobs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("segment", sa.String(200), nullable=False),
    sa.Column("tag", sa.String(255), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # running, succeeded, failed
    sa.Column("adds", sa.Integer, nullable=False, default=0),
    sa.Column("removes", sa.Integer, nullable=False, default=0),
    sa.Column("error", sa.Text),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("finished_at", sa.DateTime),
    # The error again, to show in the reader's language (segmentry.core.errors.error_record).
    *(sa.Column(name, sa.Text) for name in ERROR_FIELDS),
)

shopify_sync_items = sa.Table(
    "shopify_sync_items",
    metadata,
    sa.Column("job_id", sa.Integer, sa.ForeignKey("shopify_sync_jobs.id", ondelete="CASCADE")),
    sa.Column("customer_id", sa.String(100), nullable=False),
    sa.Column("action", sa.String(10), nullable=False),  # add, remove
    sa.Column("tags", sa.Text, nullable=False),  # comma-separated
    sa.Column("status", sa.String(20), nullable=False),  # pending, done, failed
    sa.Column("result_tags", sa.Text),  # the customer's tags after the write (comma-separated)
    sa.Column("error", sa.Text),
    sa.PrimaryKeyConstraint("job_id", "customer_id", "action"),
)

# Every tag change segmentry made (``segmentry sync log``).
shopify_audit_log = sa.Table(
    "shopify_audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("job_id", sa.Integer),
    sa.Column("segment", sa.String(200)),
    sa.Column("customer_id", sa.String(100)),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("tags", sa.Text, nullable=False, default=""),
    sa.Column("result", sa.String(20), nullable=False),  # ok, failed
    sa.Column("detail", sa.Text, nullable=False, default=""),
)

# Received webhooks, by webhook id (deduplication and the work queue: ``pending`` until applied,
# with ``attempts``, ``next_attempt_at`` and ``last_error`` while a busy warehouse makes it wait;
# ``failed`` when its payload can never be applied).
shopify_webhooks = sa.Table(
    "shopify_webhooks",
    metadata,
    sa.Column("webhook_id", sa.String(100), primary_key=True),
    sa.Column("topic", sa.String(100), nullable=False),
    sa.Column("shop", sa.String(255), nullable=False, default=""),
    sa.Column("event_id", sa.String(100)),
    sa.Column("triggered_at", sa.String(40)),
    sa.Column("received_at", sa.DateTime, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # pending, applied, failed
    sa.Column("body", sa.LargeBinary),  # cleared once applied (it may hold personal data)
    sa.Column("error", sa.Text),  # why it failed for good (status failed)
    sa.Column("attempts", sa.Integer, nullable=False, default=0),  # tries that had to wait
    sa.Column("next_attempt_at", sa.DateTime),  # NULL: due now
    sa.Column("last_error", sa.Text),  # why the last try had to wait
    sa.Column("applied_at", sa.DateTime),
    sa.Index("shopify_webhooks_due", "status", "next_attempt_at"),
)

# --- messages (segmentry.store.outbox) ----------------------------------------------------

# A send: one message (template) to one segment over one channel. ``key`` makes asking twice
# for the same send find the first one instead of sending again.
sends = sa.Table(
    "sends",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("key", sa.String(200), nullable=False, unique=True),
    sa.Column("segment", sa.String(200), nullable=False),
    sa.Column("channel", sa.String(20), nullable=False),  # line, email
    sa.Column("language", sa.String(10), nullable=False),
    sa.Column("subject", sa.Text),  # e-mail only (a template)
    sa.Column("body", sa.Text, nullable=False),  # the template
    sa.Column("html", sa.Text),  # e-mail only (a template)
    sa.Column("flex", sa.Text),  # LINE only: a Flex message's contents (a JSON template)
    sa.Column("transactional", sa.Boolean, nullable=False, default=False),
    sa.Column("status", sa.String(20), nullable=False),  # delivering, finished
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("finished_at", sa.DateTime),
)

# One row per (send, customer, channel), written before anything is delivered: ``pending`` →
# ``sending`` (just before the platform is asked) → ``delivered`` / ``failed``; ``skipped``
# rows say why a member got nothing (``reason``). ``batch`` and ``retry_key`` are fixed when
# the row is planned, so a rerun after a crash asks the platform with the same key.
outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("send_id", sa.Integer, sa.ForeignKey("sends.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("customer_id", sa.String(100), nullable=False),
    sa.Column("channel", sa.String(20), nullable=False),
    sa.Column("address", sa.String(320)),  # LINE user id or e-mail address
    sa.Column("subject", sa.Text),
    sa.Column("body", sa.Text),  # rendered
    sa.Column("html", sa.Text),  # rendered
    sa.Column("flex", sa.Text),  # rendered (JSON)
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("reason", sa.String(60)),  # why skipped or failed (a code)
    sa.Column("detail", sa.Text),  # the platform's words, when it refused
    sa.Column("batch", sa.Integer, nullable=False, default=0),
    sa.Column("retry_key", sa.String(64), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("not_before", sa.DateTime),  # quiet hours: not delivered before (UTC)
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.Column("delivered_at", sa.DateTime),
    sa.UniqueConstraint("send_id", "customer_id", "channel", name="outbox_once"),
    sa.Index("outbox_due", "send_id", "status", "batch"),
    sa.Index("outbox_recent", "customer_id", "channel", "delivered_at"),
)

# Addresses unsubscribed through segmentry's links (lower case): never sent marketing e-mail
# again, whatever the source data says; ``written_back_at`` once Shopify's consent is updated.
unsubscriptions = sa.Table(
    "unsubscriptions",
    metadata,
    sa.Column("email", sa.String(320), primary_key=True),
    sa.Column("customer_id", sa.String(100), nullable=False),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("how", sa.String(20), nullable=False),  # page, one_click
    sa.Column("written_back_at", sa.DateTime),
)

# --- outgoing webhooks (segmentry.store.webhook_deliveries) ---------------------------------

# Each [[webhooks]] receiver, from the first time it was seen: sends finished before are not
# reported to it.
webhook_receivers = sa.Table(
    "webhook_receivers",
    metadata,
    sa.Column("name", sa.String(50), primary_key=True),
    sa.Column("since", sa.DateTime, nullable=False),
)

# Every signed POST, recorded (payload included) before it is sent; ``id`` is the delivery id
# the receiver sees (X-Segmentry-Delivery), the same on every attempt.
webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("receiver", sa.String(50), nullable=False),
    sa.Column("event", sa.String(20), nullable=False),  # membership, sends
    sa.Column("subject", sa.String(100), nullable=False),  # the day, or "send <id>"
    sa.Column("part", sa.Integer, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # pending, delivered, failed
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("http_status", sa.Integer),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.Column("delivered_at", sa.DateTime),
    sa.UniqueConstraint("receiver", "event", "subject", "part", name="webhook_delivery_once"),
    sa.Index("webhook_deliveries_due", "receiver", "status"),
)

# --- LINE rich menus (segmentry.store.rich_menu_links) --------------------------------------

# The rich menu segmentry linked to each LINE user (and for which segment); a user not listed
# has none from segmentry.
line_rich_menu_links = sa.Table(
    "line_rich_menu_links",
    metadata,
    sa.Column("user_id", sa.String(64), primary_key=True),
    sa.Column("customer_id", sa.String(100), nullable=False),
    sa.Column("segment", sa.String(200), nullable=False),
    sa.Column("rich_menu_id", sa.String(100), nullable=False),
    sa.Column("linked_at", sa.DateTime, nullable=False),
)

# --- campaigns (segmentry.store.campaigns) --------------------------------------------------

# A campaign: a segment's members (all at once at ``start_at``: ``once``; or each new joiner:
# ``on_join``) walked through its steps. ``holdout``: the share held out (0 ≤ h < 1).
# ``through_day``: the last day whose joiners have entered.
campaigns = sa.Table(
    "campaigns",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("key", sa.String(200), nullable=False, unique=True),
    sa.Column("segment", sa.String(200), nullable=False),
    sa.Column("schedule", sa.String(20), nullable=False),  # once, on_join
    sa.Column("start_at", sa.DateTime),  # once: when (UTC)
    sa.Column("holdout", sa.Float, nullable=False),
    sa.Column("language", sa.String(10), nullable=False),
    sa.Column("exit_on_order", sa.Boolean, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # active, paused
    sa.Column("since_day", sa.Date, nullable=False),  # on_join: joins after this day count
    sa.Column("through_day", sa.Date),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

# A campaign's steps, ordered by when they fall due (``after_days``, then ``at_time``). ``name``
# is the step's identity across edits; a removed step keeps its row (``removed``) so that what
# was sent under it stays readable.
campaign_steps = sa.Table(
    "campaign_steps",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("campaign_id", sa.Integer, sa.ForeignKey("campaigns.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("after_days", sa.Integer, nullable=False),
    sa.Column("at_time", sa.String(5)),  # HH:MM shop time, or none: the entry's own time
    sa.Column("channels", sa.String(100), nullable=False),  # "line,email": first that reaches
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("subject", sa.Text),
    sa.Column("html", sa.Text),
    sa.Column("flex", sa.Text),
    sa.Column("condition", sa.String(250)),  # not_ordered, in_segment:<key>
    sa.Column("removed", sa.Boolean, nullable=False),
    sa.Column("coupon", sa.Text),  # JSON of store.coupons.Coupon, or none
    sa.UniqueConstraint("campaign_id", "name", name="campaign_step_name"),
)

# Each customer's place in a campaign: entered once; ``done_until`` is when the last step they
# passed was due (sent or not), so an edit never sends them a step they are already past.
campaign_entries = sa.Table(
    "campaign_entries",
    metadata,
    sa.Column("campaign_id", sa.Integer, sa.ForeignKey("campaigns.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("customer_id", sa.String(100), primary_key=True),
    sa.Column("group", sa.String(10), nullable=False),  # treated, holdout
    sa.Column("entered_at", sa.DateTime, nullable=False),
    sa.Column("last_step", sa.String(100)),
    sa.Column("done_until", sa.DateTime),
    sa.Column("status", sa.String(20), nullable=False),  # active, finished, exited
    sa.Column("exit_reason", sa.String(30)),  # ordered, left_segment, unsubscribed
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.Index("campaign_entries_status", "campaign_id", "status"),
)

# One step taken by a set of customers in one pass: its treated members' sends share
# ``send_key`` (one send per channel: ``<send_key>:<channel>``); ``sent_at`` once handed on.
campaign_cohorts = sa.Table(
    "campaign_cohorts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("campaign_id", sa.Integer, sa.ForeignKey("campaigns.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("step", sa.String(100), nullable=False),
    sa.Column("day", sa.Date, nullable=False),
    sa.Column("send_key", sa.String(200), nullable=False, unique=True),
    sa.Column("start_at", sa.DateTime, nullable=False),  # when sent, or would have been (UTC)
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("sent_at", sa.DateTime),
)

# Who took which step, treated or held out, from when: the rows the measurement reads.
campaign_assignments = sa.Table(
    "campaign_assignments",
    metadata,
    sa.Column("campaign_id", sa.Integer, sa.ForeignKey("campaigns.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("step", sa.String(100), primary_key=True),
    sa.Column("customer_id", sa.String(100), primary_key=True),
    sa.Column("cohort_id", sa.Integer, sa.ForeignKey("campaign_cohorts.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("group", sa.String(10), nullable=False),  # treated, holdout
    sa.Column("start_at", sa.DateTime, nullable=False),
    sa.Index("campaign_assignments_cohort", "cohort_id"),
)

# A campaign step's Shopify code discount (store/coupons.py): recorded ``creating`` before
# ``discountCodeBasicCreate`` is asked and ``created`` with its id after, so a rerun after a
# crash in between looks the code up instead of creating a second discount.
coupon_discounts = sa.Table(
    "coupon_discounts",
    metadata,
    sa.Column("campaign", sa.String(200), primary_key=True),
    sa.Column("step", sa.String(100), primary_key=True),
    sa.Column("kind", sa.String(10), nullable=False),  # shared, unique
    sa.Column("code", sa.String(255), nullable=False),
    sa.Column("discount_id", sa.String(200)),
    sa.Column("status", sa.String(10), nullable=False),  # creating, created
    sa.Column("ends_at", sa.DateTime),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

# Each recipient's own code of a ``unique`` coupon: ``adding`` before its bulk creation is asked
# (``creation_id`` once Shopify named it), then ``added`` or ``failed`` (``detail``: why).
coupon_codes = sa.Table(
    "coupon_codes",
    metadata,
    sa.Column("campaign", sa.String(200), primary_key=True),
    sa.Column("step", sa.String(100), primary_key=True),
    sa.Column("customer_id", sa.String(100), primary_key=True),
    sa.Column("code", sa.String(255), nullable=False),
    sa.Column("status", sa.String(10), nullable=False),  # adding, added, failed
    sa.Column("creation_id", sa.String(200)),
    sa.Column("detail", sa.Text),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.Index("coupon_codes_status", "campaign", "step", "status"),
)

# LINE's per-unit statistics of a campaign step (store/engagement.py): what
# ``GET /v2/bot/insight/message/event/aggregation`` answered for the step's aggregation unit over
# ``day``…``day_to`` (LINE's days, UTC+9; a period is at most 31 days). Read again, a period's row
# is replaced, never added to. NULL: LINE did not report the figure (fewer than 20).
line_unit_statistics = sa.Table(
    "line_unit_statistics",
    metadata,
    sa.Column("campaign", sa.String(200), primary_key=True),
    sa.Column("step", sa.String(100), primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("day_to", sa.Date, nullable=False),
    sa.Column("unit", sa.String(30), nullable=False),
    sa.Column("unique_impression", sa.Integer),
    sa.Column("unique_click", sa.Integer),
    sa.Column("unique_media_played", sa.Integer),
    sa.Column("detail", sa.Text, nullable=False),  # LINE's answer, as JSON
    sa.Column("read_at", sa.DateTime, nullable=False),
)

# A customer's first click on one link of one e-mail send, through the web app's redirect
# (``[email] track_clicks``; store/engagement.py): recorded once, never counted again.
email_clicks = sa.Table(
    "email_clicks",
    metadata,
    sa.Column("send_id", sa.Integer, sa.ForeignKey("sends.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("customer_id", sa.String(100), primary_key=True),
    sa.Column("link", sa.String(64), primary_key=True),  # sha256 of the URL, hex
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("clicked_at", sa.DateTime, nullable=False),
)

TABLES = list(metadata.sorted_tables)
