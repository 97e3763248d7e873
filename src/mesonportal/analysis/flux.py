"""Neutrino flux at a spherical detector from a meson sample, and the official MiniBooNE flux.

Flux convention: ν / cm² / POT per energy bin, averaged over the detector volume with the
track-length estimator Φ_bin = Σ_i w_i ℓ_i / V (w_i = ν per POT aimed at the detector, ℓ_i the
chord through the sphere in cm, V = 4/3 π R³); see :mod:`mesonportal.production.sm_decays`.

Flux dictionaries (prediction and official) share the layout::

    {"numu": (B,), "numubar": (B,), "nue": (B,), "nuebar": (B,),       # ν/cm²/POT/bin
     "numu_err": (B,), ..., "nuebar_err": (B,),                          # MC stat. errors
     "edges_gev": (B+1,)}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mesonportal.data import load_table
from mesonportal.exceptions import ParameterError
from mesonportal.production.sm_decays import iter_neutrino_blocks
from mesonportal.propagation.geometry import ray_sphere_intersection, sphere_volume
from mesonportal.sample import ParticleSample

Array = NDArray[np.float64]

__all__ = [
    "FLAVOURS",
    "FLAVOUR_PDG",
    "DEFAULT_EDGES_MEV",
    "OFFICIAL_FLUX_FILE",
    "flux_from_neutrinos",
    "neutrino_flux",
    "official_flux",
    "integrated_flux",
    "mean_energy_gev",
    "rebin_flux",
    "compare_fluxes",
    "plot_flux",
]

FLAVOURS: tuple[str, ...] = ("numu", "numubar", "nue", "nuebar")
FLAVOUR_PDG: dict[str, int] = {"numu": 14, "numubar": -14, "nue": 12, "nuebar": -12}
#: 0–10 GeV in 50 MeV bins, the binning of the official MiniBooNE flux release.
DEFAULT_EDGES_MEV: Array = np.linspace(0.0, 10000.0, 201)
OFFICIAL_FLUX_FILE = "bnb_flux/miniboone_nu_mode_flux.txt"


def _check_edges(edges_mev) -> Array:
    e = np.asarray(edges_mev, dtype=np.float64).reshape(-1)
    if e.size < 2 or not np.all(np.isfinite(e)) or np.any(np.diff(e) <= 0) or e[0] < 0:
        raise ParameterError("edges_mev must be >= 2 finite, non-negative, strictly increasing energies (MeV)")
    return e


_PARENT_CODES = np.array(sorted((211, -211, 321, -321, 130, 13, -13)), dtype=np.int64)
_FLAVOUR_CODES = np.array([FLAVOUR_PDG[k] for k in FLAVOURS], dtype=np.int64)


def _code_index(codes: Array, table: Array, missing: int) -> Array:
    """Position of each code in ``table`` (sorted or not, small), ``missing`` if absent."""
    order = np.argsort(table)
    st = table[order]
    pos = np.clip(np.searchsorted(st, codes), 0, len(st) - 1)
    return np.where(st[pos] == codes, order[pos], missing)


class _FluxAccumulator:
    """Sums track-length contributions per (flavour, parent) and energy bin over chunks of
    neutrinos: one ``np.bincount`` per block on precomputed bin indices.  Each slot row holds
    an underflow column, the ``nb`` bins and an overflow column."""

    def __init__(self, edges: Array, center, radius: float) -> None:
        self.edges = edges
        self.center = np.asarray(center, float)
        self.radius = float(radius)
        self.vol = sphere_volume(radius)
        self.nb = nb = len(edges) - 1
        self._stride = nb + 2
        self._npar = len(_PARENT_CODES) + 1  # last: any other parent code (reported as 0)
        self.h = np.zeros((len(FLAVOURS) * self._npar, self._stride))
        self.h2 = np.zeros_like(self.h)
        w = np.diff(edges)
        self._uniform = bool(np.allclose(w, w[0], rtol=1e-12, atol=0))
        self._inv_width = 1.0 / w[0]

    def _bins(self, e: Array) -> Array:
        """Bin index −1 … nb (−1 below the first edge, nb at or above the last), shape of e."""
        if self._uniform:
            t = e - self.edges[0] if self.edges[0] != 0.0 else e.copy()
            t *= self._inv_width
            np.clip(t, -1.0, float(self.nb), out=t)
            np.floor(t, out=t)
            return t.astype(np.intp)
        return np.searchsorted(self.edges, e, side="right") - 1

    def _slots(self, nu_pdg, parent) -> Array:
        fl = _code_index(np.asarray(nu_pdg, np.int64), _FLAVOUR_CODES, -1)
        par = _code_index(np.asarray(parent, np.int64), _PARENT_CODES, len(_PARENT_CODES))
        return np.where(fl >= 0, fl * self._npar + par, -1)

    def add_block(self, bl) -> None:
        """Add a :class:`~mesonportal.production.sm_decays.NeutrinoBlock` (chords precomputed)."""
        k, n = bl.energy.shape
        if n == 0:
            return
        contrib = bl.weight * bl.chord
        contrib *= 1.0 / self.vol
        idx = self._bins(bl.energy)
        idx += (np.arange(k) * self._stride + 1)[:, None]
        idx = idx.reshape(-1)
        contrib = contrib.reshape(-1)
        size = k * self._stride
        h = np.bincount(idx, contrib, minlength=size).reshape(k, self._stride)
        contrib *= contrib
        h2 = np.bincount(idx, contrib, minlength=size).reshape(k, self._stride)
        slots = self._slots(bl.nu_pdg, np.full(k, bl.parent))
        ok = slots >= 0
        np.add.at(self.h, slots[ok], h[ok])
        np.add.at(self.h2, slots[ok], h2[ok])

    def add(self, nus: ParticleSample) -> None:
        """Add a neutrino sample (chords from :func:`ray_sphere_intersection`)."""
        if len(nus) == 0:
            return
        e = nus.p4[:, 0]
        inter = ray_sphere_intersection(nus.vertex, nus.p4[:, 1:] / e[:, None], self.center, self.radius)
        contrib = nus.weight * inter.chord / self.vol
        slots = self._slots(nus.pdgid, nus.parent)
        ok = slots >= 0
        idx = slots[ok] * self._stride + self._bins(e[ok]) + 1
        size = self.h.size
        self.h += np.bincount(idx, contrib[ok], minlength=size).reshape(self.h.shape)
        self.h2 += np.bincount(idx, contrib[ok] ** 2, minlength=size).reshape(self.h.shape)

    def result(self) -> dict[str, Any]:
        out: dict[str, Any] = {"edges_gev": self.edges / 1000.0}
        inner = slice(1, self.nb + 1)
        for f, name in enumerate(FLAVOURS):
            rows = slice(f * self._npar, (f + 1) * self._npar)
            full = self.h[rows, inner]
            out[name] = full.sum(axis=0)
            out[name + "_err"] = np.sqrt(self.h2[rows, inner].sum(axis=0))
            out[name + "_by_parent"] = {
                (int(_PARENT_CODES[k]) if k < len(_PARENT_CODES) else 0): full[k].copy()
                for k in np.flatnonzero(full.any(axis=1))
            }
        return out


def flux_from_neutrinos(
    neutrinos: ParticleSample, detector_center, detector_radius: float, edges_mev=DEFAULT_EDGES_MEV
) -> dict[str, Any]:
    """Histogram a neutrino sample (weights in ν/POT, see ``neutrinos_towards_sphere``) into the
    volume-averaged flux per bin (ν/cm²/POT/bin) with the track-length estimator Σ w ℓ / V.

    Also returns, per flavour, ``<flavour>_err`` = √Σ(wℓ/V)² (MC statistical error) and
    ``<flavour>_by_parent`` = {parent PDG code: histogram}.
    """
    acc = _FluxAccumulator(_check_edges(edges_mev), detector_center, detector_radius)
    acc.add(neutrinos)
    return acc.result()


def neutrino_flux(
    mesons: ParticleSample,
    detector_center,
    detector_radius: float,
    absorber_z_cm: float,
    rng: np.random.Generator,
    edges_mev=DEFAULT_EDGES_MEV,
    **decay_options: Any,
) -> dict[str, Any]:
    """Volume-averaged SM neutrino flux (ν/cm²/POT/bin) at a detector sphere from mesons at
    their decay points.

    Parameters
    ----------
    mesons : ParticleSample (decay points, lab p4 in MeV, weight = decays/POT)
    detector_center : (3,) cm; detector_radius : cm
    absorber_z_cm : z of the absorber plane (cm) where muons stop
    rng : numpy Generator
    edges_mev : bin edges in MeV (default 0–10 GeV, 50 MeV bins, as the official flux)
    decay_options : forwarded to
        :func:`~mesonportal.production.sm_decays.iter_neutrino_blocks`
        (``chunk_size``, ``n_nu_per_decay``, ``n_mu_per_decay``, ``polarised_muons``,
        ``mu_minus_capture_fraction``, ``pipe_radius_cm``, ``include_muon_decays``)

    Returns
    -------
    dict with ``numu, numubar, nue, nuebar`` (ν/cm²/POT/bin), ``<flavour>_err`` (MC stat.),
    ``<flavour>_by_parent`` ({parent PDG: histogram}) and ``edges_gev``.
    """
    acc = _FluxAccumulator(_check_edges(edges_mev), detector_center, detector_radius)
    for block in iter_neutrino_blocks(mesons, detector_center, detector_radius, absorber_z_cm, rng,
                                      **decay_options):
        acc.add_block(block)
    return acc.result()


def official_flux() -> dict[str, Any]:
    """The official MiniBooNE ν-mode flux (MiniBooNE flux data release
    "april07_baseline_rgen610.6", arXiv:0806.1449), ν/cm²/POT per 50 MeV bin, 0–10 GeV.
    Errors (``<flavour>_err``) are zero: the release gives central values only."""
    t = load_table(OFFICIAL_FLUX_FILE)
    edges = np.concatenate([t[:, 0], t[-1:, 1]])
    out: dict[str, Any] = {"edges_gev": edges}
    for i, name in enumerate(FLAVOURS):
        out[name] = t[:, 2 + i].copy()
        out[name + "_err"] = np.zeros(len(t))
    return out


def integrated_flux(flux: dict[str, Any], flavour: str = "numu") -> float:
    """Σ over bins (ν/cm²/POT)."""
    return float(np.sum(flux[flavour]))


def mean_energy_gev(flux: dict[str, Any], flavour: str = "numu") -> float:
    """Flux-weighted mean energy (GeV) using bin centres."""
    e = flux["edges_gev"]
    c = 0.5 * (e[1:] + e[:-1])
    tot = np.sum(flux[flavour])
    return float(np.sum(c * flux[flavour]) / tot) if tot > 0 else 0.0


def rebin_flux(flux: dict[str, Any], new_edges_gev) -> dict[str, Any]:
    """Merge bins of a flux dictionary onto coarser edges (each a subset of the old edges, to
    1e-9 GeV); contents add, errors add in quadrature."""
    old = np.asarray(flux["edges_gev"], float)
    new = np.asarray(new_edges_gev, float).reshape(-1)
    if new.size < 2 or np.any(np.diff(new) <= 0):
        raise ParameterError("new_edges_gev must be >= 2 strictly increasing energies (GeV)")
    idx = np.searchsorted(old, new - 1e-9)
    idx = np.clip(idx, 0, len(old) - 1)
    if not np.allclose(old[idx], new, atol=1e-9, rtol=0):
        raise ParameterError("new_edges_gev must be a subset of the flux bin edges")
    out: dict[str, Any] = {"edges_gev": new.copy()}
    def merge(v):  # exact sums over old bins [idx_i, idx_{i+1})
        padded = np.concatenate([np.asarray(v, float), [0.0]])
        return np.add.reduceat(padded, idx)[:-1]

    for name in FLAVOURS:
        if name not in flux:
            continue
        out[name] = merge(flux[name])
        err = flux.get(name + "_err")
        if err is not None:
            out[name + "_err"] = np.sqrt(merge(np.asarray(err) ** 2))
    return out


def compare_fluxes(prediction: dict[str, Any], official: dict[str, Any], edges_gev=None) -> dict[str, Any]:
    """Per-bin ratio prediction/official with its error, after optional rebinning.

    Returns ``{"edges_gev", <flavour>: {"ratio", "ratio_err", "prediction", "official",
    "integral_ratio", "integral_ratio_err"}}``; bins where the official flux is zero get
    ratio 0 and error 0 (never NaN).  Errors combine both inputs' ``_err`` in quadrature
    (relative).
    """
    if edges_gev is not None:
        prediction = rebin_flux(prediction, edges_gev)
        official = rebin_flux(official, edges_gev)
    if not np.allclose(prediction["edges_gev"], official["edges_gev"], atol=1e-9):
        raise ParameterError("prediction and official flux have different bin edges; pass edges_gev")
    out: dict[str, Any] = {"edges_gev": np.asarray(prediction["edges_gev"], float)}
    for name in FLAVOURS:
        p = np.asarray(prediction[name], float)
        o = np.asarray(official[name], float)
        pe = np.asarray(prediction.get(name + "_err", np.zeros_like(p)), float)
        oe = np.asarray(official.get(name + "_err", np.zeros_like(o)), float)
        ok = o > 0
        safe_o = np.where(ok, o, 1.0)
        ratio = np.where(ok, p / safe_o, 0.0)
        safe_p = np.where(p > 0, p, 1.0)
        rel2 = np.where(p > 0, (pe / safe_p) ** 2, 0.0) + (oe / safe_o) ** 2
        ratio_err = np.where(ok, np.where(p > 0, ratio * np.sqrt(rel2), pe / safe_o), 0.0)
        tp, to = p.sum(), o.sum()
        ir = tp / to if to > 0 else 0.0
        ire = (np.sqrt(np.sum(pe**2)) / to) if to > 0 else 0.0
        out[name] = {"ratio": ratio, "ratio_err": ratio_err, "prediction": p, "official": o,
                     "integral_ratio": float(ir), "integral_ratio_err": float(ire)}
    return out


_STYLE = {"numu": ("C0", r"$\nu_\mu$"), "numubar": ("C1", r"$\bar\nu_\mu$"),
          "nue": ("C2", r"$\nu_e$"), "nuebar": ("C3", r"$\bar\nu_e$")}


def plot_flux(prediction: dict[str, Any], official: dict[str, Any] | None, path: str | Path,
              edges_gev=None, title: str = "MiniBooNE neutrino-mode flux") -> Path:
    """Publication-style figure: fluxes per flavour (log y, ν/cm²/POT/50 MeV) — prediction as
    error-band steps, official as dashed lines — with a prediction/official ratio panel
    underneath (only when there is an official flux).  Saves to ``path`` (format from the
    suffix) and returns it."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    if edges_gev is not None:
        prediction = rebin_flux(prediction, edges_gev)
        if official is not None:
            official = rebin_flux(official, edges_gev)
    edges = np.asarray(prediction["edges_gev"], float)
    if official is not None:
        fig, (ax, axr) = plt.subplots(2, 1, figsize=(6.4, 6.0), sharex=True,
                                      gridspec_kw={"height_ratios": [3, 1.2], "hspace": 0.05})
    else:  # nothing to compare with (e.g. dump or antineutrino mode): no empty ratio panel
        fig, ax = plt.subplots(figsize=(6.4, 4.8))
        axr = ax
    xmax = edges[-1]
    ymin = np.inf
    for name in FLAVOURS:
        color, label = _STYLE[name]
        p = np.asarray(prediction[name], float)
        pe = np.asarray(prediction.get(name + "_err", np.zeros_like(p)), float)
        ax.stairs(p, edges, color=color, lw=1.4, label=f"{label} (this work)")
        ax.stairs(p + pe, edges, baseline=np.clip(p - pe, 0, None), fill=True, color=color, alpha=0.25, lw=0)
        if np.any(p > 0):
            ymin = min(ymin, p[p > 0].min())
        if official is not None:
            o = np.asarray(official[name], float)
            ax.stairs(o, official["edges_gev"], color=color, lw=1.2, ls="--", label=f"{label} (MiniBooNE)")
    ax.set_yscale("log")
    if np.isfinite(ymin):
        ax.set_ylim(bottom=max(ymin * 0.5, 1e-18))
    ax.set_ylabel(r"$\Phi$ [$\nu$ / cm$^2$ / POT / bin]")
    ax.set_title(title, fontsize=11)
    ax.legend(ncol=2, fontsize=8, frameon=False)
    ax.tick_params(which="both", direction="in", top=True, right=True)
    if official is not None:
        cmp = compare_fluxes(prediction, official)
        centres = 0.5 * (edges[1:] + edges[:-1])
        for name in FLAVOURS:
            color, _ = _STYLE[name]
            r = cmp[name]
            ok = r["official"] > 0
            axr.errorbar(centres[ok], r["ratio"][ok], yerr=r["ratio_err"][ok], fmt="o", ms=2.5,
                         color=color, elinewidth=0.8)
        axr.axhline(1.0, color="k", lw=0.8)
        axr.set_ylim(0.0, 2.0)
        axr.set_ylabel("pred. / official")
    axr.set_xlabel(r"$E_\nu$ [GeV]")
    axr.set_xlim(0.0, xmax)
    axr.tick_params(which="both", direction="in", top=True, right=True)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight", dpi=150)
    plt.close(fig)
    return path
