"""Maximum-likelihood fitting shared by the predictive models.

Each model hands :func:`maximise` its negative log-likelihood over the *logarithms* of its
parameters, so every parameter stays positive. L-BFGS-B with numerical gradients finds the
optimum in a few hundred evaluations; Nelder-Mead (no gradients, as the R package BTYD uses)
takes over when it reports trouble. Both search within e^±30 (:data:`LOG_LIMIT`): a likelihood
that keeps rising as a parameter grows without end (Gamma-Gamma's p, when customers spend the
same on every order) has its optimum at that edge, found and reported, rather than an
optimiser walking off towards infinity until it runs out of steps.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy import optimize

from segmentry.core.errors import SegmentryError

__all__ = ["LOG_LIMIT", "ModelFitError", "maximise"]

LOG_LIMIT = 30.0


class ModelFitError(SegmentryError):
    """A predictive model could not be fitted: too few customers, or the fit did not converge.

    ``code`` is ``model_too_few_customers``, ``model_no_repeat_customers``, ``model_bad_input``
    or ``model_not_converged``.
    """

    code = "model_fit"


def maximise(
    negative_ll: Callable[[np.ndarray], float],
    start: Sequence[float],
    *,
    model: str,
    scale: float = 1.0,
) -> tuple[np.ndarray, float]:
    """Minimise ``negative_ll`` over log-parameters from ``start`` (natural scale).

    ``scale`` (the number of customers) turns the sum into a mean so that the tolerances mean
    the same for ten customers and a million. Returns ``(parameters, log_likelihood)`` on the
    natural scale. Raises :class:`ModelFitError` (``model_not_converged``) if neither
    optimiser reaches a finite optimum.

    >>> params, ll = maximise(lambda lp: float(((np.exp(lp) - [2.0, 3.0]) ** 2).sum()),
    ...                       [1.0, 1.0], model="toy")
    >>> [round(float(p), 4) for p in params], round(ll, 6)
    ([2.0, 3.0], -0.0)
    """
    x0 = np.log(np.asarray(start, dtype=float))

    def objective(log_params: np.ndarray) -> float:
        # NOTE: bound the search: exp() of a wild step overflows and special functions return
        # nan; a nan objective would stop Nelder-Mead where it stands.
        if np.any(np.abs(log_params) > LOG_LIMIT):
            return np.inf
        value = negative_ll(log_params) / scale
        return value if np.isfinite(value) else np.inf

    # L-BFGS-B (numerical gradients) is quick on these smooth likelihoods; Nelder-Mead takes
    # over from where it stopped when it reports trouble (a flat or awkward surface).
    # NOTE: a numerical gradient next to an infinite objective subtracts inf from inf; the
    # optimiser copes (it reports trouble), so numpy's warnings about it are noise.
    bounds = [(-LOG_LIMIT, LOG_LIMIT)] * len(x0)
    with np.errstate(all="ignore"):
        best = optimize.minimize(objective, x0, method="L-BFGS-B", bounds=bounds,
                                 options={"ftol": 1e-13, "gtol": 1e-9, "maxiter": 2_000})
        if not best.success or not np.isfinite(best.fun):
            start_nm = best.x if np.isfinite(best.fun) else x0
            simplex = optimize.minimize(
                objective, start_nm, method="Nelder-Mead", bounds=bounds,
                options={"xatol": 1e-8, "fatol": 1e-11, "maxiter": 5_000, "maxfev": 10_000},
            )
            best = simplex if simplex.fun <= best.fun or not np.isfinite(best.fun) else best
    if not np.isfinite(best.fun) or not best.success:
        raise ModelFitError(
            "The {model} model did not converge ({reason}).",
            code="model_not_converged",
            params={"model": model, "reason": str(best.message)},
            hint="Check that the orders are complete; a shop with very few repeat orders "
            "cannot be modelled yet.",
        )
    return np.exp(best.x), -float(best.fun) * scale
