"""Predictive customer models: BG/NBD (repeat orders, P(alive)), Gamma-Gamma (spend per order)
and the customer lifetime value they give together. See docs/predictive.md."""

from ._fit import ModelFitError
from .bgnbd import BGNBD, fit_bgnbd
from .gamma_gamma import GammaGamma, fit_gamma_gamma
from .summary import summarise_transactions

__all__ = ["BGNBD", "GammaGamma", "ModelFitError", "fit_bgnbd", "fit_gamma_gamma",
           "summarise_transactions"]
