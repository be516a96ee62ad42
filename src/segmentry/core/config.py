"""Workspace settings: one typed object read from ``segmentry.toml`` (and the environment).

A workspace folder holds ``segmentry.toml``, the DuckDB warehouse ``warehouse.duckdb`` and the
SQLite state ``state.db``. Any setting can be overridden by an environment variable named
``SEGMENTRY_<SECTION>__<KEY>``, e.g. ``SEGMENTRY_WAREHOUSE__URL=postgresql://…``.

>>> s = Settings()
>>> (s.shop.timezone, s.shop.currency, s.metrics.subtract_refunds)
('Asia/Tokyo', 'JPY', True)
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import tomllib
import zoneinfo
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import tomlkit
import tomlkit.exceptions
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from segmentry.core.errors import ConfigError

__all__ = [
    "CONFIG_FILE",
    "SHOPIFY_API_VERSION",
    "CapSettings",
    "EmailSettings",
    "LineSettings",
    "MessagingSettings",
    "ModelsSettings",
    "PurchaseModel",
    "RichMenuSettings",
    "ScheduleSettings",
    "Settings",
    "ShopSettings",
    "ShopifySettings",
    "SourceSettings",
    "WebSettings",
    "WebhookSettings",
    "load",
    "save",
    "save_schedule",
    "save_section",
]

CONFIG_FILE = "segmentry.toml"
SHOPIFY_API_VERSION = "2026-10"
"""The Shopify Admin API version segmentry is built for (see
:mod:`segmentry.connectors.shopify.versions` for the support calendar)."""


class ShopSettings(BaseModel):
    id: str = Field("shop", description="Stable id of the shop (goes into every ledger row).")
    name: str = Field("My shop", description="Display name.")
    timezone: str = Field("Asia/Tokyo", description="IANA time zone; all day boundaries use it.")
    currency: str = Field("JPY", description="ISO currency code of all money amounts.")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as e:
            raise ValueError(
                f"unknown time zone {value!r} (use an IANA name like Asia/Tokyo)"
            ) from e
        return value


class WarehouseSettings(BaseModel):
    url: str = Field(
        "duckdb:///{workspace}/warehouse.duckdb",
        description="Ibis URL of the analytics engine; {workspace} is the workspace folder.",
    )
    memory_limit: str = Field(
        "3GB",
        description="DuckDB: memory it may use before spilling to disk (e.g. 3GB, 16GB).",
    )


class StateSettings(BaseModel):
    url: str = Field(
        "sqlite:///{workspace}/state.db",
        description="SQLAlchemy URL of the application state store.",
    )


class MetricsSettings(BaseModel):
    subtract_refunds: bool = Field(
        True, description="Amounts are net of refunds (total - refunded) when true."
    )


PurchaseModel = Literal["bgnbd", "pareto_nbd", "mbgnbd"]
"""The repeat-buying models the daily run can fit (``models.purchase_model``)."""


class ModelsSettings(BaseModel):
    """The predictive models (BG/NBD or another repeat-buying model, and Gamma-Gamma,
    docs/predictive.md): which one, when the daily run refits them and how the predicted CLV is
    valued.

    >>> ModelsSettings(purchase_model="pareto_nbd").purchase_model
    'pareto_nbd'
    """

    purchase_model: PurchaseModel = Field(
        "bgnbd",
        description="The repeat-buying model behind churn_probability, expected_orders_90d, "
        "predicted_clv and predicted_next_order_date: bgnbd, pareto_nbd or mbgnbd (the two "
        "last give one-time buyers a churn probability above 0).",
    )

    refit_days: int = Field(
        7, ge=0, description="Refit when the latest fit is this many days old (0: never refit)."
    )
    backfill_months: int = Field(
        12, ge=0, le=120,
        description="A first fit also fits at the last this-many month-ends, for history.",
    )
    clv_months: int = Field(12, ge=1, le=120, description="Horizon of predicted_clv in months.")
    monthly_discount: float = Field(
        0.01, ge=0, lt=1, description="Monthly discount rate applied to predicted_clv."
    )


class ScheduleSettings(BaseModel):
    """When ``segmentry serve`` runs the daily pipeline by itself (no cron needed).

    >>> ScheduleSettings().daily_run_at
    datetime.time(4, 0)
    """

    enabled: bool = Field(True, description="Run the daily pipeline from `segmentry serve`.")
    time: str = Field(
        "04:00", description="Time of day (HH:MM, 24-hour) in the shop's time zone."
    )

    @field_validator("time")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        try:
            parsed = dt.time.fromisoformat(value)
        except ValueError as e:
            raise ValueError(f"not a time of day {value!r} (use HH:MM, e.g. 04:00)") from e
        if len(value) != 5 or parsed.second or parsed.tzinfo:
            raise ValueError(f"not a time of day {value!r} (use HH:MM, e.g. 04:00)")
        return value

    @property
    def daily_run_at(self) -> dt.time:
        return dt.time.fromisoformat(self.time)


class WebSettings(BaseModel):
    """The web app (``segmentry serve``)."""

    default_language: Literal["ja", "en"] = Field(
        "en",
        description="Language of the pages for a browser that asks for neither Japanese nor "
        "English (a user's own choice in the header wins).",
    )


class CapSettings(BaseModel):
    """At most ``messages`` messages of ``channel`` to one customer in ``days`` days, over
    every send (``[[messaging.caps]]``)."""

    channel: Literal["line", "email"]
    messages: int = Field(ge=1, description="Messages allowed in the window.")
    days: int = Field(ge=1, le=365, description="Length of the window in days.")


class MessagingSettings(BaseModel):
    """Rules every send obeys (``[messaging]``; docs/activation.md).

    >>> MessagingSettings().quiet_hours
    '21:00-09:00'
    """

    quiet_hours: str = Field(
        default="21:00-09:00",
        description="No message between these times (shop time zone), HH:MM-HH:MM, or none. "
        "A message due inside them waits for their end.",
    )
    caps: list[CapSettings] = Field(default_factory=list)
    product_url: str = Field(
        default="",
        description="A product page's URL, {product_id} replaced by the product's id: the url "
        "of each of {{ recommended_products }} (docs/insight.md). Empty: no URL.",
    )
    attribution_days: int = Field(
        default=7, ge=1, le=365,
        description="A campaign's attribution window: the days after each customer's send (or "
        "would-be send, held out) whose orders its report counts (docs/campaigns.md).",
    )

    @field_validator("quiet_hours")
    @classmethod
    def _range(cls, value: str) -> str:
        if value.strip().lower() in {"", "none", "off"}:
            return "none"
        try:
            start, end = (dt.time.fromisoformat(p.strip()) for p in value.split("-"))
        except ValueError as e:
            raise ValueError(f"not quiet hours {value!r} (use HH:MM-HH:MM, e.g. 21:00-09:00, "
                             "or none)") from e
        if start == end:
            raise ValueError(f"quiet hours {value!r} start and end at the same time")
        return value.strip()


class EmailSettings(BaseModel):
    """The SMTP server messages are sent through (``[email]``; docs/activation.md). The
    password is never stored here: it is read from the environment variable ``password_env``
    or the workspace's ``secrets`` file."""

    host: str = Field(description="SMTP server, e.g. smtp.example.com.")
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = Field(
        default="starttls",
        description="starttls (port 587), tls (port 465) or none (a local relay).",
    )
    username: str | None = Field(
        default=None, description="Login name, when the server asks for one."
    )
    password_env: str = Field(
        default="SEGMENTRY_SMTP_PASSWORD", description="Environment variable holding the password."
    )
    from_address: str = Field(description="The sender, e.g. news@example.com.")
    from_name: str = Field(default="", description="The sender's display name.")
    web_url: str = Field(
        description="Public address of segmentry's web app (unsubscribe links point there), "
        "e.g. https://crm.example.com."
    )
    timeout: float = Field(default=30.0, gt=0, description="Seconds to wait for the server.")
    track_clicks: bool = Field(
        default=False,
        description="Count link clicks in campaign e-mails: links go through the web app "
        "(web_url/r/…), which records each customer's first click on each link "
        "(docs/campaigns.md, Engagement). Off by default.",
    )


