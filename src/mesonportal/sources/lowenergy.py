"""Low-energy meson production by hadrons on beryllium from a bundled hadronic-transport table.

The table ``data/lowenergy/urqmd_be.npz`` holds, for parents p, n, π+, π− at momenta 0.5–8.89 GeV/c, the
lab-frame (p, θ) histograms of the final-state π+, π−, K+, K− of hadron–⁹Be events generated offline with
UrQMD 3.4 (Bass et al., Prog. Part. Nucl. Phys. 41 (1998) 255, arXiv:nucl-th/9803035; Bleicher et al.,
J. Phys. G 25 (1999) 1859, arXiv:hep-ph/9909407) through chromo 0.11.0 by ``scripts/make_lowenergy_tables.py``
(generator, seeds, settings and normalisation in the file's ``header``). It replaces the Sanford–Wang p-Be fit
(valid for p_B = 6.4–17.5 GeV/c) where the tertiary model (:mod:`mesonportal.sources.tertiary`) would
otherwise extrapolate it to low parent momenta.

Normalisation: ``counts / n_events`` = mesons per hadron–nucleus event, an event being a collision with at
least one hadron–nucleon collision (elastic ones included, so quasi-elastic events are in the denominator).

Units: momenta in the table GeV/c (file), returned in MeV/c; angles rad; yields per event.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from mesonportal.exceptions import DataError

#: bundled table (relative to mesonportal/data)
TABLE = "lowenergy/urqmd_be.npz"
PARENT_PDG = (2212, 2112, 211, -211)
SPECIES = (211, -211, 321, -321)
_KEYS = ("header", "p_in_gev", "p_edges_gev", "theta_edges", "counts", "n_events", "parent_pdg", "species")


@dataclass(frozen=True)
class LowEnergyTable:
    """Meson yields per hadron–nucleus event. ``counts[parent, p_in, species, p_bin, θ_bin]``."""

    header: dict
    p_in_gev: np.ndarray
    p_edges_gev: np.ndarray
    theta_edges: np.ndarray
    counts: np.ndarray
    n_events: np.ndarray

    def multiplicity(self, parent_pdg: int, species: int) -> np.ndarray:
        """Mean number of ``species`` per event at each parent momentum of :attr:`p_in_gev`."""
        i, j = _index(PARENT_PDG, parent_pdg, "parent"), _index(SPECIES, species, "species")
        return self.counts[i, :, j].sum(axis=(1, 2)) / self.n_events[i]

    def multiplicity_error(self, parent_pdg: int, species: int) -> np.ndarray:
        """Statistical error of :meth:`multiplicity` (Poisson on the counts; an upper bound for the
        event-to-event spread of the multiplicity of a single species)."""
        i, j = _index(PARENT_PDG, parent_pdg, "parent"), _index(SPECIES, species, "species")
        return np.sqrt(self.counts[i, :, j].sum(axis=(1, 2))) / self.n_events[i]

    def d2n_dp_domega(self, parent_pdg: int, species: int) -> tuple[np.ndarray, np.ndarray]:
        """(d²N/dp dΩ [1/(GeV/c sr) per event], its statistical error), shape (n_p_in, n_p, n_θ)."""
        i, j = _index(PARENT_PDG, parent_pdg, "parent"), _index(SPECIES, species, "species")
        dp = np.diff(self.p_edges_gev)
        dom = 2.0 * np.pi * -np.diff(np.cos(self.theta_edges))
        c = self.counts[i, :, j]
        norm = self.n_events[i][:, None, None] * dp[None, :, None] * dom[None, None, :]
        return c / norm, np.sqrt(c) / norm

    def sample(self, rng: np.random.Generator, parent_pdg: np.ndarray, p_in_mev: np.ndarray, species: int
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Draw one ``species`` meson per parent: (p [MeV/c], θ [rad], weight = mesons per event).

        The parent momentum picks the table momenta bracketing it, the upper one with probability
        (p_in − p_lo)/(p_hi − p_lo) (a linear interpolation of the spectra in p_in); the meson's (p, cos θ)
        is drawn uniformly inside a (p, θ) bin chosen with probability ∝ its content, and p is scaled by
        p_in / p_table (the spectrum's end point follows the parent). Weight zero below the lowest table
        momentum; above the highest one the highest is used (scaled). Vectorised; uses ``rng`` only."""
        parent_pdg = np.asarray(parent_pdg)
        p_in = np.asarray(p_in_mev, dtype=float) * 1e-3
        n = len(p_in)
        j = _index(SPECIES, species, "species")
        grid = self.p_in_gev
        lo = np.clip(np.searchsorted(grid, p_in, side="right") - 1, 0, len(grid) - 1)
        hi = np.minimum(lo + 1, len(grid) - 1)
        frac = np.where(hi > lo, (p_in - grid[lo]) / (grid[hi] - grid[lo]), 0.0)
        u = rng.random(n)
        k = np.where(u < np.clip(frac, 0.0, 1.0), hi, lo)
        u_bin, u_p, u_c = rng.random(n), rng.random(n), rng.random(n)
        n_th = len(self.theta_edges) - 1
        p_out, th_out, w_out = np.zeros(n), np.zeros(n), np.zeros(n)
        valid = p_in >= grid[0]
        for ip, pdg in enumerate(PARENT_PDG):
            for ik in range(len(grid)):
                sel = np.nonzero(valid & (parent_pdg == pdg) & (k == ik))[0]
                if len(sel) == 0:
                    continue
                c = self.counts[ip, ik, j].ravel()
                tot = c.sum()
                if tot <= 0:
                    continue
                cdf = np.cumsum(c) / tot
                b = np.minimum(np.searchsorted(cdf, u_bin[sel], side="right"), len(c) - 1)
                bp, bt = np.divmod(b, n_th)
                pe, te = self.p_edges_gev, self.theta_edges
                pg = pe[bp] + u_p[sel] * (pe[bp + 1] - pe[bp])
                c0, c1 = np.cos(te[bt]), np.cos(te[bt + 1])
                th_out[sel] = np.arccos(np.clip(c0 + u_c[sel] * (c1 - c0), -1.0, 1.0))
                p_out[sel] = pg * (p_in[sel] / grid[ik]) * 1e3
                w_out[sel] = tot / self.n_events[ip, ik]
        return p_out, th_out, w_out


