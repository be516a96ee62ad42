"""``segmentry send`` and ``segmentry sends …``: LINE and e-mail messages to a segment
(docs/activation.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from segmentry.cli.options import WorkspaceOption, open_workspace
from segmentry.cli.output import console, fail_on_errors, print_rows
from segmentry.core.config import LineSettings, load, save_section
from segmentry.core.errors import MessagingError
from segmentry.core.secrets import save_secret

if TYPE_CHECKING:
    from segmentry.app.messaging.sending import SendPlan, SendReport
    from segmentry.app.messaging.service import Message, Messaging

__all__ = ["demo_with_fake_line", "register"]

sends_app = typer.Typer(help="Sends: their delivery logs, continuing them, previews.",
                        no_args_is_help=True)

Segment = Annotated[str, typer.Argument(help="Segment key (or its display name).")]
Channel = Annotated[str, typer.Option("--channel", "-c", help="line or email.")]
Text = Annotated[str | None, typer.Option(
    "--text", help="The message, a template: {{ customer.honorific_name }} …")]
TextFile = Annotated[Path | None, typer.Option(
    "--text-file", help="Read the message (template) from this UTF-8 file.")]
Subject = Annotated[str | None, typer.Option("--subject", help="E-mail subject (a template).")]
HtmlFile = Annotated[Path | None, typer.Option(
    "--html-file", help="E-mail HTML version (a template) from this UTF-8 file.")]
FlexFile = Annotated[Path | None, typer.Option(
    "--flex-file", help="LINE: a Flex message's contents (a JSON template: bubble or carousel) "
    "from this UTF-8 file; the text is its alternative text.")]
Transactional = Annotated[bool, typer.Option(
    "--transactional", help="A message the customer asked for (receipt, notice): no consent "
    "check, no caps, no unsubscribe header.")]
Language = Annotated[str, typer.Option("--language", help="ja or en (names, money, dates).")]
Format = Annotated[str, typer.Option("--format", "-f", help="table or json")]


def register(app: typer.Typer) -> None:
    app.command("send")(send_command)
    app.add_typer(sends_app, name="sends")


def send_command(
    segment: Segment,
    channel: Channel,
    text: Text = None,
    text_file: TextFile = None,
    subject: Subject = None,
    html_file: HtmlFile = None,
    flex_file: FlexFile = None,
    key: Annotated[str, typer.Option(
        "--key", help="Name this send; asking again with the same key continues it and never "
        "sends twice (default: a new send).")] = "",
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Show recipients, who is skipped and why, and quota use; send "
        "nothing.")] = False,
    transactional: Transactional = False,
    language: Language = "ja",
    fmt: Format = "table",
    workspace: WorkspaceOption = None,
) -> None:
    """Send a message to a segment's members over LINE or e-mail, exactly once."""
    with fail_on_errors(), open_workspace(workspace) as ws:
        message = _message(_body(text, text_file), subject, _read(html_file), transactional,
                          language, _read(flex_file))
        messaging = _messaging(ws)
        if dry_run:
            _show_plan(messaging.dry_run(segment, channel, message), fmt)
            return
        _show_report(messaging.send(segment, channel, message, key=key), fmt)


@sends_app.command("list")
def list_command(fmt: Format = "table", workspace: WorkspaceOption = None) -> None:
    """The latest sends, newest first, with their rows per status."""
    with fail_on_errors(), open_workspace(workspace) as ws:
        rows = [
            {"key": s.key, "segment": s.segment, "channel": s.channel, "status": s.status,
             "created_at": s.created_at, **{k: counts.get(k, 0) for k in _STATUSES}}
            for s, counts in _messaging(ws).recent()
        ]
    print_rows(rows, ["key", "segment", "channel", "status", "created_at", *_STATUSES], fmt)


