"""Per-customer (frequency, recency, T, monetary) from a list of transactions.

As Fader, Hardie & Lee count them: purchases on one day are one transaction (their amounts
summed); ``frequency`` is the number of purchase days after the first, ``recency`` the time from
the first purchase day to the last, ``T`` from the first purchase day to the end of the
calibration period, ``monetary`` the mean value of the repeat transactions (0 without one), all
in units of ``unit_days`` days (7 for weeks, as in the papers; 1 for the shop's own fits).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

__all__ = ["summarise_transactions"]



def summarise_transactions(
    transactions: pd.DataFrame,
    *,
    customer: str = "customer_id",
    date: str = "date",
    amount: str = "amount",
    end: dt.date,
    unit_days: float = 1.0,
) -> pd.DataFrame:
    """Summarise ``transactions`` (one row per purchase) up to and including day ``end``.

    >>> tx = pd.DataFrame({"customer_id": [1, 1, 1, 2],
    ...     "date": pd.to_datetime(["1997-01-01", "1997-01-01", "1997-01-15", "1997-01-08"]),
    ...     "amount": [10.0, 5.0, 20.0, 7.0]})
    >>> summarise_transactions(tx, end=dt.date(1997, 1, 29), unit_days=7).to_dict("index")
    {1: {'frequency': 1, 'recency': 2.0, 'T': 4.0, 'monetary': 20.0}, 2: {'frequency': 0, \
'recency': 0.0, 'T': 3.0, 'monetary': 0.0}}
    """
    days = pd.to_datetime(transactions[date]).dt.normalize()
    frame = pd.DataFrame({"customer": transactions[customer].to_numpy(), "day": days,
                          "amount": transactions[amount].astype(float).to_numpy()})
    frame = frame[frame["day"] <= pd.Timestamp(end)]
    per_day = frame.groupby(["customer", "day"], sort=True)["amount"].sum().reset_index()
    first = per_day.groupby("customer")["day"].transform("min")
    per_day["is_repeat"] = per_day["day"] > first
    grouped = per_day.groupby("customer")
    out = pd.DataFrame({
        "frequency": grouped["is_repeat"].sum().astype(int),
        "first": grouped["day"].min(),
        "last": grouped["day"].max(),
    })
    repeat = per_day[per_day["is_repeat"]].groupby("customer")["amount"].mean()
    unit = pd.Timedelta(days=unit_days)
    out["recency"] = (out["last"] - out["first"]) / unit
    out["T"] = (pd.Timestamp(end) - out["first"]) / unit
    out["monetary"] = repeat.reindex(out.index).fillna(0.0).astype(float)
    out.index.name = customer
    return out[["frequency", "recency", "T", "monetary"]].astype(
        {"frequency": np.int64, "recency": float, "T": float, "monetary": float}
    )
