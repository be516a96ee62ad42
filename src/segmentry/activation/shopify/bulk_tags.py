"""Large tag diffs by bulk mutation: one staged JSONL upload per action, no per-call cost.

Flow (shopify.dev, "Bulk import data with the GraphQL Admin API"): ``stagedUploadsCreate``
(resource ``BULK_MUTATION_VARIABLES``) → POST the form with every returned parameter and the
file → ``bulkOperationRunMutation(mutation, stagedUploadPath: <the "key" parameter>)`` → poll
``currentBulkOperation(type: MUTATION)`` → download the results, one JSON line per input line
(``{"data": {...}, "__lineNumber": n}``), recorded per row exactly like the paged writes.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from segmentry.connectors.shopify.backfill import wait_for_bulk
from segmentry.connectors.shopify.client import ShopifyClient
from segmentry.core.errors import ShopifyError
from segmentry.store.tag_jobs import TagWrite

__all__ = ["bulk_write"]

_STAGE = """mutation stage($input: [StagedUploadInput!]!) {
  stagedUploadsCreate(input: $input) {
    stagedTargets { url resourceUrl parameters { name value } }
    userErrors { field message }
  }
}"""
_RUN = """mutation run($mutation: String!, $path: String!) {
  bulkOperationRunMutation(mutation: $mutation, stagedUploadPath: $path) {
    bulkOperation { id status }
    userErrors { field message code }
  }
}"""
_CALL = """mutation call($id: ID!, $tags: [String!]!) {
  %s(id: $id, tags: $tags) { node { id ... on Customer { tags } } userErrors { field message } }
}"""
_CHUNK = 500


def bulk_write(
    client: ShopifyClient,
    rows: Sequence[TagWrite],
    action: str,
    gid: Callable[[str], str],
    record: Callable[[Sequence[TagWrite], dict[str, Any]], None],
) -> None:
    """Send ``rows`` (all of one ``action``) as one bulk mutation; ``record(chunk, data)`` is
    called with results shaped like the paged writes' (``{"m<i>": payload}``)."""
    name = "tagsAdd" if action == "add" else "tagsRemove"
    lines = "".join(
        json.dumps({"id": gid(row.customer_id), "tags": row.tags.split(",")}) + "\n" for row in rows
    )
    path = _stage(client, lines.encode())
    payload = client.execute(_RUN, {"mutation": _CALL % name, "path": path})
    payload = payload["bulkOperationRunMutation"]
    if payload["userErrors"]:
        raise ShopifyError(
            "Shopify refused the bulk mutation: {detail}",
            code="bulk_failed",
            params={"detail": payload["userErrors"][0]["message"]},
        )
    operation = wait_for_bulk(client, payload["bulkOperation"]["id"], "MUTATION")
    results: dict[int, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        if operation.get("url"):
            target = client.download(operation["url"], Path(folder) / "results.jsonl")
            with target.open(encoding="utf-8") as lines_in:
                for line in lines_in:
                    answer = json.loads(line)
                    results[int(answer["__lineNumber"])] = (answer.get("data") or {}).get(name)
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start : start + _CHUNK]
        record(chunk, {f"m{i}": results.get(start + i) for i in range(len(chunk))})


def _stage(client: ShopifyClient, content: bytes) -> str:
    """Upload the variables file; returns the ``stagedUploadPath`` for the mutation."""
    data = client.execute(
        _STAGE,
        {
            "input": [
                {
                    "resource": "BULK_MUTATION_VARIABLES",
                    "filename": "tags.jsonl",
                    "mimeType": "text/jsonl",
                    "httpMethod": "POST",
                }
            ]
        },
    )["stagedUploadsCreate"]
    if data["userErrors"] or not data["stagedTargets"]:
        raise ShopifyError("Shopify refused the staged upload.", code="bulk_failed")
    target = data["stagedTargets"][0]
    fields = {p["name"]: p["value"] for p in target["parameters"]}
    client.upload(target["url"], fields, content, "tags.jsonl")
    return fields["key"]
