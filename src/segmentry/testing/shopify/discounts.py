"""The fake's code discounts: ``discountCodeBasicCreate``, ``discountRedeemCodeBulkAdd`` (run
asynchronously, polled with ``discountRedeemCodeBulkCreation``) and ``codeDiscountNodeByCode``,
checked as shopify.dev documents them (Admin GraphQL 2026-10):

- both mutations need the ``write_discounts`` scope, the queries ``read_discounts`` (which
  ``write_discounts`` implies); without it the field fails with ``ACCESS_DENIED``;
- ``DiscountCodeBasicInput``: when creating, ``code``, ``context`` (or the deprecated
  ``customerSelection``), ``customerGets``, ``startsAt`` and ``title`` are required
  (input-objects/DiscountCodeBasicInput); a missing one answers a ``DiscountUserError``
  ``BLANK``; a code already used by any discount of the shop (codes are case-insensitive,
  queries/codeDiscountNodeByCode) answers ``TAKEN``; ``endsAt`` before ``startsAt``
  ``END_DATE_BEFORE_START_DATE``; a percentage outside 0–1 ``VALUE_OUTSIDE_RANGE``; both a
  percentage and an amount, or both ``context`` and ``customerSelection``,
  ``TOO_MANY_ARGUMENTS``; a segment id that is no segment of the shop ``INVALID``
  (enums/DiscountErrorCode);
- ``discountRedeemCodeBulkAdd``: "Maximum: 250 codes" (mutations/discountRedeemCodeBulkAdd):
  more answers ``TOO_MANY_ARGUMENTS`` and nothing is queued; the codes are added in the
  background (:attr:`Discounts.delay` seconds later): ``done`` is false until then, then
  ``importedCount`` / ``failedCount`` and per code ``errors`` (``TAKEN`` for a code in use,
  also twice in one call) — objects/DiscountRedeemCodeBulkCreation.

The fake's own choices where the reference says nothing: the messages' wording and the error
codes for a missing discount (``INVALID``) and an empty code list (``BLANK``).
"""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["MAX_BULK_CODES", "SDL", "Discounts"]

MAX_BULK_CODES = 250
MAX_CODE_LENGTH = 255

SDL = """
enum DiscountBuyerSelection { ALL }
enum DiscountErrorCode {
  BLANK INVALID TAKEN TOO_LONG TOO_MANY_ARGUMENTS MISSING_ARGUMENT VALUE_OUTSIDE_RANGE
  END_DATE_BEFORE_START_DATE EXCEEDED_MAX INTERNAL_ERROR
}
type DiscountUserError {
  field: [String!] message: String! code: DiscountErrorCode extraInfo: String
}
input DiscountAmountInput { amount: Decimal appliesOnEachItem: Boolean }
input DiscountCustomerGetsValueInput { percentage: Float discountAmount: DiscountAmountInput }
input DiscountItemsInput { all: Boolean }
input DiscountCustomerGetsInput { value: DiscountCustomerGetsValueInput items: DiscountItemsInput }
input DiscountCustomerSegmentsInput { add: [ID!] remove: [ID!] }
input DiscountCustomersInput { add: [ID!] remove: [ID!] }
input DiscountContextInput {
  all: DiscountBuyerSelection customers: DiscountCustomersInput
  customerSegments: DiscountCustomerSegmentsInput
}
input DiscountCustomerSelectionInput {
  all: Boolean customers: DiscountCustomersInput customerSegments: DiscountCustomerSegmentsInput
}
input DiscountCodeBasicInput {
  title: String code: String startsAt: DateTime endsAt: DateTime
  customerGets: DiscountCustomerGetsInput context: DiscountContextInput
  customerSelection: DiscountCustomerSelectionInput appliesOncePerCustomer: Boolean
  usageLimit: Int
}
input DiscountRedeemCodeInput { code: String! }
type DiscountRedeemCode { id: ID! code: String! asyncUsageCount: Int! }
type DiscountCodeBasic {
  title: String! startsAt: DateTime! endsAt: DateTime usageLimit: Int
  appliesOncePerCustomer: Boolean! codesCount: Count
  codes(first: Int, after: String): DiscountRedeemCodeConnection!
  customerSegmentIds: [ID!]!
}
union DiscountCode = DiscountCodeBasic
type DiscountCodeNode { id: ID! codeDiscount: DiscountCode! }
type DiscountRedeemCodeConnection { nodes: [DiscountRedeemCode!]! pageInfo: PageInfo! }
type DiscountRedeemCodeBulkCreationCode {
  code: String! discountRedeemCode: DiscountRedeemCode errors: [DiscountUserError!]!
}
type DiscountRedeemCodeBulkCreationCodeConnection {
  nodes: [DiscountRedeemCodeBulkCreationCode!]! pageInfo: PageInfo!
}
type DiscountRedeemCodeBulkCreation {
  id: ID! done: Boolean! codesCount: Int! importedCount: Int! failedCount: Int!
  createdAt: DateTime! discountCode: DiscountCodeNode
  codes(first: Int, after: String): DiscountRedeemCodeBulkCreationCodeConnection!
}
type DiscountCodeBasicCreatePayload {
  codeDiscountNode: DiscountCodeNode userErrors: [DiscountUserError!]!
}
type DiscountRedeemCodeBulkAddPayload {
  bulkCreation: DiscountRedeemCodeBulkCreation userErrors: [DiscountUserError!]!
}
"""
QUERY_FIELDS = """
  codeDiscountNodeByCode(code: String!): DiscountCodeNode
  discountRedeemCodeBulkCreation(id: ID!): DiscountRedeemCodeBulkCreation
"""
MUTATION_FIELDS = """
  discountCodeBasicCreate(
    basicCodeDiscount: DiscountCodeBasicInput!
  ): DiscountCodeBasicCreatePayload
  discountRedeemCodeBulkAdd(
    discountId: ID!, codes: [DiscountRedeemCodeInput!]!
  ): DiscountRedeemCodeBulkAddPayload
"""


