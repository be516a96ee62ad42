"""The repeat-buying model of the daily fit (``models.purchase_model``): BG/NBD, Pareto/NBD or
MBG/NBD, fitted and scored alike.

Every one of the three predicts a customer's orders in the next t days as

    E[Y(t) | x, t_x, T] = A(t | x, T) · P(alive | x, t_x, T)

where A, the orders of a customer known to be alive, depends on x and T only. The scoring
(:func:`segmentry.analytics.predictive.warehouse.fit_shop`) therefore tabulates A once per
distinct (x, T) pair and multiplies per customer; what differs between the models is how A and
P(alive) are computed, held here in one small class per model (:class:`Scoring`).

Pareto/NBD and MBG/NBD do not expose A: it is their own closed-form ``expected_orders`` of a
customer whose last order was at T (t_x = T) divided by that customer's P(alive), which the
two models' formulas make exact (A does not depend on t_x).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import get_args

import numpy as np

from segmentry.core.config import PurchaseModel

from .bgnbd import BGNBD, fit_bgnbd
from .mbgnbd import MBGNBD, fit_mbgnbd
from .pareto_nbd import ParetoNBD, fit_pareto_nbd

__all__ = ["LABELS", "PURCHASE_MODELS", "AnyModel", "PurchaseModel", "Scoring",
           "fit_purchase_model", "scoring"]

PURCHASE_MODELS: tuple[str, ...] = get_args(PurchaseModel)
LABELS = {"bgnbd": "BG/NBD", "pareto_nbd": "Pareto/NBD", "mbgnbd": "MBG/NBD"}

AnyModel = BGNBD | ParetoNBD | MBGNBD


def fit_purchase_model(
    name: str, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, weights: np.ndarray
) -> AnyModel:
    """Fit the model ``name`` on (x, t_x, T) rows, ``weights`` customers sharing each.

    Raises :class:`~segmentry.analytics.predictive.ModelFitError` as the model's own fit does.
    """
    if name == "bgnbd":
        return fit_bgnbd(x, t_x, T, weights=weights)
    if name == "pareto_nbd":
        return fit_pareto_nbd(x, t_x, T, weights=weights)
    if name == "mbgnbd":
        return fit_mbgnbd(x, t_x, T, weights=weights)
    raise ValueError(f"unknown purchase model {name!r} (one of {', '.join(PURCHASE_MODELS)})")


class Scoring(ABC):
    """How one fitted model gives the two factors of E[Y(t)] (module docstring)."""

    @abstractmethod
    def alive_odds(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """1 / P(alive | x, t_x, T), per customer (≥ 1); x, t_x and T in whole days, as the
        warehouse counts them."""

    @abstractmethod
    def orders_if_alive(self, t: float | np.ndarray, x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """A(t | x, T): expected orders in the next ``t`` days of a customer alive at T."""


class _BGNBDScoring(Scoring):
    def __init__(self, model: BGNBD) -> None:
        self.model = model

    def alive_odds(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        # NOTE: 1 + odds exactly as the daily fit has always computed it (stored figures kept).
        return 1.0 + self.model.dropout_odds(x, t_x, T)

    def orders_if_alive(self, t: float | np.ndarray, x: np.ndarray, T: np.ndarray) -> np.ndarray:
        return self.model.orders_if_alive(t, x, T)


class _OwnFormulaScoring(Scoring):
    """Pareto/NBD and MBG/NBD, through their own ``p_alive`` and ``expected_orders``."""

    def __init__(self, model: ParetoNBD | MBGNBD) -> None:
        self.model = model

    def alive_odds(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        # P(alive) has special functions (Pareto/NBD's hypergeometric A₀): computed once per
        # distinct history, about a quarter of the customers in a large shop.
        # Whole days pack into one integer key (a 1-d unique is far faster than one over rows).
        key = (x.astype(np.int64) << 42) | (t_x.astype(np.int64) << 21) | T.astype(np.int64)
        distinct, inverse = np.unique(key, return_inverse=True)
        mask = (1 << 21) - 1
        rows = ((distinct >> 42).astype(float), ((distinct >> 21) & mask).astype(float),
                (distinct & mask).astype(float))
        return 1.0 / self.model.p_alive(*rows)[inverse.ravel()]

    def orders_if_alive(self, t: float | np.ndarray, x: np.ndarray, T: np.ndarray) -> np.ndarray:
        x, T = np.asarray(x, dtype=float), np.asarray(T, dtype=float)
        # A customer whose last order was at T: Pareto/NBD holds her alive (P = 1); MBG/NBD
        # gives her the chance a/(b+x) of having dropped out right after it.
        return self.model.expected_orders(t, x, T, T) / self.model.p_alive(x, T, T)


def scoring(model: AnyModel) -> Scoring:
    """The :class:`Scoring` of a fitted model."""
    if isinstance(model, BGNBD):
        return _BGNBDScoring(model)
    return _OwnFormulaScoring(model)
