"""Bulk operations of the fake: run a query (or a mutation per JSONL line) in a thread and
write the results as JSONL, the way Shopify lays them out.

Bulk query output is flat: one JSON object per line; the nodes of a nested connection are lines
of their own with ``__parentId`` naming their parent (shopify.dev, "Perform bulk operations with
the GraphQL Admin API"). Grouped output (``groupObjects: true``, the default before 2026-01)
puts them right after their parent; ungrouped output (the default from 2026-01) promises no
order, and the fake shuffles the lines (seeded by ``FakeShopify.bulk_seed``), so children land
before their parent or far after it. ``FakeShopify.fail_next_bulk`` ends the next query FAILED
with an ``errorCode``, after writing a share of its lines served at ``partialDataUrl``.
Bulk mutation output has one line per input line:
``{"data": …, "__lineNumber": n}``.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from graphql import (
    FieldNode,
    GraphQLError,
    OperationDefinitionNode,
    SelectionSetNode,
    execute_sync,
    parse,
    validate,
)

from segmentry.testing.shopify.schema import Context
from segmentry.testing.shopify.versions import grouped_by_default

if TYPE_CHECKING:
    from segmentry.testing.shopify.server import FakeShopify

__all__ = ["flatten", "start_mutation", "start_query"]


def _user_error(message: str, code: str, field: str = "query") -> dict[str, Any]:
    return {
        "bulkOperation": None,
        "userErrors": [{"field": [field], "message": message, "code": code}],
    }


def start_query(
    fake: FakeShopify, context: Context, query: str, group_objects: bool | None = None
) -> dict[str, Any]:
    """``bulkOperationRunQuery``: check the query, start it, return the payload."""
    try:
        document = parse(query)
    except GraphQLError as e:
        return _user_error(f"Invalid bulk query: {e.message}", "INVALID")
    problems = validate(fake.schema, document)
    if problems:
        return _user_error(f"Invalid bulk query: {problems[0].message}", "INVALID")
    if "Connection" not in query and "edges" not in query and "nodes" not in query:
        return _user_error("Bulk queries must contain at least one connection.", "INVALID")
    refusal = bulk_query_refusal(document)
    if refusal is not None:
        return _user_error(refusal, "INVALID")
    op = fake.new_operation("QUERY", query)
    if op is None:
        return _user_error(
            "A bulk query operation for this app and shop is already in progress.",
            "OPERATION_IN_PROGRESS",
        )
    bulk = Context(context.data, context.scopes, bulk=True, server=fake, version=context.version)
    grouped = grouped_by_default(context.version) if group_objects is None else group_objects
    args = (fake, op, document, bulk, grouped)
    threading.Thread(target=_run_query, args=args, daemon=True).start()
    return {"bulkOperation": op, "userErrors": []}


# Shopify's published limits for a bulk query (bulk-operations/queries, "Operation
# restrictions"): one top-level field, at most 5 connections, nested at most 2 deep, and
# connections read through ``edges { node }``. NOTE: the wording of each refusal is ours; the
# rules are Shopify's.
MAX_CONNECTIONS, MAX_DEPTH = 5, 2


def bulk_query_refusal(document: Any) -> str | None:
    """Why Shopify would refuse ``document`` as a bulk query, or None.

    >>> bulk_query_refusal(parse("{ orders { edges { node { id } } } }")) is None
    True
    >>> bulk_query_refusal(parse("{ orders { nodes { id } } }"))
    'Bulk queries cannot use the nodes field (orders): select edges { node { … } }.'
    >>> bulk_query_refusal(parse("{ orders { edges { node { id } } } shop { name } }"))
    'Bulk queries must select exactly one top-level field, not 2.'
    """
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    top = [f for f in operation.selection_set.selections if isinstance(f, FieldNode)]
    if len(top) != 1:
        return f"Bulk queries must select exactly one top-level field, not {len(top)}."
    connections: list[int] = []

    def walk(selection: SelectionSetNode | None, depth: int, parent: str) -> str | None:
        for field in (selection.selections if selection else ()):
            if not isinstance(field, FieldNode):
                continue
            name = field.name.value
            if name == "nodes":
                return (f"Bulk queries cannot use the nodes field ({parent}): select "
                        "edges { node { … } }.")
            inner = depth
            if name == "edges":
                connections.append(depth + 1)
                inner = depth + 1
            refusal = walk(field.selection_set, inner, name)
            if refusal is not None:
                return refusal
        return None

    refusal = walk(operation.selection_set, 0, "")
    if refusal is not None:
        return refusal
    if len(connections) > MAX_CONNECTIONS:
        return (f"Bulk queries can contain at most {MAX_CONNECTIONS} connections, "
                f"not {len(connections)}.")
    if max(connections, default=0) > MAX_DEPTH:
        return f"Bulk queries can nest connections at most {MAX_DEPTH} levels deep."
    return None


def bulk_mutation_refusal(document: Any) -> str | None:
    """Why Shopify would refuse ``document`` as a bulk mutation, or None: it runs one
    mutation per line, so the document must be a mutation with exactly one top-level field
    (code ``INVALID_MUTATION``; NOTE: the wording is ours).

    >>> bulk_mutation_refusal(parse("mutation m($id: ID!) { tagsAdd(id: $id, tags: []) "
    ...                             "{ node { id } } }"))
    >>> bulk_mutation_refusal(parse("mutation { a: tagsAdd(id: 1, tags: []) { node { id } } "
    ...                             "b: tagsRemove(id: 1, tags: []) { node { id } } }"))
    'Bulk mutations must contain exactly one top-level mutation field, not 2.'
    """
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1 or operations[0].operation.value != "mutation":
        return "Bulk mutations must contain exactly one mutation operation."
    top = [f for f in operations[0].selection_set.selections if isinstance(f, FieldNode)]
    if len(top) != 1:
        return f"Bulk mutations must contain exactly one top-level mutation field, not {len(top)}."
    return None


def _run_query(
    fake: FakeShopify, op: dict[str, Any], document: Any, context: Context, grouped: bool
) -> None:
    op["status"] = "RUNNING"
    time.sleep(fake.bulk_delay)
    result = execute_sync(fake.schema, document, context_value=context)
    if result.errors or fake.next_failure(bulk=True):
        _finish(
            fake,
            op,
            "FAILED",
            error="INTERNAL_SERVER_ERROR" if not result.errors else "ACCESS_DENIED",
        )
        return
    lines = list(flatten(result.data or {}))
    if not grouped:
        random.Random(fake.bulk_seed).shuffle(lines)
    failure = fake.take_bulk_failure()
    if failure is not None:
        lines = lines[: int(len(lines) * failure[1])]
    path = fake.result_file(op)
    with path.open("w", encoding="utf-8") as out:
        for line, _ in lines:
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
    op["objectCount"] = str(len(lines))
    op["rootObjectCount"] = str(sum(is_root for _, is_root in lines))
    if failure is not None:
        _finish(fake, op, "FAILED", error=failure[0], partial=path if lines else None)
        return
    _finish(fake, op, "COMPLETED", path=path if lines else None)


def _finish(
    fake: FakeShopify,
    op: dict[str, Any],
    status: str,
    *,
    path: Any = None,
    partial: Any = None,
    error: str | None = None,
) -> None:
    if not fake.running:  # NOTE: the test that started it is over: nothing to serve
        op["status"] = "CANCELED"
        return
    if path is not None:
        op["fileSize"] = str(path.stat().st_size)
        op["url"] = f"{fake.url}/bulk/{path.name}"
    if partial is not None:
        op["partialDataUrl"] = f"{fake.url}/bulk/{partial.name}"
    op["errorCode"] = error
    op["completedAt"] = fake.data.now()
    op["status"] = status


def flatten(data: dict[str, Any]) -> Iterator[tuple[dict[str, Any], bool]]:
    """(line, is_root) for every node of the root connection and its nested connections.

    >>> order = {"id": "O1", "lineItems": {"nodes": [{"id": "L1"}]}}
    >>> data = {"orders": {"edges": [{"node": order}]}}
    >>> [line for line, _ in flatten(data)]
    [{'id': 'O1'}, {'id': 'L1', '__parentId': 'O1'}]
    """
    for value in data.values():
        if _is_connection(value):
            for node in _nodes(value):
                yield from _node_lines(node, None)


def _node_lines(node: dict[str, Any], parent: str | None) -> Iterator[tuple[dict, bool]]:
    line = {k: v for k, v in node.items() if not _is_connection(v)}
    if parent is not None:
        line["__parentId"] = parent
    yield line, parent is None
    for value in node.values():
        if _is_connection(value):
            for child in _nodes(value):
                yield from _node_lines(child, node.get("id"))


def _is_connection(value: Any) -> bool:
    return isinstance(value, dict) and ("edges" in value or "nodes" in value)


def _nodes(connection: dict[str, Any]) -> list[dict[str, Any]]:
    if "nodes" in connection:
        return list(connection["nodes"])
    return [edge["node"] for edge in connection.get("edges", [])]


def start_mutation(
    fake: FakeShopify, context: Context, mutation: str, staged_upload_path: str
) -> dict[str, Any]:
    """``bulkOperationRunMutation``: one run of ``mutation`` per line of the uploaded JSONL."""
    content = fake.upload(staged_upload_path)
    if content is None:
        return {
            "bulkOperation": None,
            "userErrors": [
                {
                    "field": ["stagedUploadPath"],
                    "message": "Staged upload not found",
                    "code": "NO_SUCH_FILE",
                }
            ],
        }
    try:
        document = parse(mutation)
    except GraphQLError as e:
        return _user_error(f"Invalid mutation: {e.message}", "INVALID_MUTATION", "mutation")
    refusal = bulk_mutation_refusal(document)
    if refusal is not None:
        return _user_error(refusal, "INVALID_MUTATION", "mutation")
    op = fake.new_operation("MUTATION", mutation)
    if op is None:
        return _user_error(
            "A bulk mutation operation for this app and shop is already in progress.",
            "OPERATION_IN_PROGRESS",
        )
    args = (fake, op, document, content, context)
    threading.Thread(target=_run_mutation, args=args, daemon=True).start()
    return {"bulkOperation": op, "userErrors": []}


def _run_mutation(
    fake: FakeShopify, op: dict[str, Any], document: Any, content: bytes, context: Context
) -> None:
    op["status"] = "RUNNING"
    time.sleep(fake.bulk_delay)
    if fake.next_failure(bulk=True):
        _finish(fake, op, "FAILED", error="INTERNAL_SERVER_ERROR")
        return
    path = fake.result_file(op)
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for number, raw in enumerate(content.decode().splitlines()):
            if not raw.strip():
                continue
            result = execute_sync(
                fake.schema, document, variable_values=json.loads(raw), context_value=context
            )
            line: dict[str, Any] = {"data": result.data, "__lineNumber": number}
            if result.errors:
                line["errors"] = [e.formatted for e in result.errors]
            out.write(json.dumps(line) + "\n")
            count += 1
    op["objectCount"] = op["rootObjectCount"] = str(count)
    _finish(fake, op, "COMPLETED", path=path)
