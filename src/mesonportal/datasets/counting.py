"""Counting-experiment constraints: observed events vs background per channel (topology).

Statistical treatment (stated in every verdict as ``statistic``)
----------------------------------------------------------------
For each channel *i* with observed count nᵢ, predicted background bᵢ ± σᵢ (systematic) and signal
sᵢ (events for the data set's exposure):

    χ²ᵢ(s) = min_{b′ ≥ 0} { 2 [μ − nᵢ + nᵢ ln(nᵢ/μ)] + (b′ − bᵢ)²/σᵢ² },   μ = sᵢ + b′,

the Poisson likelihood ratio to the saturated model (Baker–Cousins, NIM 221 (1984) 437) with a
Gaussian-constrained background nuisance profiled analytically (the stationarity condition is a
quadratic in b′).  χ² = Σᵢ χ²ᵢ; ``ndof`` = number of channels.  Channels are independent.

Verdict: a signal prediction s is tested as a hypothesis on its normalisation μ (the dark-sector
rate scales with a coupling), with the one-parameter likelihood ratio

    Δχ²(s) = χ²(s) − min_{μ ≥ 0} χ²(μ s).

s is excluded at 90% (95%) CL when Δχ² > 2.706 (3.841) — the χ²₁ quantiles, i.e. s lies outside
the likelihood-ratio interval of μ (Wilks) — **and** μ̂ < 1 (the data prefer less signal).  A
signal that the data would want *larger* is never "excluded".  Zero signal gives Δχ² = 0.  For
small counts this likelihood-ratio limit is less conservative than a classical Poisson upper
limit (e.g. n = 0, b = 0: 1.35 events at 90% CL instead of 2.30).
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
from scipy import optimize

from mesonportal.exceptions import DataError, ParameterError

__all__ = [
    "Channel", "CountingDataset", "CombinedConstraint", "DELTA_CHI2_90", "DELTA_CHI2_95", "STATISTIC",
    "channel_chi2", "load_counting_dataset",
]

DELTA_CHI2_90 = 2.705543454095404  # scipy.stats.chi2.ppf(0.90, 1)
DELTA_CHI2_95 = 3.841458820694124  # scipy.stats.chi2.ppf(0.95, 1)
STATISTIC = ("Poisson likelihood ratio (Baker-Cousins) per channel with a profiled Gaussian background "
             "nuisance; verdict: Delta chi2 = chi2(s) - min_{mu>=0} chi2(mu s) vs 2.706 (90% CL) / "
             "3.841 (95% CL), excluded only if mu_hat < 1")


def channel_chi2(signal, observed, background, sigma):
    """χ² of channels (vectorised over any broadcastable arrays; events).

    Poisson likelihood ratio with the background profiled under a Gaussian constraint of
    width ``sigma`` (``sigma = 0`` fixes it).  Returns an array of the broadcast shape.
    """
    s = np.asarray(signal, float)
    n = np.asarray(observed, float)
    b = np.asarray(background, float)
    sg = np.asarray(sigma, float)
    s, n, b, sg = np.broadcast_arrays(s, n, b, sg)
    var = sg * sg
    B = s - b + var
    disc = B * B + 4.0 * (b * s + var * (n - s))
    x = 0.5 * (-B + np.sqrt(np.maximum(disc, 0.0)))
    bp = np.where(var > 0, np.maximum(x, 0.0), b)
    mu = np.maximum(s + bp, 1e-300)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_term = np.where(n > 0, n * np.log(n / mu), 0.0)
    pois = 2.0 * (mu - n + log_term)
    pen = np.where(var > 0, (bp - b) ** 2 / np.where(var > 0, var, 1.0), 0.0)
    return pois + pen


@dataclass(frozen=True)
class Channel:
    """One counting channel: observed events, background ± systematic (events for the exposure)."""

    name: str
    topology: str
    observed: int
    background: float
    background_sigma: float


@dataclass(frozen=True)
class CountingDataset:
    """A set of independent counting channels with its exposure and source.

    ``signal`` arguments are mappings ``{topology or channel name: events}`` at this data set's
    exposure (``exposure_pot``); use :meth:`events_from_rates` to convert events per POT.  Keys of
    other known topologies (e.g. ``ee0p`` for a photon data set) are ignored; missing channels
    count as zero signal.
    """

    name: str
    experiment: str
    exposure_pot: float
    reference: str
    channels: tuple[Channel, ...]
    correlation: str = ""
    known_keys: frozenset[str] = frozenset({"1g0p", "1g1p", "ee0p", "1e0p", "none"})

    # ------------------------------------------------------------------ helpers
    @property
    def ndof(self) -> int:
        """Number of channels (degrees of freedom of the goodness-of-fit χ²)."""
        return len(self.channels)

    @property
    def topologies(self) -> tuple[str, ...]:
        return tuple(c.topology for c in self.channels)

    def events_from_rates(self, rates_per_pot: Mapping[str, float]) -> dict[str, float]:
        """Events at this data set's exposure from rates [events/POT] by topology."""
        return {k: float(v) * self.exposure_pot for k, v in rates_per_pot.items()}

    def signal_vector(self, signal: Mapping[str, float]) -> np.ndarray:
        """Signal events per channel (in channel order) from a mapping; validates the input."""
        if not isinstance(signal, Mapping):
            raise ParameterError(f"{self.name}: signal must be a mapping {{topology: events}}")
        names = {c.name for c in self.channels} | set(self.topologies)
        for k, v in signal.items():
            if k not in names and k not in self.known_keys:
                raise ParameterError(f"{self.name}: unknown signal key {k!r} (channels: {', '.join(sorted(names))})")
            if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)) or not math.isfinite(float(v)) or float(v) < 0:
                raise ParameterError(f"{self.name}: signal[{k!r}] = {v!r} must be a finite number >= 0 [events]")
        out = np.zeros(len(self.channels))
        for i, c in enumerate(self.channels):
            if c.name in signal:
                out[i] = float(signal[c.name])
            elif c.topology in signal:
                out[i] = float(signal[c.topology])
        return out

    def _arrays(self):
        n = np.array([c.observed for c in self.channels], float)
        b = np.array([c.background for c in self.channels], float)
        s = np.array([c.background_sigma for c in self.channels], float)
        return n, b, s

    # ------------------------------------------------------------------ statistics
    def chi2_vector(self, s: np.ndarray) -> float:
        n, b, sg = self._arrays()
        return float(np.sum(channel_chi2(s, n, b, sg)))

    def chi2(self, signal: Mapping[str, float]) -> float:
        """χ² of the data for background + ``signal`` (events at ``exposure_pot``)."""
        return self.chi2_vector(self.signal_vector(signal))

    def best_scale(self, s: np.ndarray) -> tuple[float, float]:
        """(μ̂, χ²(μ̂ s)) minimising χ² over the signal normalisation μ ≥ 0."""
        if not np.any(s > 0):
            return 0.0, self.chi2_vector(s)
        n, b, _ = self._arrays()
        # upper bracket: enough signal to exceed every channel's data by far
        hi = 10.0 * (float(np.sum(n)) + float(np.sum(b)) + 10.0) / float(np.sum(s))
        f = lambda mu: self.chi2_vector(mu * s)  # noqa: E731
        res = optimize.minimize_scalar(f, bounds=(0.0, hi), method="bounded", options={"xatol": 1e-10 * hi})
        mu, val = float(res.x), float(res.fun)
        f0 = f(0.0)
        if f0 <= val:
            return 0.0, f0
        return mu, val

    def upper_limit_scale(self, signal: Mapping[str, float], cl: float = 0.90) -> float:
        """Signal normalisation μ_UL > μ̂ at which Δχ² reaches the χ²₁ quantile of ``cl``.

        ``signal`` fixes the shape across channels; returns ``inf`` for a zero signal.
        """
        if not 0.0 < cl < 1.0:
            raise ParameterError(f"cl = {cl} must be in (0, 1)")
        from scipy.stats import chi2 as chi2_dist

        s = self.signal_vector(signal)
        if not np.any(s > 0):
            return math.inf
        thr = float(chi2_dist.ppf(cl, 1))
        mu_hat, chi_min = self.best_scale(s)
        g = lambda mu: self.chi2_vector(mu * s) - chi_min - thr  # noqa: E731
        hi = max(mu_hat, 1e-12) * 2.0 + 1.0 / float(np.max(s))
        while g(hi) < 0:
            hi *= 2.0
        return float(optimize.brentq(g, mu_hat, hi, xtol=1e-12 * hi, rtol=1e-12))

    def verdict(self, signal: Mapping[str, float]) -> dict[str, Any]:
        """Test ``signal`` (events at ``exposure_pot``); the definition is in the module docstring.

        Returns ``{chi2, ndof, events, chi2_background, delta_chi2, delta_chi2_vs_background,
        mu_hat, excluded_90, excluded_95, statistic, dataset, exposure_pot, reference}``;
        ``events`` maps each channel to its signal, background and observed counts.
        """
        s = self.signal_vector(signal)
        chi_s = self.chi2_vector(s)
        chi_b = self.chi2_vector(np.zeros_like(s))
        mu_hat, chi_min = self.best_scale(s)
        delta = max(chi_s - chi_min, 0.0)
        below = mu_hat < 1.0
        return {
            "dataset": self.name,
            "chi2": chi_s,
            "ndof": self.ndof,
            "chi2_background": chi_b,
            "delta_chi2": delta,
            "delta_chi2_vs_background": chi_s - chi_b,
            "mu_hat": mu_hat,
            "excluded_90": bool(below and delta > DELTA_CHI2_90),
            "excluded_95": bool(below and delta > DELTA_CHI2_95),
            "events": {
                c.name: {"signal": float(s[i]), "background": c.background, "background_sigma": c.background_sigma,
                         "observed": c.observed}
                for i, c in enumerate(self.channels)
            },
            "exposure_pot": self.exposure_pot,
            "statistic": STATISTIC,
            "reference": self.reference,
        }


