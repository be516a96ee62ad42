"""Product recommendations: what each customer is likely to buy next (docs/insight.md,
"Recommendations").

Two signals, counted over the order line facts by Ibis (so on any engine), then blended per
customer with numpy:

- **next product** (order sequences): ``next_count(a, b)``, the number of (customer, order
  k) where product *a* is in the customer's order k and *b* in their order k + 1 (never
  cancelled orders, in the order of :data:`~segmentry.analytics.facts` ``seq``).
  ``P_next(b | a) = next_count(a, b) / next_from(a)``, where ``next_from(a)`` counts the
  (customer, order k) with *a* in order k and an order k + 1 at all.
- **co-purchase** (bought by the same customer, in any orders): ``co_count(a, b)``, the
  customers who bought both *a* and *b* (a ≠ b); ``P_co(b | a) = co_count(a, b) / buyers(a)``.
  Customers with more than :data:`MAX_PRODUCTS_PER_CUSTOMER` products (resellers, staff)
  are left out of the pairs: they add noise and the pairs grow with the square.

A customer's score of product *b*::

    score(b) = 0.7 · mean over a in the last order of P_next(b | a)
             + 0.3 · mean over a ever bought       of P_co(b | a)

Products with a score above zero come first, by score; the rest of the list is filled by
**popularity** (customers who bought the product), which is also the whole list of a customer
with no signal. A product the customer already bought is left out when it is a
**one-time item**: fewer than :data:`ONE_TIME_REPEAT_SHARE` of its buyers bought it in two or
more separate orders (a product nobody rebuys: a device, a book); a consumable bought again
stays recommendable, including to those who own it.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from ibis.backends import BaseBackend
from scipy import sparse

from segmentry.ledger.schema import MONEY

__all__ = [
    "CO_WEIGHT",
    "MAX_PRODUCTS_PER_CUSTOMER",
    "NEXT_WEIGHT",
    "ONE_TIME_REPEAT_SHARE",
    "RECOMMENDATIONS",
    "Evaluation",
    "Model",
    "Recommendations",
    "average_precision_at_k",
    "bought",
    "co_counts",
    "evaluate",
    "hit_rate_at_k",
    "mean_average_precision_at_k",
    "next_counts",
    "next_from",
    "owned",
    "product_details",
    "recommend",
    "stored",
    "to_table",
    "train",
]

RECOMMENDATIONS = "customer_recommendations"
NEXT_WEIGHT, CO_WEIGHT = 0.7, 0.3
ONE_TIME_REPEAT_SHARE = 0.05
MAX_PRODUCTS_PER_CUSTOMER = 50
# Dense scores are worked out this many cells at a time (customers × products).
_CHUNK_CELLS = 8_000_000


# ---------------------------------------------------------------- what Ibis counts


def bought(con: BaseBackend, shop_id: str, *, before: dt.date | None = None,
           since: dt.date | None = None) -> ir.Table:
    """``(customer_id, seq, product_id)``: each product once per never-cancelled order of the
    shop, optionally of the orders placed in ``[since, before)``."""
    f = con.table("order_line_facts")
    keep = (f.shop_id == shop_id) & f.seq.notnull() & f.product_id.notnull()
    if before is not None:
        keep &= f.processed_on < ibis.date(before)
    if since is not None:
        keep &= f.processed_on >= ibis.date(since)
    return f.filter(keep).select("customer_id", "seq", "product_id").distinct()


def next_counts(lines: ir.Table) -> ir.Table:
    """``(product_id, next_product_id, customers)`` from :func:`bought` rows: in how many
    (customer, order k) the first product is in order k and the second in order k + 1."""
    later = lines.select(customer_id="customer_id", seq=lines.seq - 1,
                         next_product_id="product_id")
    pairs = lines.join(later, ["customer_id", "seq"])
    return pairs.group_by(["product_id", "next_product_id"]).aggregate(customers=ibis._.count())


def next_from(lines: ir.Table) -> ir.Table:
    """``(product_id, orders)``: the (customer, order k) with the product in order k and an
    order k + 1 at all (the denominator of ``P_next``)."""
    followed = lines.select("customer_id", seq=lines.seq - 1).distinct()
    with_next = lines.semi_join(followed, ["customer_id", "seq"])
    return with_next.group_by("product_id").aggregate(orders=ibis._.count())


def owned(lines: ir.Table) -> ir.Table:
    """``(customer_id, product_id, orders, in_last)``: the orders a customer bought the product
    in, and whether it is in their last order."""
    last = lines.mutate(last=lines.seq.max().over(group_by=lines.customer_id))
    return last.group_by(["customer_id", "product_id"]).aggregate(
        orders=ibis._.count(), in_last=ibis.ifelse(last.seq == last["last"], 1, 0).max()
    )


def co_counts(lines: ir.Table) -> ir.Table:
    """``(product_id, other_product_id, customers)``: customers who bought both (a ≠ b),
    leaving out customers with more than :data:`MAX_PRODUCTS_PER_CUSTOMER` products."""
    products = lines.select("customer_id", "product_id").distinct()
    sized = products.mutate(n=ibis._.count().over(group_by=products.customer_id))
    kept = sized.filter(sized.n <= MAX_PRODUCTS_PER_CUSTOMER).select("customer_id", "product_id")
    other = kept.select("customer_id", other_product_id="product_id")
    pairs = kept.join(other, "customer_id")
    pairs = pairs.filter(pairs.product_id != pairs.other_product_id)
    return pairs.group_by(["product_id", "other_product_id"]).aggregate(customers=ibis._.count())


# ---------------------------------------------------------------- the model


@dataclass(frozen=True)
class Model:
    """What the counts say, as sparse matrices over ``products`` (index → product id)."""

    products: np.ndarray  # product ids (object)
    next_prob: sparse.csr_matrix  # P_next(b | a): row a, column b
    co_prob: sparse.csr_matrix  # P_co(b | a)
    popularity: np.ndarray  # buyers per product
    one_time: np.ndarray  # bool per product
    customers: np.ndarray  # customer ids (object) with at least one order
    last: sparse.csr_matrix  # customer × product: 1 / |last order| for its products
    ever: sparse.csr_matrix  # customer × product: 1 / |products bought|
    owned_one_time: sparse.csr_matrix  # customer × product: 1 where owned and one-time
    pairs: Mapping[str, pa.Table] = field(default_factory=dict)  # the raw counts

    def index(self, product_ids: Iterable[str]) -> dict[str, int]:
        position = {p: i for i, p in enumerate(self.products)}
        return {p: position[p] for p in product_ids if p in position}


def train(con: BaseBackend, shop_id: str, *, before: dt.date | None = None) -> Model:
    """Count the shop's orders placed before ``before`` (all when None) into a :class:`Model`."""
    lines = bought(con, shop_id, before=before)
    own = con.to_pyarrow(owned(lines))
    nxt = con.to_pyarrow(next_counts(lines))
    frm = con.to_pyarrow(next_from(lines))
    co = con.to_pyarrow(co_counts(lines))
    return _model(own, nxt, frm, co)


