"""The fake's GraphQL schema: the part of Shopify's Admin API segmentry uses, with resolvers.

Field names, types and payload shapes follow shopify.dev's Admin GraphQL reference (2025-10).
Resolvers read a :class:`~segmentry.testing.shopify.data.FakeData` from the execution context,
check the token's scopes (``ACCESS_DENIED`` errors shaped as Shopify's), and honour the
``read_all_orders`` 60-day window. In *bulk* mode (a bulk operation's query) connections return
every match regardless of ``first``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo, GraphQLSchema, build_schema

from segmentry.testing.shopify import discounts
from segmentry.testing.shopify.data import FakeData, iso
from segmentry.testing.shopify.segment_query import query_refusal

__all__ = ["SDL", "Context", "build"]

SDL = """
scalar DateTime
scalar URL
scalar Decimal
scalar UnsignedInt64

interface Node { id: ID! }

enum CustomerSortKeys { CREATED_AT ID LOCATION NAME RELEVANCE UPDATED_AT }
enum OrderSortKeys { CREATED_AT ID PROCESSED_AT TOTAL_PRICE UPDATED_AT }
enum ProductSortKeys { CREATED_AT ID TITLE UPDATED_AT }
enum AbandonedCheckoutSortKeys { CHECKOUT_ID CREATED_AT CUSTOMER_NAME ID RELEVANCE TOTAL_PRICE }
enum BulkOperationType { QUERY MUTATION }
enum BulkOperationStatus { CANCELED CANCELING COMPLETED CREATED EXPIRED FAILED RUNNING }
enum StagedUploadTargetGenerateUploadResource { BULK_MUTATION_VARIABLES }
enum StagedUploadHttpMethodType { POST PUT }

type PageInfo {
  hasNextPage: Boolean! hasPreviousPage: Boolean! startCursor: String endCursor: String
}
type MoneyV2 { amount: Decimal! currencyCode: String! }
type MoneyBag { shopMoney: MoneyV2! presentmentMoney: MoneyV2! }
type Count { count: Int! precision: String! }
type UserError { field: [String!] message: String! }