class RichMenuSettings(BaseModel):
    """The rich menu the LINE-linked members of ``segment`` see (``[[line.rich_menus]]``;
    docs/activation.md)."""

    segment: str = Field(description="The segment's key.")
    rich_menu_id: str = Field(
        pattern=r"^richmenu-[0-9A-Za-z]{1,64}$",
        description="The rich menu's id in LINE (richmenu-…), made in LINE Official Account "
        "Manager or with the Messaging API.",
    )


class WebhookSettings(BaseModel):
    """A receiver of segmentry's signed JSON POSTs (``[[webhooks]]``; docs/activation.md). The
    signing secret is read from the environment variable ``secret_env`` or from the workspace's
    ``secrets`` file as ``webhook_<name>``, never from this file."""

    name: str = Field(
        pattern=r"^[a-z0-9_\-]{1,50}$",
        description="Names the receiver in the delivery records and the secret "
        "(`webhook_<name>` in the secrets file).",
    )
    url: str = Field(pattern=r"^https?://", description="Where the POSTs go.")
    secret_env: str | None = Field(
        None, description="Environment variable holding the signing secret."
    )
    events: list[Literal["membership", "sends"]] = Field(
        default=["membership", "sends"],
        min_length=1,
        description="membership: who joined and left which segment after each run; sends: what "
        "became of every message of a finished send.",
    )
    batch_size: int = Field(
        500, ge=1, le=10_000, description="Events in one POST at most (joins, leaves or rows)."
    )
    timeout: float = Field(10.0, gt=0, description="Seconds to wait for the receiver.")


