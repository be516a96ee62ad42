"""Shopify's calculated query cost and its leaky bucket, as the fake server enforces them.

Cost rules (shopify.dev, "GraphQL Admin API rate limits"): scalars and enums cost 0, an object
1, a connection 2 plus ``first`` (or ``last``) times the cost of one node; a mutation field 10.
The *requested* cost uses the page sizes asked for; the *actual* cost counts what came back, and
only the actual cost is taken from the bucket.

>>> bucket = LeakyBucket(maximum=100, restore_rate=10, clock=lambda: 0.0)
>>> bucket.take(30), bucket.available()
(True, 70.0)
>>> bucket.refund(10), bucket.take(200)
(None, False)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    is_leaf_type,
    value_from_ast_untyped,
)

__all__ = ["MUTATION_COST", "LeakyBucket", "actual_cost", "requested_cost"]

MUTATION_COST = 10
_DEFAULT_PAGE = 1


class LeakyBucket:
    """Points available now: refills at ``restore_rate`` per second up to ``maximum``."""

    def __init__(
        self,
        maximum: float = 1000.0,
        restore_rate: float = 100.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.maximum = float(maximum)
        self.restore_rate = float(restore_rate)
        self.clock = clock
        self._level = float(maximum)
        self._at = clock()
        self._lock = threading.Lock()

    def available(self) -> float:
        with self._lock:
            return self._refill()

    def _refill(self) -> float:
        now = self.clock()
        self._level = min(self.maximum, self._level + (now - self._at) * self.restore_rate)
        self._at = now
        return self._level

    def take(self, requested: float) -> bool:
        """Charge ``requested`` if it fits in what is available; False = throttled."""
        with self._lock:
            if requested > self._refill():
                return False
            self._level -= requested
            return True

    def refund(self, points: float) -> None:
        """Give back what a request did not use (requested minus actual cost)."""
        with self._lock:
            self._level = min(self.maximum, self._refill() + points)

    def status(self) -> dict[str, Any]:
        """The ``throttleStatus`` object of a response."""
        return {
            "maximumAvailable": self.maximum,
            "currentlyAvailable": int(self.available()),
            "restoreRate": self.restore_rate,
        }


def requested_cost(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, Any],
    variables: Mapping[str, Any] | None,
) -> int:
    """The cost of ``operation`` before running it (page sizes as requested)."""
    if operation.operation.value == "mutation":
        return MUTATION_COST * _field_count(operation.selection_set, fragments)
    root = schema.query_type
    assert root is not None
    return _cost(operation.selection_set, root, fragments, variables or {}, None)


def actual_cost(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, Any],
    variables: Mapping[str, Any] | None,
    data: Mapping[str, Any] | None,
) -> int:
    """The cost of what ``operation`` returned (``data``): connections count real nodes."""
    if operation.operation.value == "mutation":
        return MUTATION_COST * _field_count(operation.selection_set, fragments)
    root = schema.query_type
    assert root is not None
    return _cost(operation.selection_set, root, fragments, variables or {}, data or {})


def _field_count(selection_set: SelectionSetNode, fragments: Mapping[str, Any]) -> int:
    return sum(1 for _ in _fields(selection_set, fragments))


def _fields(selection_set: SelectionSetNode, fragments: Mapping[str, Any]) -> Any:
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _fields(selection.selection_set, fragments)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                yield from _fields(fragment.selection_set, fragments)


def _cost(
    selection_set: SelectionSetNode | None,
    parent: GraphQLObjectType,
    fragments: Mapping[str, Any],
    variables: Mapping[str, Any],
    data: Mapping[str, Any] | None,
) -> int:
    """Cost of a selection on ``parent``; ``data`` given = actual cost, None = requested."""
    if selection_set is None:
        return 0
    total = 0
    for node in _fields(selection_set, fragments):
        name = node.name.value
        if name.startswith("__") or name not in getattr(parent, "fields", {}):
            continue
        named = get_named_type(parent.fields[name].type)
        if is_leaf_type(named):
            continue
        key = node.alias.value if node.alias else name
        value = None if data is None else data.get(key)
        if data is not None and value is None:
            continue
        total += _field_cost(node, named, fragments, variables, value, data is not None)
    return total


def _field_cost(
    node: FieldNode,
    named: Any,
    fragments: Mapping[str, Any],
    variables: Mapping[str, Any],
    value: Any,
    actual: bool,
) -> int:
    if named.name.endswith("Connection"):
        return 2 + _connection_nodes(node, named, fragments, variables, value, actual)
    concrete = named
    if isinstance(value, list):  # a plain list field (e.g. refunds): each item is an object
        return sum(1 + _cost(node.selection_set, concrete, fragments, variables, v) for v in value)
    size = _page_size(node, variables) if _has_page_argument(node) and not actual else 1
    child = _cost(node.selection_set, concrete, fragments, variables, value if actual else None)
    return size * (1 + child)


def _connection_nodes(
    node: FieldNode,
    connection: Any,
    fragments: Mapping[str, Any],
    variables: Mapping[str, Any],
    value: Any,
    actual: bool,
) -> int:
    """Cost of the nodes of a connection: page size × one node, or each node returned."""
    node_type = get_named_type(connection.fields["nodes"].type)
    costs = []
    for part in _fields(node.selection_set, fragments) if node.selection_set else ():
        if part.name.value == "nodes":
            selection, items = part.selection_set, (value or {}).get("nodes") if actual else None
        elif part.name.value == "edges":
            inner = [f for f in _fields(part.selection_set, fragments) if f.name.value == "node"]
            if not inner:
                continue
            selection = inner[0].selection_set
            edges = (value or {}).get("edges") if actual else None
            items = [e.get("node") for e in edges or []] if actual else None
        else:
            continue
        if actual:
            costs.append(
                sum(
                    1 + _cost(selection, node_type, fragments, variables, item)
                    for item in items or []
                )
            )
        else:
            costs.append(
                _page_size(node, variables)
                * (1 + _cost(selection, node_type, fragments, variables, None))
            )
    return max(costs, default=0)


def _has_page_argument(node: FieldNode) -> bool:
    return any(a.name.value in ("first", "last") for a in node.arguments or ())


def _page_size(node: FieldNode, variables: Mapping[str, Any]) -> int:
    for argument in node.arguments or ():
        if argument.name.value in ("first", "last"):
            value = value_from_ast_untyped(argument.value, dict(variables))
            return int(value) if value is not None else _DEFAULT_PAGE
    return _DEFAULT_PAGE