type CustomerEmailAddress {
  emailAddress: String marketingState: String! marketingUpdatedAt: DateTime
}
enum CustomerEmailMarketingState { INVALID NOT_SUBSCRIBED PENDING REDACTED SUBSCRIBED UNSUBSCRIBED }
enum CustomerMarketingOptInLevel { CONFIRMED_OPT_IN SINGLE_OPT_IN UNKNOWN }
type CustomerEmailMarketingConsentState {
  marketingState: CustomerEmailMarketingState! marketingOptInLevel: CustomerMarketingOptInLevel
  consentUpdatedAt: DateTime
}
type CustomerPhoneNumber { phoneNumber: String! marketingState: String! }
type MailingAddress {
  address1: String city: String province: String provinceCode: String country: String
  countryCodeV2: String zip: String phone: String latitude: Float longitude: Float
}
enum CustomerState { DECLINED DISABLED ENABLED INVITED }
enum CustomerProductSubscriberStatus { ACTIVE CANCELLED EXPIRED FAILED NEVER_SUBSCRIBED PAUSED }
type Company implements Node { id: ID! name: String! }
type CompanyContact implements Node { id: ID! company: Company! }
type Metafield implements Node {
  id: ID! namespace: String! key: String! value: String! type: String!
}
enum CustomerRfmGroup {
  ACTIVE ALMOST_LOST AT_RISK CHAMPIONS DORMANT LOYAL NEEDS_ATTENTION NEW PREVIOUSLY_LOYAL PROMISING
  PROSPECTS
}
enum CustomerPredictedSpendTier { HIGH LOW MEDIUM }
type CustomerStatistics {
  rfmGroup: CustomerRfmGroup predictedSpendTier: CustomerPredictedSpendTier
}
# Store credit (2024-07 on): Customer.storeCreditAccounts needs read_store_credit_accounts,
# an account's transactions read_store_credit_account_transactions. The interface has no id;
# credits and debits are Nodes, an expiration is not.
enum TransactionSortKeys { CREATED_AT EXPIRES_AT ID RELEVANCE }
interface HasStoreCreditAccounts {
  storeCreditAccounts(first: Int, after: String, last: Int, before: String, reverse: Boolean,
                      query: String): StoreCreditAccountConnection!
}
type StoreCreditAccount implements Node {
  id: ID! balance: MoneyV2! owner: HasStoreCreditAccounts!
  transactions(first: Int, after: String, last: Int, before: String, reverse: Boolean,
               sortKey: TransactionSortKeys,
               query: String): StoreCreditAccountTransactionConnection!
}
type StoreCreditAccountEdge { cursor: String! node: StoreCreditAccount! }
type StoreCreditAccountConnection {
  edges: [StoreCreditAccountEdge!]! nodes: [StoreCreditAccount!]! pageInfo: PageInfo!
}
interface StoreCreditAccountTransaction {
  account: StoreCreditAccount! amount: MoneyV2! balanceAfterTransaction: MoneyV2!
  createdAt: DateTime!
}
type StoreCreditAccountCreditTransaction implements Node & StoreCreditAccountTransaction {
  id: ID! account: StoreCreditAccount! amount: MoneyV2! balanceAfterTransaction: MoneyV2!
  createdAt: DateTime! expiresAt: DateTime remainingAmount: MoneyV2!
}
type StoreCreditAccountDebitTransaction implements Node & StoreCreditAccountTransaction {
  id: ID! account: StoreCreditAccount! amount: MoneyV2! balanceAfterTransaction: MoneyV2!
  createdAt: DateTime!
}
type StoreCreditAccountDebitRevertTransaction implements Node & StoreCreditAccountTransaction {
  id: ID! account: StoreCreditAccount! amount: MoneyV2! balanceAfterTransaction: MoneyV2!
  createdAt: DateTime! debitTransaction: StoreCreditAccountDebitTransaction!
}
type StoreCreditAccountExpirationTransaction implements StoreCreditAccountTransaction {
  account: StoreCreditAccount! amount: MoneyV2! balanceAfterTransaction: MoneyV2!
  createdAt: DateTime! creditTransaction: StoreCreditAccountCreditTransaction!
}
type StoreCreditAccountTransactionEdge { cursor: String! node: StoreCreditAccountTransaction! }
type StoreCreditAccountTransactionConnection {
  edges: [StoreCreditAccountTransactionEdge!]! nodes: [StoreCreditAccountTransaction!]!
  pageInfo: PageInfo!
}
type Customer implements Node & HasStoreCreditAccounts {
  id: ID! legacyResourceId: UnsignedInt64! firstName: String lastName: String
  email: String @deprecated(reason: "Use defaultEmailAddress.emailAddress instead")
  phone: String @deprecated(reason: "Use defaultPhoneNumber.phoneNumber instead")
  defaultEmailAddress: CustomerEmailAddress defaultPhoneNumber: CustomerPhoneNumber
  defaultAddress: MailingAddress tags: [String!]! createdAt: DateTime! updatedAt: DateTime!
  numberOfOrders: UnsignedInt64! amountSpent: MoneyV2!
  locale: String! state: CustomerState! productSubscriberStatus: CustomerProductSubscriberStatus!
  companyContactProfiles: [CompanyContact!]!
  metafield(namespace: String, key: String!): Metafield
  emailMarketingConsent: CustomerEmailMarketingConsentState
    @deprecated(reason: "Use defaultEmailAddress.marketingState instead")
  statistics: CustomerStatistics!
  storeCreditAccounts(first: Int, after: String, last: Int, before: String, reverse: Boolean,
                      query: String): StoreCreditAccountConnection!
}
type CustomerEdge { cursor: String! node: Customer! }
type CustomerConnection { edges: [CustomerEdge!]! nodes: [Customer!]! pageInfo: PageInfo! }

type UTMParameters { source: String medium: String campaign: String content: String term: String }
type CustomerVisit {
  source: String! sourceType: String landingPage: URL referrerUrl: URL referralCode: String
  occurredAt: DateTime! utmParameters: UTMParameters
}
type CustomerJourneySummary {
  ready: Boolean! customerOrderIndex: Int firstVisit: CustomerVisit lastVisit: CustomerVisit
}
type ProductVariant implements Node { id: ID! sku: String }
type TaxonomyCategory implements Node { id: ID! name: String! fullName: String! }
type Product implements Node {
  id: ID! legacyResourceId: UnsignedInt64! title: String! productType: String! vendor: String!
  tags: [String!]! createdAt: DateTime! updatedAt: DateTime! category: TaxonomyCategory
}
type ProductEdge { cursor: String! node: Product! }
type ProductConnection { edges: [ProductEdge!]! nodes: [Product!]! pageInfo: PageInfo! }
type LineItem implements Node {
  id: ID! sku: String name: String! title: String! quantity: Int!
  originalUnitPriceSet: MoneyBag! discountedTotalSet: MoneyBag!
  product: Product variant: ProductVariant
}
type LineItemEdge { cursor: String! node: LineItem! }
type LineItemConnection { edges: [LineItemEdge!]! nodes: [LineItem!]! pageInfo: PageInfo! }
type Refund implements Node { id: ID! createdAt: DateTime totalRefundedSet: MoneyBag! }
type Location implements Node { id: ID! name: String! }
type OrderApp { id: ID! name: String! }
type Order implements Node {
  id: ID! legacyResourceId: UnsignedInt64! name: String! createdAt: DateTime!
  processedAt: DateTime! updatedAt: DateTime! cancelledAt: DateTime currencyCode: String!
  email: String test: Boolean! tags: [String!]! sourceName: String discountCodes: [String!]!
  subtotalPriceSet: MoneyBag totalDiscountsSet: MoneyBag totalShippingPriceSet: MoneyBag!
  totalTaxSet: MoneyBag totalPriceSet: MoneyBag! totalRefundedSet: MoneyBag!
  customer: Customer customerJourneySummary: CustomerJourneySummary
  lineItems(first: Int, after: String): LineItemConnection!
  refunds(first: Int): [Refund!]!
  retailLocation: Location app: OrderApp
}
type OrderEdge { cursor: String! node: Order! }
type OrderConnection { edges: [OrderEdge!]! nodes: [Order!]! pageInfo: PageInfo! }