class LineSettings(BaseModel):
    """The LINE Official Account messages are sent from (``[line]``; docs/activation.md). The
    channel access token and channel secret are read from the environment variables named
    here or from the workspace's ``secrets`` file, never from this file."""

    name: str = Field(
        default="LINE", description="How messages and the web app name the account."
    )
    token_env: str = Field(
        default="SEGMENTRY_LINE_TOKEN",
        description="Environment variable holding the channel access token (long-lived).",
    )
    channel_secret_env: str = Field(
        default="SEGMENTRY_LINE_CHANNEL_SECRET",
        description="Environment variable holding the channel secret (webhook signatures).",
    )
    endpoint: str | None = Field(
        None, description="Base URL instead of https://api.line.me (a local fake LINE in tests)."
    )
    narrowcast_from: int = Field(
        default=5_000, ge=501,
        description="Identical messages to this many members or more go by narrowcast to an "
        "uploaded audience (one request) instead of multicasts of 500.",
    )
    rich_menus: list[RichMenuSettings] = Field(
        default_factory=list,
        description="A rich menu per segment (`[[line.rich_menus]]`), linked to each LINE-linked "
        "member after every run and unlinked when they leave. A customer in several of these "
        "segments gets the menu listed first.",
    )


class SourceSettings(BaseModel):
    """One data source the daily run ingests."""

    kind: str = Field(
        description="shopify_csv, generic, parquet or shopify, or a kind an installed plug-in "
        "reads (docs/plugins.md); a kind nobody reads fails the run with the kinds there are.",
    )
    path: str = Field(
        default="", description="File or folder to read (relative to the workspace); not shopify."
    )
    customers_path: str | None = Field(None, description="shopify_csv: customers_export.csv.")
    mapping: dict[str, str] = Field(
        default_factory=dict, description="generic: canonical column → file column."
    )
    rows: Literal["auto", "order", "line"] = Field(
        "auto",
        description="generic: one row per order or line; auto: line rows when a line column "
        "(sku, quantity, …) is mapped or in the file, else order rows.",
    )
    encoding: Literal["auto", "utf-8", "cp932"] = Field(
        "auto",
        description="CSV files: utf-8 or cp932 (Shift_JIS); auto: chosen from the file's first "
        "MiB (see docs/importing.md).",
    )
    options: dict[str, Any] = Field(
        default_factory=dict, description="A plug-in source's own settings (docs/plugins.md)."
    )