@dataclass(frozen=True)
class CombinedConstraint:
    """Several independent data sets tested together with one signal normalisation.

    Inputs are **rates per POT** by topology (each data set scales them to its own exposure).
    χ² and ndof add; the verdict uses the same definition as :class:`CountingDataset` on the sum.
    """

    name: str
    datasets: tuple[CountingDataset, ...]

    @property
    def ndof(self) -> int:
        return sum(d.ndof for d in self.datasets)

    def _signal_vectors(self, rates_per_pot: Mapping[str, float]) -> list[np.ndarray]:
        return [d.signal_vector(d.events_from_rates(rates_per_pot)) for d in self.datasets]

    def _chi2(self, vecs, mu: float = 1.0) -> float:
        return float(sum(d.chi2_vector(mu * v) for d, v in zip(self.datasets, vecs)))

    def chi2(self, rates_per_pot: Mapping[str, float]) -> float:
        """Summed χ² for signal rates [events/POT] by topology."""
        return self._chi2(self._signal_vectors(rates_per_pot))

    def verdict(self, rates_per_pot: Mapping[str, float]) -> dict[str, Any]:
        """Combined verdict plus each data set's own verdict under ``by_dataset``."""
        vecs = self._signal_vectors(rates_per_pot)
        chi_s = self._chi2(vecs)
        chi_b = self._chi2(vecs, 0.0)
        if any(np.any(v > 0) for v in vecs):
            tot = sum(float(np.sum(v)) for v in vecs)
            nb = sum(sum(c.observed + c.background for c in d.channels) for d in self.datasets)
            hi = 10.0 * (nb + 10.0) / tot
            res = optimize.minimize_scalar(lambda m: self._chi2(vecs, m), bounds=(0.0, hi), method="bounded",
                                           options={"xatol": 1e-10 * hi})
            mu_hat, chi_min = (float(res.x), float(res.fun)) if res.fun < chi_b else (0.0, chi_b)
        else:
            mu_hat, chi_min = 0.0, chi_b
        delta = max(chi_s - chi_min, 0.0)
        below = mu_hat < 1.0
        by = {d.name: d.verdict(d.events_from_rates(rates_per_pot)) for d in self.datasets}
        events = {f"{d.name}:{k}": v for d in self.datasets for k, v in by[d.name]["events"].items()}
        return {
            "dataset": self.name, "chi2": chi_s, "ndof": self.ndof, "chi2_background": chi_b,
            "delta_chi2": delta, "delta_chi2_vs_background": chi_s - chi_b, "mu_hat": mu_hat,
            "excluded_90": bool(below and delta > DELTA_CHI2_90),
            "excluded_95": bool(below and delta > DELTA_CHI2_95),
            "events": events, "statistic": STATISTIC, "by_dataset": by,
        }


def load_counting_dataset(relpath: str) -> CountingDataset:
    """Read a bundled counting data set (TOML below ``mesonportal/data``; sources in its header)."""
    from mesonportal.data import read_text

    try:
        doc = tomllib.loads(read_text(relpath))
        meta = doc["dataset"]
        chans = tuple(
            Channel(str(c["name"]), str(c["topology"]), int(c["observed"]), float(c["background"]),
                    float(c["background_sigma"]))
            for c in doc["channel"]
        )
        ds = CountingDataset(str(meta["name"]), str(meta["experiment"]), float(meta["exposure_pot"]),
                             str(meta["reference"]), chans, str(meta.get("correlation", "")))
    except (KeyError, TypeError, ValueError, tomllib.TOMLDecodeError) as exc:
        raise DataError(f"bundled data set {relpath!r} is malformed: {exc}") from None
    for c in ds.channels:
        if c.observed < 0 or c.background < 0 or c.background_sigma < 0:
            raise DataError(f"bundled data set {relpath!r}: channel {c.name!r} has negative counts")
    return ds