type AbandonedCheckout implements Node {
  id: ID! name: String! createdAt: DateTime! updatedAt: DateTime! completedAt: DateTime
  customer: Customer totalPriceSet: MoneyBag!
}
type AbandonedCheckoutEdge { cursor: String! node: AbandonedCheckout! }
type AbandonedCheckoutConnection {
  edges: [AbandonedCheckoutEdge!]! nodes: [AbandonedCheckout!]! pageInfo: PageInfo!
}

type Segment implements Node {
  id: ID! name: String! query: String! creationDate: DateTime! lastEditDate: DateTime!
}
type SegmentEdge { cursor: String! node: Segment! }
type SegmentConnection { edges: [SegmentEdge!]! nodes: [Segment!]! pageInfo: PageInfo! }

type AccessScope { handle: String! description: String! }
type AppInstallation { id: ID! accessScopes: [AccessScope!]! }
type Shop {
  id: ID! name: String! myshopifyDomain: String! currencyCode: String! ianaTimezone: String!
}

type BulkOperation implements Node {
  id: ID! status: BulkOperationStatus! type: BulkOperationType! errorCode: String
  createdAt: DateTime! completedAt: DateTime objectCount: UnsignedInt64!
  rootObjectCount: UnsignedInt64! fileSize: UnsignedInt64 url: URL partialDataUrl: URL
  query: String!
}
type BulkOperationUserError { field: [String!] message: String! code: String }
type BulkOperationRunQueryPayload {
  bulkOperation: BulkOperation userErrors: [BulkOperationUserError!]!
}
type BulkOperationRunMutationPayload {
  bulkOperation: BulkOperation userErrors: [BulkOperationUserError!]!
}
type StagedUploadParameter { name: String! value: String! }
type StagedMediaUploadTarget { url: URL resourceUrl: URL parameters: [StagedUploadParameter!]! }
type StagedUploadsCreatePayload {
  stagedTargets: [StagedMediaUploadTarget!] userErrors: [UserError!]!
}
input StagedUploadInput {
  resource: StagedUploadTargetGenerateUploadResource! filename: String! mimeType: String!
  httpMethod: StagedUploadHttpMethodType fileSize: UnsignedInt64
}

type TagsAddPayload { node: Node userErrors: [UserError!]! }
type TagsRemovePayload { node: Node userErrors: [UserError!]! }
input CustomerEmailMarketingConsentInput {
  marketingState: CustomerEmailMarketingState! marketingOptInLevel: CustomerMarketingOptInLevel
  consentUpdatedAt: DateTime sourceLocationId: ID
}
input CustomerEmailMarketingConsentUpdateInput {
  customerId: ID! emailMarketingConsent: CustomerEmailMarketingConsentInput!
}
enum CustomerEmailMarketingConsentUpdateUserErrorCode {
  INCLUSION INTERNAL_ERROR INVALID MISSING_ARGUMENT
}
type CustomerEmailMarketingConsentUpdateUserError {
  field: [String!] message: String! code: CustomerEmailMarketingConsentUpdateUserErrorCode
}
type CustomerEmailMarketingConsentUpdatePayload {
  customer: Customer userErrors: [CustomerEmailMarketingConsentUpdateUserError!]!
}
type SegmentCreatePayload { segment: Segment userErrors: [UserError!]! }
type SegmentUpdatePayload { segment: Segment userErrors: [UserError!]! }