class ShopifySettings(BaseModel):
    """The Shopify store a workspace is connected to (``segmentry connect shopify``).

    The Admin API access token and the client secret are never stored here: they are read from
    the environment variables named by ``token_env`` / ``client_secret_env`` or from the
    workspace's ``secrets`` file (mode 0600).
    """

    shop: str = Field(description="Shop domain, e.g. my-store.myshopify.com.")
    api_version: str = Field(
        default=SHOPIFY_API_VERSION,
        pattern=r"^(\d{4}-(01|04|07|10)|unstable)$",
        description="Admin API version (YYYY-01, -04, -07 or -10); the sync warns 60 days "
        "before Shopify's 12 months of support for it end.",
    )
    token_env: str = Field(
        default="SEGMENTRY_SHOPIFY_TOKEN",
        description="Environment variable holding the access token.",
    )
    webhook_secret_env: str = Field(
        default="SEGMENTRY_SHOPIFY_WEBHOOK_SECRET",
        description="Environment variable holding the app's client secret (webhook HMAC).",
    )
    endpoint: str | None = Field(
        default=None,
        description="Base URL instead of https://<shop> (a local fake Shopify in tests).",
    )
    auth: Literal["token", "client_credentials", "oauth"] = Field(
        default="token",
        description="How the access token is got: a stored Admin API token (`token`), the "
        "client credentials grant (`client_credentials`, renewed before it expires) or the "
        "offline token of an OAuth install (`oauth`).",
    )
    client_id: str | None = Field(
        default=None, description="The app's client ID (client credentials and OAuth)."
    )
    client_secret_env: str = Field(
        default="SEGMENTRY_SHOPIFY_CLIENT_SECRET",
        description="Environment variable holding the app's client secret (client credentials "
        "and OAuth).",
    )
    sync_tags_after_run: bool = Field(
        default=True, description="Push segment tags to Shopify after each `segmentry run`."
    )
    tag_batch_size: int = Field(
        default=50, description="tagsAdd/tagsRemove calls per request (10 points each)."
    )
    bulk_threshold: int = Field(
        default=2_500,
        description="Changed rows above which a sync reads by bulk operation instead of pages.",
    )
    bulk_deadline_hours: float = Field(
        default=12.0, gt=0,
        description="How long a sync waits for one bulk query operation before it gives up.",
    )
    customer_metafields: list[str] = Field(
        default=["facts.birth_date"],
        max_length=8,
        description="Customer metafields (\"namespace.key\") the sync reads, for "
        "`metafields.namespace.key` conditions and birthdays "
        "(`anniversary(date: 'metafields.facts.birth_date')`); at most 8.",
    )

    line_user_id_metafield: str | None = Field(
        default=None,
        description="A customer metafield (\"namespace.key\", e.g. \"line.user_id\") holding the "
        "customer's LINE user id: the sync reads it and links the customer to that LINE user "
        "(docs/activation.md); counts among the 8 metafields read.",
    )

    @field_validator("customer_metafields")
    @classmethod
    def _metafield_keys(cls, keys: list[str]) -> list[str]:
        for key in keys:
            _check_metafield_key(key)
        return keys

    @field_validator("line_user_id_metafield")
    @classmethod
    def _line_metafield(cls, key: str | None) -> str | None:
        return None if key is None else _check_metafield_key(key)

    @model_validator(mode="after")
    def _at_most_eight(self) -> ShopifySettings:
        if len(self.metafields_read) > 8:
            raise ValueError("at most 8 customer metafields are read, "
                             "line_user_id_metafield included")
        return self

    @property
    def metafields_read(self) -> list[str]:
        """The customer metafields the sync reads: ``customer_metafields`` and the LINE one."""
        extra = [self.line_user_id_metafield] if self.line_user_id_metafield else []
        return list(dict.fromkeys([*self.customer_metafields, *extra]))


def _check_metafield_key(key: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_\-]{2,255}\.[A-Za-z0-9_\-]{2,64}", key):
        raise ValueError(f"{key!r} is not a metafield's \"namespace.key\"")
    return key


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SEGMENTRY_", env_nested_delimiter="__")

    shop: ShopSettings = Field(default_factory=ShopSettings)  # type: ignore[arg-type]
    warehouse: WarehouseSettings = Field(default_factory=WarehouseSettings)  # type: ignore[arg-type]
    state: StateSettings = Field(default_factory=StateSettings)  # type: ignore[arg-type]
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)  # type: ignore[arg-type]
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)  # type: ignore[arg-type]
    models: ModelsSettings = Field(default_factory=ModelsSettings)  # type: ignore[arg-type]
    web: WebSettings = Field(default_factory=WebSettings)  # type: ignore[arg-type]
    messaging: MessagingSettings = Field(default_factory=MessagingSettings)
    email: EmailSettings | None = None
    line: LineSettings | None = None
    webhooks: list[WebhookSettings] = Field(default_factory=list)
    sources: list[SourceSettings] = Field(default_factory=list)
    shopify: ShopifySettings | None = None

    @field_validator("webhooks")
    @classmethod
    def _webhook_names(cls, webhooks: list[WebhookSettings]) -> list[WebhookSettings]:
        names = [w.name for w in webhooks]
        if len(set(names)) != len(names):
            raise ValueError(f"two [[webhooks]] have the same name ({', '.join(names)})")
        return webhooks

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # NOTE: the environment must win over segmentry.toml (passed as init kwargs).
        return (env_settings, init_settings)

    def expand(self, workspace: Path) -> Settings:
        """A copy with ``{workspace}`` in the URLs replaced by the workspace folder."""
        copy = self.model_copy(deep=True)
        folder = str(workspace.resolve())
        copy.warehouse.url = copy.warehouse.url.replace("{workspace}", folder)
        copy.state.url = copy.state.url.replace("{workspace}", folder)
        return copy