def _error(field: list[str], message: str, code: str) -> dict[str, Any]:
    return {"field": field, "message": message, "code": code, "extraInfo": None}


class Discounts:
    """The shop's code discounts and bulk code creations (thread-safe: one lock)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.nodes: dict[str, dict[str, Any]] = {}  # DiscountCodeNode gid → node
        self.codes: dict[str, tuple[str, dict[str, Any] | None]] = {}  # CODE → (node, redeem)
        self.creations: dict[str, dict[str, Any]] = {}
        self.delay = 0.05  # seconds before a bulk creation runs (its ``done`` turns true)
        self.calls: list[tuple[str, int]] = []  # (mutation, codes asked) — what tests count
        self._next = 1000

    def _id(self) -> int:
        self._next += 1
        return self._next

    # ------------------------------------------------------------ reading

    def by_code(self, code: str) -> dict[str, Any] | None:
        with self.lock:
            found = self.codes.get(code.upper())
            return None if found is None else self.nodes[found[0]]

    def all_codes(self) -> set[str]:
        with self.lock:
            return set(self.codes)

    # ------------------------------------------------------------ discountCodeBasicCreate

    def create_basic(self, value: dict[str, Any], segments: set[str], now: str) -> dict:
        with self.lock:
            self.calls.append(("discountCodeBasicCreate", 1))
            errors = self._basic_errors(value, segments)
            if errors:
                return {"codeDiscountNode": None, "userErrors": errors}
            node_id = f"gid://shopify/DiscountCodeNode/{self._id()}"
            context = value.get("context") or value.get("customerSelection") or {}
            basic = {
                "__typename": "DiscountCodeBasic",
                "title": value["title"], "startsAt": value["startsAt"],
                "endsAt": value.get("endsAt"), "usageLimit": value.get("usageLimit"),
                "appliesOncePerCustomer": bool(value.get("appliesOncePerCustomer")),
                "customerGets": value["customerGets"],
                "customerSegmentIds": list((context.get("customerSegments") or {})
                                           .get("add") or []),
                "_codes": [],
            }
            node = {"id": node_id, "codeDiscount": basic}
            self.nodes[node_id] = node
            self._add_code(node_id, value["code"], now, primary=True)
            return {"codeDiscountNode": node, "userErrors": []}

    def _add_code(self, node_id: str, code: str, now: str, *, primary: bool = False
                  ) -> dict[str, Any]:
        redeem = {"id": f"gid://shopify/DiscountRedeemCode/{self._id()}", "code": code,
                  "asyncUsageCount": 0, "createdAt": now}
        self.nodes[node_id]["codeDiscount"]["_codes"].append(redeem)
        self.codes[code.upper()] = (node_id, redeem)
        return redeem

    def _basic_errors(self, value: dict[str, Any], segments: set[str]) -> list[dict]:
        at = ["basicCodeDiscount"]
        errors = [_error([*at, name], f"{name} can't be blank", "BLANK")
                  for name in ("title", "code", "startsAt", "customerGets")
                  if value.get(name) in (None, "")]
        if value.get("context") is None and value.get("customerSelection") is None:
            errors.append(_error([*at, "context"], "context can't be blank", "BLANK"))
        if value.get("context") is not None and value.get("customerSelection") is not None:
            errors.append(_error([*at, "context"], "Only one of context or customerSelection "
                                 "can be given", "TOO_MANY_ARGUMENTS"))
        code = value.get("code") or ""
        if len(code) > MAX_CODE_LENGTH:
            errors.append(_error([*at, "code"], "Code is too long", "TOO_LONG"))
        if code and code.upper() in self.codes:
            errors.append(_error([*at, "code"],
                                 "Code must be unique. Please try a different code.", "TAKEN"))
        starts, ends = value.get("startsAt"), value.get("endsAt")
        if starts and ends and _time(ends) <= _time(starts):
            errors.append(_error([*at, "endsAt"], "Ends at needs to be after starts_at",
                                 "END_DATE_BEFORE_START_DATE"))
        errors += _value_errors(value.get("customerGets") or {}, at)
        context = value.get("context") or value.get("customerSelection") or {}
        for segment in (context.get("customerSegments") or {}).get("add") or []:
            if segment not in segments:
                errors.append(_error([*at, "context", "customerSegments", "add"],
                                     f"Customer segment {segment} does not exist", "INVALID"))
        limit = value.get("usageLimit")
        if limit is not None and not 1 <= limit <= 99_999_999:
            errors.append(_error([*at, "usageLimit"], "Usage limit is out of range",
                                 "VALUE_OUTSIDE_RANGE"))
        return errors

    # ------------------------------------------------------------ discountRedeemCodeBulkAdd

    def bulk_add(self, discount_id: str, codes: list[dict[str, Any]], now: str) -> dict:
        with self.lock:
            self.calls.append(("discountRedeemCodeBulkAdd", len(codes)))
            if discount_id not in self.nodes:
                return {"bulkCreation": None, "userErrors": [
                    _error(["discountId"], "Code discount does not exist.", "INVALID")]}
            if not codes:
                return {"bulkCreation": None, "userErrors": [
                    _error(["codes"], "Codes can't be blank", "BLANK")]}
            if len(codes) > MAX_BULK_CODES:
                return {"bulkCreation": None, "userErrors": [_error(
                    ["codes"], f"Codes can't exceed {MAX_BULK_CODES} per request",
                    "TOO_MANY_ARGUMENTS")]}
            creation_id = f"gid://shopify/DiscountRedeemCodeBulkCreation/{self._id()}"
            creation = {
                "id": creation_id, "done": False, "codesCount": len(codes), "importedCount": 0,
                "failedCount": 0, "createdAt": now, "discountCode": self.nodes[discount_id],
                "_codes": [{"code": c["code"], "discountRedeemCode": None, "errors": []}
                           for c in codes],
            }
            self.creations[creation_id] = creation
        timer = threading.Timer(self.delay, self._run, (creation_id, discount_id, now))
        timer.daemon = True
        timer.start()
        return {"bulkCreation": creation, "userErrors": []}

    def _run(self, creation_id: str, discount_id: str, now: str) -> None:
        with self.lock:
            creation = self.creations[creation_id]
            for row in creation["_codes"]:
                code = row["code"]
                if not code.strip() or len(code) > MAX_CODE_LENGTH:
                    row["errors"] = [_error(["code"], "Code is invalid", "INVALID")]
                elif code.upper() in self.codes:
                    row["errors"] = [_error(["code"], "Code must be unique. Please try a "
                                            "different code.", "TAKEN")]
                else:
                    row["discountRedeemCode"] = self._add_code(discount_id, code, now)
            creation["importedCount"] = sum(1 for r in creation["_codes"] if not r["errors"])
            creation["failedCount"] = len(creation["_codes"]) - creation["importedCount"]
            creation["done"] = True

    def creation(self, creation_id: str) -> dict[str, Any] | None:
        with self.lock:
            return self.creations.get(creation_id)


def _value_errors(gets: dict[str, Any], at: list[str]) -> list[dict[str, Any]]:
    value = gets.get("value") or {}
    where = [*at, "customerGets", "value"]
    if value.get("percentage") is not None and value.get("discountAmount") is not None:
        return [_error(where, "Only one of percentage or discountAmount can be given",
                       "TOO_MANY_ARGUMENTS")]
    if value.get("percentage") is not None and not 0 <= value["percentage"] <= 1:
        return [_error([*where, "percentage"], "Percentage must be between 0 and 1",
                       "VALUE_OUTSIDE_RANGE")]
    amount = (value.get("discountAmount") or {}).get("amount")
    if amount is not None:
        try:
            if Decimal(str(amount)) <= 0:
                raise InvalidOperation
        except InvalidOperation:
            return [_error([*where, "discountAmount", "amount"], "Amount must be greater "
                           "than 0", "VALUE_OUTSIDE_RANGE")]
    if value.get("percentage") is None and amount is None and gets:
        return [_error(where, "value can't be blank", "BLANK")]
    return []


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))


def page(items: list[dict[str, Any]], first: int | None, after: str | None) -> dict[str, Any]:
    """A connection over ``items`` (cursor: the index after the last one returned)."""
    start = int(after) if after else 0
    end = start + (first or 50)
    return {"nodes": items[start:end], "pageInfo": {
        "hasNextPage": end < len(items), "hasPreviousPage": start > 0,
        "startCursor": str(start), "endCursor": str(min(end, len(items)))}}
