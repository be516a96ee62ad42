"""Large tag diffs by bulk mutation: one staged JSONL upload per action, no per-call cost.

Flow (shopify.dev, "Bulk import data with the GraphQL Admin API"): ``stagedUploadsCreate``
(resource ``BULK_MUTATION_VARIABLES``) → POST the form with every returned parameter and the
file → ``bulkOperationRunMutation(mutation, stagedUploadPath: <the "key" parameter>)`` → poll
``currentBulkOperation(type: MUTATION)`` → download the results, one JSON line per input line
(``{"data": {...}, "__lineNumber": n}``), recorded per row exactly like the paged writes.

Per-line failures: a line whose payload has ``userErrors`` (or that has GraphQL ``errors``,
or no result line at all) is recorded as failed with Shopify's message, the others as done —
as the aliased batches record one failing mutation among many.

Size: Shopify's staged upload for bulk mutation variables takes at most 20 MB (Shopify staff on
community.shopify.com; the storage answers ``EntityTooLarge``, ``MaxSizeAllowed`` 20971520), so
the variables are cut into files of at most ``max_bytes`` and run as one bulk mutation each,
one after the other (a shop runs one bulk mutation at a time).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Mapping, Sequence
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
MAX_UPLOAD_BYTES = 20_000_000  # under Shopify's 20 MB (20,971,520 bytes), room to spare
Record = Callable[[Sequence[TagWrite], dict[str, Any], Mapping[str, str]], None]


def bulk_write(
    client: ShopifyClient,
    rows: Sequence[TagWrite],
    action: str,
    gid: Callable[[str], str],
    record: Record,
    *,
    max_bytes: int = MAX_UPLOAD_BYTES,
) -> None:
    """Send ``rows`` (all of one ``action``) as bulk mutations of at most ``max_bytes`` of
    variables each; ``record(chunk, data, refused)`` is called with results shaped like the
    paged writes' (``{"m<i>": payload}``, and alias → Shopify's error for a line that failed
    with GraphQL errors or has no result)."""
    name = "tagsAdd" if action == "add" else "tagsRemove"
    lines = [json.dumps({"id": gid(row.customer_id), "tags": row.tags.split(",")}) + "\n"
             for row in rows]
    start = 0
    for size in _file_sizes(lines, max_bytes):
        part = rows[start : start + size]
        results, refused = _run(client, name, "".join(lines[start : start + size]).encode())
        for offset in range(0, len(part), _CHUNK):
            chunk = part[offset : offset + _CHUNK]
            record(chunk, {f"m{i}": results.get(offset + i) for i in range(len(chunk))},
                   {f"m{i}": refused.get(offset + i, "no result from Shopify")
                    for i in range(len(chunk)) if results.get(offset + i) is None})
        start += size


def _file_sizes(lines: Sequence[str], max_bytes: int) -> list[int]:
    """How many lines go in each file so none holds more than ``max_bytes``.

    >>> _file_sizes(["aaaa\\n", "bb\\n", "c\\n", "ddddd\\n"], 8)
    [2, 2]
    """
    sizes: list[int] = []
    count = used = 0
    for line in lines:
        size = len(line.encode())
        if size > max_bytes:
            raise ShopifyError("Shopify refused the bulk mutation: {detail}", code="bulk_failed",
                               params={"detail": f"one line is {size:,} bytes"})
        if count and used + size > max_bytes:
            sizes.append(count)
            count = used = 0
        count, used = count + 1, used + size
    return [*sizes, count] if count else sizes


def _run(client: ShopifyClient, name: str, content: bytes) -> tuple[dict[int, Any], dict[int, str]]:
    """One bulk mutation of ``name`` over ``content``: line number → payload, and line number
    → Shopify's errors for lines that failed with GraphQL errors."""
    path = _stage(client, content)
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
    refused: dict[int, str] = {}
    with tempfile.TemporaryDirectory() as folder:
        if operation.get("url"):
            target = client.download(operation["url"], Path(folder) / "results.jsonl")
            with target.open(encoding="utf-8") as lines_in:
                for line in lines_in:
                    answer = json.loads(line)
                    number = int(answer["__lineNumber"])
                    results[number] = (answer.get("data") or {}).get(name)
                    if answer.get("errors"):
                        refused[number] = "; ".join(
                            str(e.get("message", e)) for e in answer["errors"])
    return results, refused


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
