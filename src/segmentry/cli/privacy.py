"""``segmentry privacy …``: a person's requests about their data, by hand — for a shop whose
customers do not come through Shopify's compliance webhooks (docs/operations.md, "Privacy
requests"). ``privacy export ID`` writes everything the workspace holds on the customer;
``privacy erase ID`` erases their personal data as ``customers/redact`` does."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from segmentry.app.disclosure import customer_data, write_data_request
from segmentry.app.erasure import erase_customer, finish_erasures
from segmentry.app.workspace import Workspace
from segmentry.cli.options import WorkspaceOption, open_workspace
from segmentry.cli.output import console, fail_on_errors
from segmentry.core.clock import utcnow
from segmentry.core.errors import WorkspaceError

__all__ = ["app"]

app = typer.Typer(help="A customer's requests about their data: export, erase.",
                  no_args_is_help=True)

CustomerId = Annotated[str, typer.Argument(help="The customer's id, as the ledger has it.")]


@app.command("export")
def export_command(customer_id: CustomerId, workspace: WorkspaceOption = None) -> None:
    """Write everything the workspace holds on the customer — their ledger rows, the models'
    predictions, the messages sent to them, unsubscriptions, campaigns, coupon codes and
    clicks — to privacy/data_request_<id>_<time>.json, and say how many rows of each."""
    with fail_on_errors(), open_workspace(workspace) as ws:
        data = _known_customer(ws, customer_id)
        path = write_data_request(ws, customer_id, utcnow().strftime("manual-%Y%m%dT%H%M%S"),
                                  data=data)
    console.print(f"Wrote {path}", highlight=False, markup=False)
    for part in ("ledger", "workspace"):
        for table, rows in data[part].items():
            if rows:
                console.print(f"  {table}: {len(rows):,} row(s)", highlight=False)


@app.command("erase")
def erase_command(
    customer_id: CustomerId,
    workspace: WorkspaceOption = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask first.")] = False,
) -> None:
    """Erase the customer's personal data for good: names, e-mail, phone, address and LINE id
    in the ledger (their orders stay, under their id), their data-request exports, rejected
    rows naming them, and their messages' addresses and content. Cannot be undone."""
    with fail_on_errors(), open_workspace(workspace) as ws:
        _known_customer(ws, customer_id)
        if not yes and not typer.confirm(f"Erase customer {customer_id}'s personal data? "
                                         "This cannot be undone."):
            raise typer.Exit(1)
        with ws.lock("privacy erase"):
            erase_customer(ws, customer_id)
            finished = finish_erasures(ws)
    console.print(f"Customer {customer_id}: personal data erased"
                  + ("." if finished else "; old copies are removed by the next daily run."),
                  highlight=False, markup=False)


def _known_customer(ws: Workspace, customer_id: str) -> dict[str, Any]:
    """What the workspace holds on the customer (:func:`customer_data`); an error if the
    ledger has neither their row nor an order of theirs."""
    data = customer_data(ws, customer_id)
    if not data["ledger"].get("customers") and not data["ledger"].get("orders"):
        raise WorkspaceError("There is no customer {id!r} in this workspace.",
                             code="unknown_customer", params={"id": customer_id},
                             hint="Use the customer's id as the ledger has it (the store's "
                             "customer id, or the id column of your import).")
    return data
