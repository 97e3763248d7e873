"""Constraint likelihoods evaluated on a prediction along a coupling scan.

The likelihood of each data set lives with its data (:mod:`mesonportal.datasets`); this module
only feeds it a topology-tagged prediction (:class:`~mesonportal.analysis.prediction.SignalSample`
with a ``topology`` column, e.g. MicroBooNE through the LAr-TPC response) at given values of the
model's coupling product.  Rates are events per POT by topology; each data set scales them to
its own exposure.
"""

from __future__ import annotations

from typing import Any, Sequence

from mesonportal.analysis.prediction import SignalSample
from mesonportal.exceptions import ParameterError

__all__ = ["evaluate_constraint", "CONSTRAINT_EXPERIMENTS"]

#: ``fit --with NAME`` → (experiment predicted, beam mode, constraint name of
#: :func:`mesonportal.datasets.constraint`).
CONSTRAINT_EXPERIMENTS: dict[str, tuple[str, str, str]] = {"microboone": ("microboone", "nu", "microboone")}


def evaluate_constraint(name: str, sample: SignalSample, x_best: float,
                        scan_x: Sequence[float] = ()) -> dict[str, Any]:
    """The constraint ``name`` (:func:`mesonportal.datasets.constraint`) at coupling product
    ``x_best`` (the MiniBooNE best fit) and its χ² at each ``scan_x``.

    Returns ``{chi2, ndof, events, verdict, chi2_background, delta_chi2, mu_hat, by_dataset,
    statistic, scan: {coupling_product, chi2}, rates_per_pot, efficiencies}``: ``events``
    maps ``dataset:channel`` to signal/background/observed events at the data set's exposure;
    ``verdict`` is ``{excluded_90, excluded_95, text}`` (Δχ² of the signal against the best
    normalisation μ̂ < 1, thresholds 2.706 / 3.841, :mod:`mesonportal.datasets.counting`).
    """
    from mesonportal.datasets import constraint

    if sample.topologies is None:
        raise ParameterError(f"constraint {name!r} needs a prediction by topology (LAr-TPC response); "
                             f"the {sample.experiment} prediction has none")
    con = constraint(name)
    x = float(x_best)
    rates = sample.rates_by_topology(x) if x > 0 else {k: 0.0 for k in sample.topologies}
    v = con.verdict(rates)
    text = ("excluded at 95% CL" if v["excluded_95"] else "excluded at 90% CL (not at 95%)" if v["excluded_90"]
            else "not excluded at 90% CL")
    chis = []
    for xi in scan_x:
        r = sample.rates_by_topology(float(xi)) if xi > 0 else {k: 0.0 for k in sample.topologies}
        chis.append(float(con.chi2(r)))
    resp = dict(sample.info.get("response", {}) or {})
    params = dict(resp.get("parameters", {}) or {})
    effs = {k[len("efficiency_"):]: v for k, v in params.items() if k.startswith("efficiency_") and "uncertainty" not in k}
    return {
        "constraint": name, "experiment": sample.experiment, "coupling_product": x,
        "chi2": float(v["chi2"]), "ndof": int(v["ndof"]), "chi2_background": float(v["chi2_background"]),
        "delta_chi2": float(v["delta_chi2"]), "mu_hat": float(v["mu_hat"]),
        "events": v["events"],
        "verdict": {"excluded_90": bool(v["excluded_90"]), "excluded_95": bool(v["excluded_95"]), "text": text},
        "rates_per_pot": rates, "by_dataset": v["by_dataset"], "statistic": v["statistic"],
        "efficiencies": effs,
        "scan": {"coupling_product": [float(a) for a in scan_x], "chi2": chis},
    }
