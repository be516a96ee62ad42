"""The CDNOW reproduction: our fits against the published estimates (docs/predictive.md).

The 1/10 CDNOW sample (``data/README.md``): 2,357 customers who first bought in Q1 1997; a
39-week calibration period to 1997-09-30 and a 39-week holdout to 1998-06-30, in weeks, as in
Fader, Hardie & Lee (2005).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd

from .bgnbd import BGNBD, fit_bgnbd
from .gamma_gamma import GammaGamma, fit_gamma_gamma
from .summary import summarise_transactions

__all__ = ["CALIBRATION_END", "HOLDOUT_END", "PUBLISHED", "CdnowCheck", "check_cdnow",
           "load_cdnow"]

CALIBRATION_END = dt.date(1997, 9, 30)
HOLDOUT_END = dt.date(1998, 6, 30)
HOLDOUT_WEEKS = 39.0

# FHL 2005 (Marketing Science), p. 279; FHL 2005 (JMR "RFM and CLV"), p. 421.
PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426, "log_likelihood": -9582.4,
             "p": 6.25, "q": 3.74, "gamma": 15.44}


def load_cdnow() -> pd.DataFrame:
    """The CDNOW sample's purchases: customer_id, date, quantity, amount."""
    source = resources.files("segmentry.analytics.predictive") / "data" / "CDNOW_sample.txt"
    with source.open("r", encoding="ascii") as handle:
        frame = pd.read_csv(handle, sep=r"\s+", header=None, dtype={"date": str},
                            names=["customer_id", "master_id", "date", "quantity", "amount"])
    frame["date"] = pd.to_datetime(frame["date"], format="%Y%m%d")
    return frame.drop(columns="master_id")


@dataclass(frozen=True)
class CdnowCheck:
    bgnbd: BGNBD
    gamma_gamma: GammaGamma
    customers: int
    repeat_customers: int
    holdout: pd.DataFrame  # frequency bucket → customers, actual, expected (orders per customer)

    def estimates(self) -> dict[str, float]:
        m, g = self.bgnbd, self.gamma_gamma
        return {"r": m.r, "alpha": m.alpha, "a": m.a, "b": m.b,
                "log_likelihood": m.log_likelihood, "p": g.p, "q": g.q, "gamma": g.gamma}


def check_cdnow() -> CdnowCheck:
    """Fit both models on the calibration period and compare the holdout with the forecast."""
    tx = load_cdnow()
    calibration = summarise_transactions(tx, end=CALIBRATION_END, unit_days=7)
    bgnbd = fit_bgnbd(calibration["frequency"], calibration["recency"], calibration["T"])
    gg = fit_gamma_gamma(calibration["frequency"], calibration["monetary"])
    holdout_days = tx[tx["date"] > pd.Timestamp(CALIBRATION_END)].groupby("customer_id")[
        "date"].nunique()
    actual = holdout_days.reindex(calibration.index).fillna(0).to_numpy(dtype=float)
    expected = bgnbd.expected_orders(HOLDOUT_WEEKS, calibration["frequency"],
                                     calibration["recency"], calibration["T"])
    bucket = np.minimum(calibration["frequency"].to_numpy(), 7)
    table = pd.DataFrame({"bucket": bucket, "actual": actual, "expected": expected}).groupby(
        "bucket").agg(customers=("actual", "size"), actual=("actual", "mean"),
                      expected=("expected", "mean"))
    table.index = [f"{b}+" if b == 7 else str(b) for b in table.index]
    return CdnowCheck(bgnbd=bgnbd, gamma_gamma=gg, customers=len(calibration),
                      repeat_customers=int((calibration["frequency"] > 0).sum()), holdout=table)
