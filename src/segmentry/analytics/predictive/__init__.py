"""Predictive customer models: BG/NBD (repeat orders, P(alive)), Gamma-Gamma (spend per order)
and the customer lifetime value they give together; Pareto/NBD and MBG/NBD, alternatives to
BG/NBD available from Python and in the CDNOW check. See docs/predictive.md."""

from ._fit import ModelFitError
from .bgnbd import BGNBD, fit_bgnbd
from .gamma_gamma import GammaGamma, fit_gamma_gamma
from .mbgnbd import MBGNBD, fit_mbgnbd
from .pareto_nbd import ParetoNBD, fit_pareto_nbd
from .summary import summarise_transactions

__all__ = ["BGNBD", "MBGNBD", "GammaGamma", "ModelFitError", "ParetoNBD", "fit_bgnbd",
           "fit_gamma_gamma", "fit_mbgnbd", "fit_pareto_nbd", "summarise_transactions"]