def _codes(values: pa.ChunkedArray | pa.Array, dictionary: pa.Array) -> np.ndarray:
    return pc.index_in(values, value_set=dictionary).to_numpy(zero_copy_only=False)


def _sorted_unique(values: pa.ChunkedArray) -> pa.Array:
    unique = pc.unique(values.combine_chunks().cast(pa.string()))
    return pc.take(unique, pc.sort_indices(unique))


def _model(own: pa.Table, nxt: pa.Table, frm: pa.Table, co: pa.Table) -> Model:
    products, customers = _sorted_unique(own["product_id"]), _sorted_unique(own["customer_id"])
    n_p, n_c = len(products), len(customers)
    p_own = _codes(own["product_id"], products)
    c_own = _codes(own["customer_id"], customers)
    orders = own["orders"].to_numpy().astype(np.int64)
    in_last = own["in_last"].to_numpy().astype(bool)

    buyers = np.bincount(p_own, minlength=n_p).astype(np.float64)
    repeaters = np.bincount(p_own[orders >= 2], minlength=n_p).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        one_time = np.nan_to_num(repeaters / buyers) < ONE_TIME_REPEAT_SHARE

    def per_customer(mask: np.ndarray) -> sparse.csr_matrix:
        counts = np.bincount(c_own[mask], minlength=n_c).astype(np.float64)
        weights = 1.0 / counts[c_own[mask]]
        return sparse.csr_matrix((weights, (c_own[mask], p_own[mask])), shape=(n_c, n_p))

    everything = np.ones(len(p_own), bool)
    ot = one_time[p_own]
    owned_one_time = sparse.csr_matrix(
        (np.ones(int(ot.sum())), (c_own[ot], p_own[ot])), shape=(n_c, n_p)
    )
    next_prob = _conditional(nxt, "next_product_id", frm["product_id"],
                             frm["orders"].to_numpy().astype(np.float64), products)
    co_prob = _conditional(co, "other_product_id", products, buyers, products)
    return Model(
        products=np.asarray(products.to_pylist(), dtype=object),
        next_prob=next_prob,
        co_prob=co_prob,
        popularity=buyers,
        one_time=one_time,
        customers=np.asarray(customers.to_pylist(), dtype=object),
        last=per_customer(in_last),
        ever=per_customer(everything),
        owned_one_time=owned_one_time,
        pairs={"next": nxt, "co": co},
    )