type QueryRoot {
  shop: Shop!
  currentAppInstallation: AppInstallation!
  customers(first: Int, last: Int, after: String, query: String, sortKey: CustomerSortKeys,
            reverse: Boolean): CustomerConnection!
  customersCount(query: String): Count
  customer(id: ID!): Customer
  orders(first: Int, last: Int, after: String, query: String, sortKey: OrderSortKeys,
         reverse: Boolean): OrderConnection!
  ordersCount(query: String): Count
  order(id: ID!): Order
  products(first: Int, last: Int, after: String, query: String, sortKey: ProductSortKeys,
           reverse: Boolean): ProductConnection!
  abandonedCheckouts(first: Int, last: Int, after: String, before: String, query: String,
                     sortKey: AbandonedCheckoutSortKeys, reverse: Boolean,
                     savedSearchId: ID): AbandonedCheckoutConnection!
  segments(first: Int, after: String, query: String): SegmentConnection!
  segment(id: ID!): Segment
  storeCreditAccount(id: ID!): StoreCreditAccount
  currentBulkOperation(type: BulkOperationType): BulkOperation
  node(id: ID!): Node
""" + discounts.QUERY_FIELDS + """
}

type Mutation {
  tagsAdd(id: ID!, tags: [String!]!): TagsAddPayload
  tagsRemove(id: ID!, tags: [String!]!): TagsRemovePayload
  segmentCreate(name: String!, query: String!): SegmentCreatePayload
  segmentUpdate(id: ID!, name: String, query: String): SegmentUpdatePayload
  customerEmailMarketingConsentUpdate(
    input: CustomerEmailMarketingConsentUpdateInput!
  ): CustomerEmailMarketingConsentUpdatePayload
  bulkOperationRunQuery(query: String!, groupObjects: Boolean): BulkOperationRunQueryPayload
  bulkOperationRunMutation(mutation: String!, stagedUploadPath: String!,
                           clientIdentifier: String,
                           groupObjects: Boolean): BulkOperationRunMutationPayload
  stagedUploadsCreate(input: [StagedUploadInput!]!): StagedUploadsCreatePayload
""" + discounts.MUTATION_FIELDS + """
}

schema { query: QueryRoot mutation: Mutation }
""" + discounts.SDL

_READ_SCOPE = {"customers": "read_customers", "orders": "read_orders", "products": "read_products",
               "abandonedCheckouts": "read_orders"}
_WRITE_SCOPE = {"Customer": "write_customers", "Order": "write_orders", "Product": "write_products"}
_ORDER_WINDOW = dt.timedelta(days=60)


@dataclass
class Context:
    """What a resolver knows about the request: the store, the token's scopes, the mode."""

    data: FakeData
    scopes: frozenset[str]
    bulk: bool = False
    server: Any = None  # the FakeShopify, for bulk operations and staged uploads
    version: str = "2026-10"  # the API version the request is answered with
    notes: dict[str, Any] = field(default_factory=dict)


def _ctx(info: GraphQLResolveInfo) -> Context:
    context: Context = info.context
    return context


def require(info: GraphQLResolveInfo, scope: str, what: str) -> None:
    """Raise Shopify's ACCESS_DENIED error unless the token has ``scope``."""
    if scope not in _ctx(info).scopes:
        raise GraphQLError(
            f"Access denied for {what} field. Required access: `{scope}` access scope.",
            extensions={
                "code": "ACCESS_DENIED",
                "documentation": "https://shopify.dev/api/usage/access-scopes",
                "requiredAccess": f"`{scope}` access scope.",
            },
        )


# Customer field → the protected customer data it is (see shopify.dev, "Work with protected
# customer data": level 2 is name, email, phone and address).
PROTECTED_FIELDS = {
    "firstName": "name", "lastName": "name", "email": "email", "defaultEmailAddress": "email",
    "phone": "phone", "defaultPhoneNumber": "phone", "defaultAddress": "address",
}
_DATA_DOCS = "https://shopify.dev/docs/apps/launch/protected-customer-data"


def _protected(name: str) -> Any:
    """A Customer field's resolver that fails as Shopify does when the app is not approved
    for the protected customer data it holds (``FakeShopify.withhold``)."""
    def resolve(customer: dict[str, Any], info: GraphQLResolveInfo) -> Any:
        server = _ctx(info).server
        if server is not None and PROTECTED_FIELDS[name] in server.withhold:
            what = ("access the MailingAddress object" if name == "defaultAddress"
                    else f"use the {name} field")
            raise GraphQLError(
                f"This app is not approved to {what}. See {_DATA_DOCS} for more details.",
                extensions={"code": "ACCESS_DENIED", "documentation": _DATA_DOCS},
            )
        return customer.get(name)

    return resolve