def _index(values, v, what: str) -> int:
    try:
        return values.index(int(v))
    except ValueError:
        raise DataError(f"low-energy table: {what} {v} not tabulated; allowed: {', '.join(map(str, values))}") from None


def parse_table(data, name: str) -> LowEnergyTable:
    """Validate the arrays of a low-energy table (``name`` for messages) → :class:`LowEnergyTable`.
    Any inconsistency → one-line :class:`DataError` naming the file and the rule."""
    missing = [k for k in _KEYS if k not in data]
    if missing:
        raise DataError(f"{name}: missing array(s) {', '.join(missing)}")
    try:
        header = json.loads(str(data["header"]))
    except ValueError:
        raise DataError(f"{name}: 'header' must be a JSON object") from None
    p_in = np.asarray(data["p_in_gev"], dtype=float)
    pe = np.asarray(data["p_edges_gev"], dtype=float)
    te = np.asarray(data["theta_edges"], dtype=float)
    counts = np.asarray(data["counts"])
    n_ev = np.asarray(data["n_events"])
    for key, a in (("p_in_gev", p_in), ("p_edges_gev", pe), ("theta_edges", te)):
        if a.ndim != 1 or len(a) < 2 or not np.all(np.isfinite(a)) or np.any(np.diff(a) <= 0):
            raise DataError(f"{name}: '{key}' must be a finite, strictly increasing 1-d array of >= 2 values")
    if p_in[0] <= 0 or pe[0] < 0:
        raise DataError(f"{name}: momenta must be >= 0 (p_in_gev > 0)")
    if te[0] < 0 or te[-1] > np.pi + 1e-9:
        raise DataError(f"{name}: 'theta_edges' must lie in [0, pi]")
    if tuple(int(v) for v in data["parent_pdg"]) != PARENT_PDG or tuple(int(v) for v in data["species"]) != SPECIES:
        raise DataError(f"{name}: parents must be {PARENT_PDG} and species {SPECIES}")
    shape = (len(PARENT_PDG), len(p_in), len(SPECIES), len(pe) - 1, len(te) - 1)
    if counts.shape != shape:
        raise DataError(f"{name}: 'counts' has shape {counts.shape}, expected {shape} (parent, p_in, species, p, theta)")
    if not np.all(np.isfinite(counts)) or np.any(counts < 0):
        raise DataError(f"{name}: 'counts' must be finite and >= 0")
    if n_ev.shape != shape[:2] or np.any(n_ev <= 0):
        raise DataError(f"{name}: 'n_events' must have shape {shape[:2]} and be > 0")
    return LowEnergyTable(header=header, p_in_gev=p_in, p_edges_gev=pe, theta_edges=te,
                          counts=counts.astype(float), n_events=n_ev.astype(float))


@lru_cache(maxsize=1)
def lowenergy_table() -> LowEnergyTable:
    """The bundled UrQMD 3.4 hadron–Be table (:data:`TABLE`)."""
    from importlib import resources

    path = resources.files("mesonportal.data").joinpath(TABLE)
    try:
        with path.open("rb") as fh, np.load(fh, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise DataError(f"data/{TABLE}: cannot be read ({exc})") from None
    return parse_table(data, f"data/{TABLE}")


__all__ = ["LowEnergyTable", "lowenergy_table", "parse_table", "TABLE", "PARENT_PDG", "SPECIES"]