def _conditional(pairs: pa.Table, other: str, denominators_of: pa.Array | pa.ChunkedArray,
                 denominators: np.ndarray, products: pa.Array) -> sparse.csr_matrix:
    """Row a, column b: ``pairs.customers / denominator(a)``."""
    n = len(products)
    totals = np.zeros(n)
    totals[_codes(denominators_of, products)] = denominators
    a = _codes(pairs["product_id"], products)
    b = _codes(pairs[other], products)
    counts = pairs["customers"].to_numpy().astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        values = np.nan_to_num(counts / totals[a])
    return sparse.csr_matrix((values, (a, b)), shape=(n, n))


# ---------------------------------------------------------------- scoring


@dataclass(frozen=True)
class Recommendations:
    """Top ``k`` products per customer: ``products[i, j]`` is the index (into
    ``model.products``) of customer ``customers[i]``'s j-th product, ``scores`` its score
    (0: filled by popularity), ``reasons`` ``next``, ``co`` or ``popular``."""

    customers: np.ndarray
    products: np.ndarray  # int, customers × k (−1: nothing left to recommend)
    scores: np.ndarray
    reasons: np.ndarray  # object
    popular: np.ndarray  # the popularity list (indices) for customers without a signal


def recommend(model: Model, *, k: int = 5, popularity_only: bool = False) -> Recommendations:
    """Score every customer of ``model`` (see the module docstring). ``popularity_only``: the
    baseline — the most popular products, with the same one-time exclusion."""
    n_c, n_p = model.last.shape
    k_eff = min(k, n_p)
    top = np.full((n_c, k), -1, np.int64)
    scores = np.zeros((n_c, k))
    reasons = np.full((n_c, k), "popular", dtype=object)
    pop = model.popularity / model.popularity.max() if n_p else model.popularity
    # Below any signal: the popularity fill ranks in [0, 0.5], signals in (1, 2].
    fill = 0.5 * pop
    rows = max(1, _CHUNK_CELLS // max(n_p, 1))
    for start in range(0, n_c, rows):
        stop = min(n_c, start + rows)
        nxt = (model.last[start:stop] @ model.next_prob).toarray()
        co = (model.ever[start:stop] @ model.co_prob).toarray()
        signal = np.zeros_like(nxt) if popularity_only else NEXT_WEIGHT * nxt + CO_WEIGHT * co
        ranked = np.where(signal > 0, 1.0 + signal, fill[None, :])
        owned = model.owned_one_time[start:stop].tocoo()
        ranked[owned.row, owned.col] = -np.inf
        if k_eff == 0:
            continue
        part = np.argpartition(-ranked, k_eff - 1, axis=1)[:, :k_eff]
        order = np.argsort(-np.take_along_axis(ranked, part, axis=1), axis=1, kind="stable")
        chosen = np.take_along_axis(part, order, axis=1)
        value = np.take_along_axis(ranked, chosen, axis=1)
        chosen[~np.isfinite(value)] = -1
        top[start:stop, :k_eff] = chosen
        safe = np.where(chosen >= 0, chosen, 0)
        s = np.where(value > 1.0, value - 1.0, 0.0)
        scores[start:stop, :k_eff] = np.where(chosen >= 0, s, 0.0)
        is_next = (NEXT_WEIGHT * np.take_along_axis(nxt, safe, axis=1)
                   >= CO_WEIGHT * np.take_along_axis(co, safe, axis=1))
        reasons[start:stop, :k_eff] = np.where(
            s > 0, np.where(is_next, "next", "co"), "popular"
        )
    popular = np.argsort(-model.popularity, kind="stable")[:k]
    return Recommendations(model.customers, top, scores, reasons, popular)


def to_table(model: Model, recs: Recommendations, shop_id: str) -> pa.Table:
    """The rows of :data:`RECOMMENDATIONS`: ``(shop_id, customer_id, rank, product_id,
    score, reason)``; the popularity list under a NULL ``customer_id`` serves customers
    without orders."""
    n_c, k = recs.products.shape
    keep = (recs.products >= 0).ravel()
    customer = np.repeat(np.arange(n_c), k)[keep]
    rank = np.tile(np.arange(1, k + 1), n_c)[keep]
    product = recs.products.ravel()[keep]
    products = pa.array(model.products, pa.string())
    customers = pa.array(model.customers, pa.string())
    pop = recs.popular
    n_pop = len(pop)
    return pa.table({
        "shop_id": pa.array([shop_id] * (len(product) + n_pop), pa.string()),
        "customer_id": pa.concat_arrays([
            customers.take(pa.array(customer)), pa.nulls(n_pop, pa.string())]),
        "rank": pa.array(np.concatenate([rank, np.arange(1, n_pop + 1)]), pa.int32()),
        "product_id": pa.concat_arrays([
            products.take(pa.array(product)), products.take(pa.array(pop))]),
        "score": pa.array(np.concatenate([recs.scores.ravel()[keep], np.zeros(n_pop)])),
        "reason": pa.array(np.concatenate([recs.reasons.ravel()[keep],
                                           np.full(n_pop, "popular", dtype=object)]),
                           pa.string()),
    })


# ---------------------------------------------------------------- reading


def product_details(con: BaseBackend, shop_id: str) -> ir.Table:
    """``(product_id, title, price)`` of every product ever sold: the product's title (its
    latest line's when the product is not in ``products``) and the unit price of its latest
    line."""
    f = con.table("order_line_facts")
    f = f.filter((f.shop_id == shop_id) & f.product_id.notnull() & (f.quantity > 0)
                 & f.line_total.notnull())
    ranked = f.mutate(r=ibis.row_number().over(
        group_by=f.product_id,
        order_by=[ibis.desc(f.processed_on), ibis.desc(f.order_id), ibis.desc(f.line_id)],
    ))
    latest = ranked.filter(ranked.r == 0)
    latest = latest.select("product_id", line_title=latest.title,
                           price=(latest.line_total / latest.quantity).cast(MONEY))
    p = con.table("products")
    p = p.filter(p.shop_id == shop_id).select(catalogue_id="product_id", product_title="title")
    j = latest.left_join(p, latest.product_id == p.catalogue_id)
    return j.select("product_id", title=ibis.coalesce(j.product_title, j.line_title, j.product_id),
                    price=j.price)


def stored(con: BaseBackend, shop_id: str, customers: ir.Table | None = None) -> ir.Table | None:
    """The stored recommendations with their products' titles and prices: ``(customer_id,
    rank, product_id, score, reason, title, price)``; ``customers`` (a ``customer_id``
    table): only theirs; the popularity list (``customer_id`` NULL) is always included.
    None when nothing is stored."""
    if RECOMMENDATIONS not in con.list_tables():
        return None
    r = con.table(RECOMMENDATIONS)
    r = r.filter(r.shop_id == shop_id)
    if customers is not None:
        wanted = customers.select(wanted_id="customer_id").distinct()
        r = r.left_join(wanted, r.customer_id == wanted.wanted_id)
        r = r.filter(r.wanted_id.notnull() | r.customer_id.isnull()).drop("wanted_id")
    d = product_details(con, shop_id)
    j = r.left_join(d, "product_id")
    return j.select(r.customer_id, r["rank"], r.product_id, r.score, r.reason,
                    title=ibis.coalesce(j.title, r.product_id), price=j.price)


# ---------------------------------------------------------------- offline evaluation


def hit_rate_at_k(recommended: Mapping[str, Sequence[str]],
                  bought_after: Mapping[str, set[str]], k: int = 5) -> float:
    """Share of the customers in ``bought_after`` with at least one of their first ``k``
    recommendations among the products they bought.

    >>> hit_rate_at_k({"a": ["x", "y"], "b": ["z"]}, {"a": {"y"}, "b": {"x"}}, 5)
    0.5
    """
    if not bought_after:
        return 0.0
    hits = sum(bool(set(recommended.get(c, ())[:k]) & truth) for c, truth in bought_after.items())
    return hits / len(bought_after)


def average_precision_at_k(recommended: Sequence[str], truth: set[str], k: int = 5) -> float:
    """AP@k: ``sum over ranks i ≤ k with a hit of precision@i``, divided by ``min(|truth|, k)``.

    >>> average_precision_at_k(["x", "y", "z"], {"y", "z"}, 5)  # (1/2 + 2/3) / 2
    0.5833333333333333
    """
    if not truth:
        return 0.0
    hits, total = 0, 0.0
    for i, product in enumerate(recommended[:k], start=1):
        if product in truth:
            hits += 1
            total += hits / i
    return total / min(len(truth), k)


def mean_average_precision_at_k(recommended: Mapping[str, Sequence[str]],
                                bought_after: Mapping[str, set[str]], k: int = 5) -> float:
    """MAP@k over the customers in ``bought_after``, summed exactly (``math.fsum``) so that it
    is the same to the last digit whatever order the customers come in (a database's rows
    have none)."""
    if not bought_after:
        return 0.0
    return math.fsum(average_precision_at_k(recommended.get(c, ()), truth, k)
                     for c, truth in bought_after.items()) / len(bought_after)


@dataclass(frozen=True)
class Evaluation:
    """The offline evaluation of one time split (docs/insight.md)."""

    cutoff: dt.date
    window_days: int
    customers: int  # evaluated: ordered before the cut-off and within the window
    k: int
    hit_rate: float
    map: float
    popularity_hit_rate: float
    popularity_map: float


def evaluate(con: BaseBackend, shop_id: str, cutoff: dt.date, *, window_days: int = 90,
             k: int = 5) -> Evaluation:
    """Train on the orders before ``cutoff``; test on the products each customer bought in
    the ``window_days`` from it; the popularity baseline has the same exclusion."""
    model = train(con, shop_id, before=cutoff)
    end = cutoff + dt.timedelta(days=window_days)
    after = con.to_pyarrow(
        bought(con, shop_id, before=end, since=cutoff).select("customer_id", "product_id")
    ).to_pylist()
    known = set(model.customers.tolist())
    truth: dict[str, set[str]] = {}
    for row in after:
        if row["customer_id"] in known:
            truth.setdefault(row["customer_id"], set()).add(row["product_id"])
    lists = [_as_lists(model, recommend(model, k=k, popularity_only=p)) for p in (False, True)]
    return Evaluation(
        cutoff=cutoff, window_days=window_days, customers=len(truth), k=k,
        hit_rate=hit_rate_at_k(lists[0], truth, k),
        map=mean_average_precision_at_k(lists[0], truth, k),
        popularity_hit_rate=hit_rate_at_k(lists[1], truth, k),
        popularity_map=mean_average_precision_at_k(lists[1], truth, k),
    )


def _as_lists(model: Model, recs: Recommendations) -> dict[str, list[str]]:
    products = model.products
    return {
        c: [products[p] for p in row if p >= 0]
        for c, row in zip(recs.customers.tolist(), recs.products, strict=True)
    }