def _connection(kind: str) -> Any:
    def resolve(_root: Any, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        require(info, _READ_SCOPE[kind], kind)
        ctx = _ctx(info)
        first = None if ctx.bulk else args.get("first") or args.get("last")
        if first is None and not ctx.bulk:
            raise GraphQLError("you must provide one of first or last")
        if first is not None and first > 250:
            raise GraphQLError("The first argument may not exceed 250.")
        query = args.get("query")
        if kind == "orders" and "read_all_orders" not in ctx.scopes:
            since = iso(dt.datetime.now(dt.UTC) - _ORDER_WINDOW)
            query = f"{query or ''} created_at:>='{since}'"
        nodes, info_, cursors = ctx.data.page(
            kind,
            first=first,
            after=args.get("after"),
            query=query,
            sort_key=args.get("sortKey"),
            reverse=bool(args.get("reverse")),
        )
        edges = [{"cursor": c, "node": n} for c, n in zip(cursors, nodes, strict=True)]
        return {"nodes": nodes, "edges": edges, "pageInfo": info_}

    return resolve


def _count(kind: str) -> Any:
    def resolve(_root: Any, info: GraphQLResolveInfo, query: str | None = None) -> dict:
        require(info, _READ_SCOPE[kind], f"{kind}Count")
        return {"count": len(_ctx(info).data.search(kind, query)), "precision": "EXACT"}

    return resolve


def _line_items(order: dict[str, Any], info: GraphQLResolveInfo, **args: Any) -> dict:
    return _listed(order["lineItems"], info, **args)


def _listed(items: list[dict[str, Any]], info: GraphQLResolveInfo, **args: Any) -> dict:
    """A connection over a list held by its parent (cursors are positions)."""
    first = None if _ctx(info).bulk else args.get("first")
    if first is None and not _ctx(info).bulk:
        raise GraphQLError("you must provide one of first or last")
    start = int(args["after"]) if args.get("after") else 0
    page = items[start:] if first is None else items[start : start + first]
    cursors = [str(start + i + 1) for i in range(len(page))]
    more = first is not None and start + first < len(items)
    return {
        "nodes": page,
        "edges": [{"cursor": c, "node": n} for c, n in zip(cursors, page, strict=True)],
        "pageInfo": {
            "hasNextPage": more,
            "hasPreviousPage": start > 0,
            "startCursor": cursors[0] if cursors else None,
            "endCursor": cursors[-1] if cursors else None,
        },
    }


_CREDIT_ACCOUNTS, _CREDIT_TRANSACTIONS = ("read_store_credit_accounts",
                                          "read_store_credit_account_transactions")


def _store_credit_accounts(customer: dict[str, Any], info: GraphQLResolveInfo,
                           **args: Any) -> dict:
    require(info, _CREDIT_ACCOUNTS, "storeCreditAccounts")
    data = _ctx(info).data
    accounts = [data.get(a) for a in customer.get("_storeCreditAccounts") or ()]
    return _listed([a for a in accounts if a is not None], info, **args)


def _store_credit_account(_root: Any, info: GraphQLResolveInfo, id: str) -> Any:
    require(info, _CREDIT_ACCOUNTS, "storeCreditAccount")
    found = _ctx(info).data.get(id)
    return found if found is not None and found["__typename"] == "StoreCreditAccount" else None


def _credit_transactions(account: dict[str, Any], info: GraphQLResolveInfo,
                         **args: Any) -> dict:
    """An account's transactions, oldest first (``reverse``: newest first)."""
    require(info, _CREDIT_TRANSACTIONS, "transactions")
    items = sorted(account["transactions"], key=lambda t: t["createdAt"],
                   reverse=bool(args.pop("reverse", False)))
    args.pop("sortKey", None)
    args.pop("query", None)
    return _listed(items, info, **args)


def _line_product(line: dict[str, Any], info: GraphQLResolveInfo) -> dict[str, Any] | None:
    if not line.get("productId"):
        return None
    product = _ctx(info).data.get(line["productId"])
    return product or {
        "id": line["productId"],
        "title": line.get("title") or "",
        **line["_product"],
    }


def _tags_mutation(adding: bool) -> Any:
    def resolve(_root: Any, info: GraphQLResolveInfo, id: str, tags: list[str]) -> dict:
        data = _ctx(info).data
        kind = id.split("/")[3] if id.count("/") >= 4 else ""
        require(
            info, _WRITE_SCOPE.get(kind, "write_customers"), "tagsAdd" if adding else "tagsRemove"
        )
        wanted = [t.strip() for tag in tags for t in tag.split(",") if t.strip()]
        server = _ctx(info).server
        if server is not None and id in server.refuse_writes:
            raise GraphQLError(server.refuse_writes[id])
        if server is not None and id in server.user_errors:
            return {"node": None,
                    "userErrors": [{"field": ["id"], "message": server.user_errors[id]}]}
        with data.lock:
            obj = data.get(id)
            if obj is None:
                return {"node": None, "userErrors": [{"field": ["id"], "message": "Not found"}]}
            current = {t.casefold(): t for t in obj["tags"]}
            for tag in wanted:
                if adding:
                    current.setdefault(tag.casefold(), tag)
                else:
                    current.pop(tag.casefold(), None)
            data.set_tags(id, list(current.values()))
        if _ctx(info).server is not None:
            _ctx(info).server.record("tagsAdd" if adding else "tagsRemove", id, wanted)
        return {"node": obj, "userErrors": []}

    return resolve


def _segment_create(_root: Any, info: GraphQLResolveInfo, name: str, query: str) -> dict:
    require(info, "write_customers", "segmentCreate")
    data = _ctx(info).data
    with data.lock:
        if any(s["name"] == name for s in data.objects["segments"].values()):
            return {
                "segment": None,
                "userErrors": [{"field": ["name"], "message": "Name has already been taken"}],
            }
        refusal = query_refusal(query)
        if refusal is not None:
            return {"segment": None, "userErrors": [{"field": ["query"], "message": refusal}]}
        now = data.now()
        segment = {
            "__typename": "Segment",
            "id": f"gid://shopify/Segment/{data.new_id()}",
            "name": name,
            "query": query,
            "creationDate": now,
            "lastEditDate": now,
        }
        data.objects["segments"][segment["id"]] = segment
        data.touch()
    return {"segment": segment, "userErrors": []}


def _segment_update(
    _root: Any, info: GraphQLResolveInfo, id: str, name: str | None = None, query: str | None = None
) -> dict:
    require(info, "write_customers", "segmentUpdate")
    data = _ctx(info).data
    with data.lock:
        segment = data.objects["segments"].get(id)
        if segment is None:
            return {
                "segment": None,
                "userErrors": [{"field": ["id"], "message": "Segment does not exist"}],
            }
        refusal = None if query is None else query_refusal(query)
        if refusal is not None:
            return {"segment": None, "userErrors": [{"field": ["query"], "message": refusal}]}
        segment.update({k: v for k, v in (("name", name), ("query", query)) if v is not None})
        segment["lastEditDate"] = data.now()
    return {"segment": segment, "userErrors": []}


# Only these states may be set; NOT_SUBSCRIBED, REDACTED and INVALID are Shopify's own.
_SETTABLE_EMAIL_STATES = {"SUBSCRIBED", "UNSUBSCRIBED", "PENDING"}


def _consent_refused(field: list[str], message: str, code: str = "INVALID") -> dict:
    return {"customer": None, "userErrors": [{"field": field, "message": message, "code": code}]}


def _email_consent_update(_root: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict:
    """``customerEmailMarketingConsentUpdate``: sets the customer's e-mail marketing state (and
    when), as the next read of ``defaultEmailAddress.marketingState`` shows."""
    require(info, "write_customers", "customerEmailMarketingConsentUpdate")
    consent = input["emailMarketingConsent"]
    state = consent["marketingState"]
    if state not in _SETTABLE_EMAIL_STATES:
        return _consent_refused(["input", "emailMarketingConsent", "marketingState"],
                                f"Marketing state {state} cannot be set", "INCLUSION")
    data = _ctx(info).data
    with data.lock:
        customer = data.get(input["customerId"])
        if customer is None or customer.get("__typename") != "Customer":
            return _consent_refused(["input", "customerId"], "Customer not found")
        address = customer.get("defaultEmailAddress")
        if not address or not address.get("emailAddress"):
            return _consent_refused(["input", "customerId"],
                                    "Customer must have an email address")
        now = data.now()
        address.update(marketingState=state,
                       marketingUpdatedAt=consent.get("consentUpdatedAt") or now)
        customer["_emailOptInLevel"] = consent.get("marketingOptInLevel")
        customer["updatedAt"] = now
        data.touch()
    server = _ctx(info).server
    if server is not None:
        server.record("customerEmailMarketingConsentUpdate", input["customerId"], [state])
    return {"customer": customer, "userErrors": []}


def _email_consent(customer: dict[str, Any], info: GraphQLResolveInfo) -> dict | None:
    address = customer.get("defaultEmailAddress")
    if not address:
        return None
    return {"marketingState": address["marketingState"],
            "marketingOptInLevel": customer.get("_emailOptInLevel"),
            "consentUpdatedAt": address.get("marketingUpdatedAt")}


def _scopes(_root: Any, info: GraphQLResolveInfo) -> dict[str, Any]:
    handles = sorted(_ctx(info).scopes)
    return {
        "id": "gid://shopify/AppInstallation/1",
        "accessScopes": [{"handle": h, "description": h} for h in handles],
    }


def _server_call(method: str) -> Any:
    def resolve(_root: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
        return getattr(_ctx(info).server, method)(info, **args)

    return resolve


def build() -> GraphQLSchema:
    """The executable schema (resolvers attached to the SDL's fields)."""
    schema = build_schema(SDL)
    query, mutation = schema.query_type, schema.mutation_type
    assert query is not None and mutation is not None
    for kind in ("customers", "orders", "products", "abandonedCheckouts"):
        query.fields[kind].resolve = _connection(kind)
    query.fields["customersCount"].resolve = _count("customers")
    query.fields["ordersCount"].resolve = _count("orders")
    query.fields["segments"].resolve = lambda _r, info, **a: _segments(info, **a)
    query.fields["currentAppInstallation"].resolve = _scopes
    query.fields["shop"].resolve = _server_call("shop_info")
    query.fields["currentBulkOperation"].resolve = _server_call("current_bulk_operation")
    for name in ("customer", "order", "segment", "node"):
        query.fields[name].resolve = lambda _r, info, id: _ctx(info).data.get(id)
    order = schema.get_type("Order")
    order.fields["lineItems"].resolve = _line_items  # type: ignore[union-attr]
    order.fields["customer"].resolve = (  # type: ignore[union-attr]
        lambda o, info: _ctx(info).data.get(o["customerId"]) if o.get("customerId") else None
    )
    order.fields["refunds"].resolve = (  # type: ignore[union-attr]
        lambda o, info, first=None: o["refunds"][:first] if first else o["refunds"]
    )
    checkout = schema.get_type("AbandonedCheckout")
    checkout.fields["customer"].resolve = (  # type: ignore[union-attr]
        lambda c, info: _ctx(info).data.get(c["customerId"]) if c.get("customerId") else None
    )
    line = schema.get_type("LineItem")
    line.fields["product"].resolve = _line_product  # type: ignore[union-attr]
    query.fields["storeCreditAccount"].resolve = _store_credit_account
    account = schema.get_type("StoreCreditAccount")
    account.fields["transactions"].resolve = _credit_transactions  # type: ignore[union-attr]
    account.fields["owner"].resolve = (  # type: ignore[union-attr]
        lambda a, info: _ctx(info).data.get(a["customerId"])
    )
    for kind in ("Credit", "Debit", "DebitRevert", "Expiration"):
        transaction = schema.get_type(f"StoreCreditAccount{kind}Transaction")
        transaction.fields["account"].resolve = (  # type: ignore[union-attr]
            lambda t, info: _ctx(info).data.get(t["accountId"]))
    for name in ("StoreCreditAccountTransaction", "HasStoreCreditAccounts"):
        schema.get_type(name).resolve_type = (  # type: ignore[union-attr]
            lambda obj, _info, _type: obj.get("__typename"))
    customer = schema.get_type("Customer")
    customer.fields["numberOfOrders"].resolve = _number_of_orders  # type: ignore[union-attr]
    customer.fields["amountSpent"].resolve = _amount_spent  # type: ignore[union-attr]
    customer.fields["metafield"].resolve = _metafield  # type: ignore[union-attr]
    customer.fields["storeCreditAccounts"].resolve = (  # type: ignore[union-attr]
        _store_credit_accounts)
    customer.fields["emailMarketingConsent"].resolve = _email_consent  # type: ignore[union-attr]
    for name in PROTECTED_FIELDS:
        customer.fields[name].resolve = _protected(name)  # type: ignore[union-attr]
    node = schema.get_type("Node")
    node.resolve_type = lambda obj, _info, _type: obj.get("__typename")  # type: ignore[union-attr]
    mutation.fields["tagsAdd"].resolve = _tags_mutation(True)
    mutation.fields["tagsRemove"].resolve = _tags_mutation(False)
    mutation.fields["segmentCreate"].resolve = _segment_create
    mutation.fields["segmentUpdate"].resolve = _segment_update
    mutation.fields["customerEmailMarketingConsentUpdate"].resolve = _email_consent_update
    _discount_resolvers(schema)
    for name, method in (
        ("bulkOperationRunQuery", "run_bulk_query"),
        ("bulkOperationRunMutation", "run_bulk_mutation"),
        ("stagedUploadsCreate", "staged_uploads_create"),
    ):
        mutation.fields[name].resolve = _server_call(method)
    return schema


def _discount_resolvers(schema: GraphQLSchema) -> None:
    """Code discounts (:mod:`~segmentry.testing.shopify.discounts`)."""
    query, mutation = schema.query_type, schema.mutation_type
    assert query is not None and mutation is not None
    mutation.fields["discountCodeBasicCreate"].resolve = _discount_create
    mutation.fields["discountRedeemCodeBulkAdd"].resolve = _discount_bulk_add
    query.fields["codeDiscountNodeByCode"].resolve = _discount_by_code
    query.fields["discountRedeemCodeBulkCreation"].resolve = _discount_creation
    basic = schema.get_type("DiscountCodeBasic")
    basic.fields["codes"].resolve = (  # type: ignore[union-attr]
        lambda d, info, first=None, after=None: discounts.page(d["_codes"], first, after))
    basic.fields["codesCount"].resolve = (  # type: ignore[union-attr]
        lambda d, info: {"count": len(d["_codes"]), "precision": "EXACT"})
    creation = schema.get_type("DiscountRedeemCodeBulkCreation")
    creation.fields["codes"].resolve = (  # type: ignore[union-attr]
        lambda c, info, first=None, after=None: discounts.page(c["_codes"], first, after))
    schema.get_type("DiscountCode").resolve_type = (  # type: ignore[union-attr]
        lambda obj, _info, _type: obj.get("__typename"))


def _discount_create(_root: Any, info: GraphQLResolveInfo, basicCodeDiscount: dict) -> dict:
    require(info, "write_discounts", "discountCodeBasicCreate")
    data = _ctx(info).data
    with data.lock:
        segments = set(data.objects["segments"])
    return data.discounts.create_basic(basicCodeDiscount, segments, data.now())


def _discount_bulk_add(_root: Any, info: GraphQLResolveInfo, discountId: str,
                       codes: list[dict]) -> dict:
    require(info, "write_discounts", "discountRedeemCodeBulkAdd")
    data = _ctx(info).data
    return data.discounts.bulk_add(discountId, codes, data.now())


def _read_discounts(info: GraphQLResolveInfo, what: str) -> None:
    # NOTE: write_discounts implies read_discounts (Shopify omits the read scope then)
    if "write_discounts" not in _ctx(info).scopes:
        require(info, "read_discounts", what)


def _discount_by_code(_root: Any, info: GraphQLResolveInfo, code: str) -> dict | None:
    _read_discounts(info, "codeDiscountNodeByCode")
    return _ctx(info).data.discounts.by_code(code)


def _discount_creation(_root: Any, info: GraphQLResolveInfo, id: str) -> dict | None:
    _read_discounts(info, "discountRedeemCodeBulkCreation")
    return _ctx(info).data.discounts.creation(id)


def _segments(info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    require(info, "read_customers", "segments")
    segments = list(_ctx(info).data.objects["segments"].values())
    return {
        "nodes": segments,
        "edges": [{"cursor": s["id"], "node": s} for s in segments],
        "pageInfo": {
            "hasNextPage": False,
            "hasPreviousPage": False,
            "startCursor": None,
            "endCursor": None,
        },
    }


def _orders_of(customer: dict[str, Any], info: GraphQLResolveInfo) -> list[dict[str, Any]]:
    orders = _ctx(info).data.objects["orders"].values()
    return [o for o in orders if o.get("customerId") == customer["id"] and not o["cancelledAt"]]


def _metafield(
    customer: dict[str, Any], info: GraphQLResolveInfo, key: str, namespace: str | None = None
) -> dict[str, Any] | None:
    """``Customer.metafield(namespace:, key:)``: the customer's metafield, or null. Without a
    namespace Shopify reads the key as ``namespace.key``."""
    if namespace is None:
        namespace, _, key = key.rpartition(".")
    return (customer.get("_metafields") or {}).get(f"{namespace}.{key}")


def _number_of_orders(customer: dict[str, Any], info: GraphQLResolveInfo) -> str:
    return str(len(_orders_of(customer, info)))


def _amount_spent(customer: dict[str, Any], info: GraphQLResolveInfo) -> dict[str, Any]:

    total = sum(
        (Decimal(o["totalPriceSet"]["shopMoney"]["amount"]) for o in _orders_of(customer, info)),
        Decimal(0),
    )
    return {"amount": format(total, "f"), "currencyCode": _ctx(info).data.currency}