def load(workspace: Path) -> Settings:
    """Read ``segmentry.toml`` of a workspace (environment variables win)."""
    path = workspace / CONFIG_FILE
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise ConfigError("No {file} in {workspace}.",
                          params={"file": CONFIG_FILE, "workspace": str(workspace)}) from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError("{path} is not valid TOML: {problem}",
                          params={"path": str(path), "problem": str(e)}) from e
    try:
        return Settings(**data).expand(workspace)
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors()
        )
        raise ConfigError("{path}: {problems}",
                          params={"path": str(path), "problems": problems}) from e


def save(settings: Settings, workspace: Path) -> None:
    """Write settings (as given, with ``{workspace}`` placeholders kept) to a new
    ``segmentry.toml``. An existing file is edited with :func:`edit`, which keeps its comments."""
    data = settings.model_dump(mode="json", exclude_none=True)
    _write(workspace / CONFIG_FILE, tomlkit.dumps(data))


@contextlib.contextmanager
def edit(workspace: Path) -> Iterator[tomlkit.TOMLDocument]:
    """Edit ``segmentry.toml`` as written (its comments, order and layout kept; not as
    overridden by the environment): change the yielded document; when the block ends the whole
    file is validated, then written atomically. Every change to the file goes through here.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> lines = ["# our shop", "[shop]", "id = 'a'", ""]
    >>> _ = (folder / CONFIG_FILE).write_text(chr(10).join(lines))
    >>> with edit(folder) as doc:
    ...     doc["shop"]["name"] = "A shop"
    >>> print((folder / CONFIG_FILE).read_text())
    # our shop
    [shop]
    id = 'a'
    name = "A shop"
    <BLANKLINE>
    """
    path = workspace / CONFIG_FILE
    try:
        document = tomlkit.parse(path.read_text(encoding="utf-8"))
    except tomlkit.exceptions.ParseError as e:
        raise ConfigError("{path} is not valid TOML: {problem}",
                          params={"path": str(path), "problem": str(e)}) from e
    yield document
    try:
        Settings(**document.unwrap())  # NOTE: the whole file is checked before it is written
    except ValidationError as e:
        raise ConfigError("The change would make {path} invalid: {problem}",
                          params={"path": str(path), "problem": str(e)}) from e
    _write(path, document.as_string())


def save_schedule(workspace: Path, schedule: ScheduleSettings) -> None:
    """Write the ``[schedule]`` section of ``segmentry.toml``, keeping everything else as is."""
    save_section(workspace, "schedule", schedule)


def save_section(workspace: Path, name: str, section: BaseModel | None) -> Settings:
    """Replace one section (``[web]``, ``[schedule]``, ``[shopify]``…) of ``segmentry.toml``
    (None removes it), keeping the rest as written; returns the settings read back."""
    with edit(workspace) as document:
        if section is None:
            document.pop(name, None)
        else:
            document[name] = section.model_dump(mode="json", exclude_none=True)
    return load(workspace)


def add_source(workspace: Path, source: SourceSettings) -> bool:
    """Append ``source`` to ``[[sources]]`` unless an equal one is there; whether it was added."""
    with edit(workspace) as document:
        sources = document.setdefault("sources", tomlkit.aot())
        if any(SourceSettings(**dict(s)) == source for s in sources):
            return False
        sources.append(source.model_dump(mode="json", exclude_defaults=True))
    return True


def remove_sources(workspace: Path, kind: str) -> None:
    """Remove every ``[[sources]]`` entry of ``kind``."""
    with edit(workspace) as document:
        sources = document.get("sources")
        if sources is None:
            return
        kept = [s for s in sources if dict(s).get("kind") != kind]
        del document["sources"]
        if kept:
            table = tomlkit.aot()
            for entry in kept:
                table.append(entry)
            document["sources"] = table


def _write(path: Path, text: str) -> None:
    """Replace the file atomically (a crash leaves the old file or the new one)."""
    temporary = path.with_name(path.name + ".writing")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