@sends_app.command("log")
def log_command(
    key: Annotated[str, typer.Argument(help="The send's key (see `segmentry sends list`).")],
    status: Annotated[str | None, typer.Option(
        "--status", help="Only rows of this status: delivered, failed, skipped, uncertain, "
        "pending, sending.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="Rows to show.")] = 100,
    fmt: Format = "table",
    workspace: WorkspaceOption = None,
) -> None:
    """A send's delivery log: counts per status, reasons, and its rows."""
    with fail_on_errors(), open_workspace(workspace) as ws:
        log = _messaging(ws).log(key, status=status, limit=limit)
    if fmt == "json":
        print(json.dumps({"key": log.send.key, "counts": log.counts, "reasons": log.reasons,
                          "rows": [_row(r) for r in log.rows]}, ensure_ascii=False,
                         default=str, indent=1))
        return
    console.print(f"{log.send.key}: {log.send.segment} by {log.send.channel}, "
                  f"{log.send.status}")
    _print_counts(log.counts, log.reasons)
    print_rows([_row(r) for r in log.rows],
               ["customer_id", "address", "status", "reason", "detail", "attempts",
                "delivered_at"], "table")


@sends_app.command("continue")
def continue_command(fmt: Format = "table", workspace: WorkspaceOption = None) -> None:
    """Deliver what is due of every unfinished send (after quiet hours, or once a channel that
    was down is back)."""
    with fail_on_errors(), open_workspace(workspace) as ws:
        reports = _messaging(ws).continue_sends()
    if not reports:
        console.print("No send is waiting.")
    for report in reports:
        _show_report(report, fmt)


@sends_app.command("resend-uncertain")
def resend_uncertain(
    key: Annotated[str, typer.Argument(help="The send's key.")],
    fmt: Format = "table",
    workspace: WorkspaceOption = None,
) -> None:
    """Send once more the e-mails an interruption left uncertain (some may arrive twice)."""
    with fail_on_errors(), open_workspace(workspace) as ws:
        _show_report(_messaging(ws).resend_uncertain(key), fmt)


@sends_app.command("preview")
def preview_command(
    segment: Segment,
    channel: Channel,
    text: Text = None,
    text_file: TextFile = None,
    subject: Subject = None,
    customer: Annotated[str | None, typer.Option(
        "--customer", help="A member's customer id (default: the first who would get it).")] = None,
    transactional: Transactional = False,
    language: Language = "ja",
    workspace: WorkspaceOption = None,
) -> None:
    """The message one member would get, filled in."""
    with fail_on_errors(), open_workspace(workspace) as ws:
        message = _message(_body(text, text_file), subject, None, transactional, language)
        customer_id, body, second = _messaging(ws).preview(segment, channel, message, customer)
    if body is None:
        console.print(f"Customer {customer_id} would be skipped: {second}", markup=False)
        return
    console.print(f"To customer {customer_id}:", markup=False)
    if second:
        console.print(f"Subject: {second}", markup=False)
    console.print(body, markup=False, highlight=False)


_STATUSES = ("delivered", "failed", "skipped", "uncertain", "pending", "sending")


# NOTE: the messaging service is imported when a command uses it, not with the CLI: it brings
# jinja2 and scipy (through the recommendations its templates show), about 0.5 s of CPU
# at every start-up of every command (docs/performance.md, "Command-line start-up").
def _messaging(ws: Any) -> Messaging:
    from segmentry.app.messaging.service import Messaging  # start-up (see segmentry.cli)

    return Messaging(ws)


def _message(text: str, *args: Any) -> Message:
    from segmentry.app.messaging.service import Message  # start-up (see segmentry.cli)

    return Message(text, *args)


def _body(text: str | None, path: Path | None) -> str:
    if (text is None) == (path is None):
        raise MessagingError("Give the message with --text or with --text-file (one of them).",
                             code="no_message")
    return text if text is not None else _read(path) or ""


def _read(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise MessagingError("Cannot read {path}: {problem}", code="message_file",
                             params={"path": str(path), "problem": str(e)}) from e


def _show_plan(plan: SendPlan, fmt: str) -> None:
    data = {"channel": plan.channel, "recipients": plan.recipients, "skipped": plan.skipped,
            "quota_left": plan.quota_left,
            "waiting_for_quiet_hours": plan.waiting_for_quiet_hours}
    if fmt == "json":
        print(json.dumps(data, ensure_ascii=False, indent=1))
        return
    console.print(f"Dry run ({plan.channel}): {plan.recipients:,} would get the message.")
    for reason, n in sorted(plan.skipped.items()):
        console.print(f"  skipped, {reason}: {n:,}")
    if plan.quota_left is not None:
        console.print(f"  quota left this month: {plan.quota_left:,}"
                      + ("  (not enough)" if plan.recipients > plan.quota_left else ""))
    if plan.waiting_for_quiet_hours:
        console.print(f"  would wait for the end of quiet hours: "
                      f"{plan.waiting_for_quiet_hours:,}")


def _show_report(report: SendReport, fmt: str) -> None:
    if fmt == "json":
        print(json.dumps({"key": report.key, "counts": report.counts, "reasons": report.reasons,
                          "finished": report.finished}, ensure_ascii=False, indent=1))
        return
    state = "finished" if report.finished else "not finished (see `segmentry sends continue`)"
    console.print(f"Send {report.key}: {state}", markup=False)
    _print_counts(report.counts, report.reasons)


def _print_counts(counts: dict[str, int], reasons: dict[str, int]) -> None:
    for status in _STATUSES:
        if counts.get(status):
            console.print(f"  {status}: {counts[status]:,}")
    for reason, n in sorted(reasons.items()):
        console.print(f"    {reason}: {n:,}")


def _row(row: Any) -> dict[str, Any]:
    return {"customer_id": row.customer_id, "address": row.address, "status": row.status,
            "reason": row.reason, "detail": row.detail, "attempts": row.attempts,
            "delivered_at": row.delivered_at}


def demo_with_fake_line(ws: Any, store: dict[str, Any]) -> None:
    """Start a fake LINE platform whose friends are the demo store's LINE-linked customers
    (blocked for those its LINE events say blocked the account), set up the LINE channel,
    dry-run and send a message to the smallest segment with LINE members, send it again with
    the same key (nothing more goes out); then remove the channel (the fake ends with this
    command)."""
    # NOTE: the LINE plug-in imports the LINE SDK (linebot), about 2 s of CPU: more than the
    # rest of the CLI's start-up together; only this command needs it here.
    from segmentry.activation.line.plugin import TOKEN_SECRET  # start-up (see segmentry.cli)
    from segmentry.testing.line import FakeLine  # start-up (see segmentry.cli)

    users = [u for u in store["customers"].column("line_user_id").to_pylist() if u]
    events = store["line_events"].to_pylist()
    blocked = {e["line_user_id"] for e in events if e["event"] == "unfollow"}
    with FakeLine() as fake:
        for user in users:
            fake.add_user(user, blocked=user in blocked)
        console.print(f"Fake LINE at {fake.url} with {len(users):,} friends.")
        save_secret(ws.folder, TOKEN_SECRET, fake.token)
        save_section(ws.folder, "line", LineSettings(name="Demo LINE", endpoint=fake.url))
        ws.settings = load(ws.folder)
        messaging = _messaging(ws)
        segment = _smallest_with_line(ws, messaging)
        greeting = _message("{{ customer.honorific_name }}、いつもありがとうございます。"
                            "冬の限定セットのご案内です。")
        console.print(f"Dry run of a LINE message to {segment!r}:")
        _show_plan(messaging.dry_run(segment, "line", greeting), "table")
        report = messaging.send(segment, "line", greeting, key="demo-winter")
        _show_report(report, "table")
        again = messaging.send(segment, "line", greeting, key="demo-winter")
        received = sum(fake.count(u) for u in users)
        console.print(f"Sent again with the same key: {again.counts.get('delivered', 0):,} "
                      f"delivered in all; LINE received {received:,} messages.")
    save_section(ws.folder, "line", None)
    ws.settings = load(ws.folder)
    console.print("The fake is gone, so the LINE channel is removed again; the delivery log "
                  f"stays: `segmentry -w {ws.folder} sends log demo-winter`.")


def _smallest_with_line(ws: Any, messaging: Messaging) -> str:
    sizes = []
    for segment in ws.segments():
        plan = messaging.dry_run(segment.name, "line", _message("x"))
        if plan.recipients:
            sizes.append((plan.recipients, segment.name))
    if not sizes:
        raise MessagingError("No segment has LINE-linked members.", code="no_members")
    return min(sizes)[1]
