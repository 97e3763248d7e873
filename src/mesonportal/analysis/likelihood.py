"""MiniBooNE covariance χ² and the ν_μ-constrained background (arXiv:2006.16883 data release).

MiniBooNE prescription (physics.md §5; MiniBooNE data-release notes):

* Predicted counts N = (s, b_e, b_μ) in the order of the fractional covariance F
  ([signal 11, ν_e background 11, ν_μ 8] per mode; [ν 30, ν̄ 30] for the combined fit).
* Systematic covariance M = diag(N) F diag(N).
* Collapse signal and ν_e background into one ν_e-like block:
  C_ee = M_ss + M_sb + M_bs + M_bb, C_eμ = M_sμ + M_bμ, C_μμ = M_μμ
  (19×19 per mode, 38×38 combined; internal order [ν_e-like bins..., ν_μ bins...], i.e. for the
  combined fit [e_ν 11, e_ν̄ 11, μ_ν 8, μ_ν̄ 8] — χ² does not depend on the order).
* Statistical diagonal added to C (``stat``):

  - ``"pearson"`` (default, as MiniBooNE's fits): variance = prediction, s + b_e in ν_e-like bins
    and b_μ in ν_μ bins;
  - ``"cnp"``: combined Neyman–Pearson, 3 / (1/d + 2/μ) (μ/2 where d = 0), Ji, Jiang, Ji,
    Chen, arXiv:1903.07185, with μ the prediction as above and d the observed counts;
  - ``"none"``: systematic covariance only.

* χ² = rᵀ C⁻¹ r with r = (d_e − s − b_e, d_μ − b_μ), evaluated through a Cholesky factor;
  a covariance that is not positive definite raises :class:`DataError`.

Counts are events per bin (the signal must already be multiplied by the exposure).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np

from mesonportal.analysis.miniboone_data import (
    MODES,
    N_NUE_BINS,
    N_NUMU_BINS,
    load_combined_fractional_covariance,
    load_digitized,
    load_miniboone,
)
from mesonportal.exceptions import DataError, ParameterError

__all__ = [
    "ANALYSES",
    "STAT_TREATMENTS",
    "MiniBooNECovarianceChi2",
    "get_likelihood",
    "chi2",
    "chi2_many",
    "BackgroundSummary",
    "background_summary",
    "shape_chi2",
]

Analysis = Literal["nu", "nubar", "combined"]
Stat = Literal["pearson", "cnp", "none"]
ANALYSES: tuple[str, ...] = ("nu", "nubar", "combined")
STAT_TREATMENTS: tuple[str, ...] = ("pearson", "cnp", "none")
_CHUNK = 4096  # signal vectors per batch in chi2_many (bounds memory to ~50 MB for 38×38)


def _check_analysis(mode: str) -> str:
    if mode not in ANALYSES:
        raise ParameterError(f"MiniBooNE analysis mode must be one of {ANALYSES}, got {mode!r}")
    return mode


def _check_stat(stat: str) -> str:
    if stat not in STAT_TREATMENTS:
        raise ParameterError(f"stat must be one of {STAT_TREATMENTS}, got {stat!r}")
    return stat


def _cnp_variance(data: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """CNP variance 3/(1/d + 2/μ) (arXiv:1903.07185); μ/2 where d = 0."""
    d = np.broadcast_to(data, mu.shape)
    safe_d = np.where(d > 0, d, 1.0)
    return np.where(d > 0, 3.0 / (1.0 / safe_d + 2.0 / mu), 0.5 * mu)


class MiniBooNECovarianceChi2:
    """MiniBooNE covariance χ² for ν_e-like signal predictions (see module docstring).

    Build with :func:`get_likelihood` (bundled data) or :meth:`from_arrays` (any one-mode
    release-shaped input, e.g. for tests). ``signal_systematics=False`` drops the signal rows of F
    (keeps only the background and ν_μ systematics).
    """

    def __init__(
        self,
        fractional_covariance: np.ndarray,
        sig_idx: np.ndarray,
        bkg_idx: np.ndarray,
        mu_idx: np.ndarray,
        nue_data: np.ndarray,
        nue_background: np.ndarray,
        numu_data: np.ndarray,
        numu_prediction: np.ndarray,
        stat: Stat = "pearson",
        signal_systematics: bool = True,
        label: str = "custom",
    ) -> None:
        self.stat = _check_stat(stat)
        self.label = label
        F = np.asarray(fractional_covariance, dtype=np.float64)
        de = np.asarray(nue_data, dtype=np.float64)
        be = np.asarray(nue_background, dtype=np.float64)
        dm = np.asarray(numu_data, dtype=np.float64)
        bm = np.asarray(numu_prediction, dtype=np.float64)
        ne, nm = de.size, dm.size
        if not (len(sig_idx) == len(bkg_idx) == be.size == ne and len(mu_idx) == bm.size == nm):
            raise DataError(f"MiniBooNE inputs ({label}): inconsistent bin counts")
        if F.ndim != 2 or F.shape[0] != F.shape[1] or F.shape[0] < ne * 2 + nm:
            raise DataError(f"MiniBooNE fractional covariance ({label}) has shape {F.shape}")
        arrays = (F, de, be, dm, bm)
        if not all(np.all(np.isfinite(a)) for a in arrays):
            raise DataError(f"MiniBooNE inputs ({label}) contain non-finite values")
        if np.any(be <= 0) or np.any(bm <= 0):
            raise DataError(f"MiniBooNE background predictions ({label}) must be positive")
        self.n_e, self.n_mu = ne, nm
        self.nue_data, self.nue_background = de, be
        self.numu_data, self.numu_prediction = dm, bm
        ix = np.ix_
        s_, b_, m_ = np.asarray(sig_idx), np.asarray(bkg_idx), np.asarray(mu_idx)
        ss = 1.0 if signal_systematics else 0.0
        self._F_ss = ss * F[ix(s_, s_)]
        self._F_sb = ss * F[ix(s_, b_)]
        self._F_sm = ss * F[ix(s_, m_)]
        # signal-independent pieces of the collapsed covariance
        self._C_ee0 = be[:, None] * F[ix(b_, b_)] * be[None, :]
        self._C_em0 = be[:, None] * F[ix(b_, m_)] * bm[None, :]
        C_mm = bm[:, None] * F[ix(m_, m_)] * bm[None, :]
        if self.stat == "pearson":
            C_mm = C_mm + np.diag(bm)
        elif self.stat == "cnp":
            C_mm = C_mm + np.diag(_cnp_variance(dm, bm))
        self._C_mm = C_mm
        self._r_mu = dm - bm

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_arrays(
        cls,
        fractional_covariance: np.ndarray,
        nue_data: np.ndarray,
        nue_background: np.ndarray,
        numu_data: np.ndarray,
        numu_prediction: np.ndarray,
        stat: Stat = "pearson",
        signal_systematics: bool = True,
        label: str = "custom",
    ) -> MiniBooNECovarianceChi2:
        """One-mode likelihood from arrays; F ordered [signal n_e, background n_e, ν_μ n_μ]."""
        ne, nm = np.size(nue_data), np.size(numu_data)
        return cls(
            fractional_covariance,
            np.arange(ne),
            np.arange(ne, 2 * ne),
            np.arange(2 * ne, 2 * ne + nm),
            nue_data,
            nue_background,
            numu_data,
            numu_prediction,
            stat=stat,
            signal_systematics=signal_systematics,
            label=label,
        )

    @property
    def n_signal(self) -> int:
        """Length of a signal vector (11 per mode, 22 for ``combined``: [ν 11, ν̄ 11])."""
        return self.n_e

    # ------------------------------------------------------------------ covariance
    def _as_batch(self, S: np.ndarray) -> np.ndarray:
        S = np.asarray(S, dtype=np.float64)
        if S.ndim == 1:
            S = S[None, :]
        if S.ndim != 2 or S.shape[1] != self.n_e:
            raise ParameterError(
                f"signal must have shape ({self.n_e},) or (K, {self.n_e}) for MiniBooNE "
                f"{self.label!r}, got {np.shape(S)}"
            )
        if not np.all(np.isfinite(S)):
            raise ParameterError("signal contains non-finite values (NaN or inf)")
        if self.stat != "none" and np.any(S + self.nue_background <= 0):
            raise ParameterError(
                "signal + background must be > 0 in every ν_e-like bin (statistical variance)"
            )
        return S

    def covariance_many(self, S: np.ndarray) -> np.ndarray:
        """Collapsed covariance (K, n_e+n_μ, n_e+n_μ) [events²] for signals S (K, n_e)."""
        S = self._as_batch(S)
        be = self.nue_background
        K, ne, nm = S.shape[0], self.n_e, self.n_mu
        A = S[:, :, None] * self._F_sb * be[None, None, :]  # M_sb
        C_ee = self._C_ee0 + S[:, :, None] * self._F_ss * S[:, None, :] + A + A.transpose(0, 2, 1)
        mu_e = S + be
        if self.stat == "pearson":
            C_ee[:, np.arange(ne), np.arange(ne)] += mu_e
        elif self.stat == "cnp":
            C_ee[:, np.arange(ne), np.arange(ne)] += _cnp_variance(self.nue_data, mu_e)
        C_em = self._C_em0 + S[:, :, None] * self._F_sm * self.numu_prediction[None, None, :]
        C = np.empty((K, ne + nm, ne + nm))
        C[:, :ne, :ne] = C_ee
        C[:, :ne, ne:] = C_em
        C[:, ne:, :ne] = C_em.transpose(0, 2, 1)
        C[:, ne:, ne:] = self._C_mm
        return C

    def covariance(self, signal_e: np.ndarray) -> np.ndarray:
        """Collapsed covariance (n_e+n_μ, n_e+n_μ) [events²] for one signal vector."""
        return self.covariance_many(np.asarray(signal_e, dtype=np.float64)[None, :])[0]

    # ------------------------------------------------------------------ chi2
    def _chi2_batch(self, S: np.ndarray) -> np.ndarray:
        C = self.covariance_many(S)
        try:
            L = np.linalg.cholesky(C)
        except np.linalg.LinAlgError:
            bad = [k for k in range(C.shape[0]) if np.linalg.eigvalsh(C[k])[0] <= 0]
            raise DataError(
                f"MiniBooNE covariance ({self.label}, stat={self.stat!r}) is not positive "
                f"definite (Cholesky failed) for signal vector(s) {bad[:5]}"
            ) from None
        r = np.concatenate(
            [self.nue_data[None, :] - self.nue_background[None, :] - S,
             np.broadcast_to(self._r_mu, (S.shape[0], self.n_mu))],
            axis=1,
        )
        z = np.linalg.solve(L, r[:, :, None])[:, :, 0]
        return np.einsum("ki,ki->k", z, z)

    def chi2_many(self, S: np.ndarray) -> np.ndarray:
        """χ² for each row of S, shape (K, n_signal) [events per bin] → (K,)."""
        S = self._as_batch(S)
        out = np.empty(S.shape[0])
        for start in range(0, S.shape[0], _CHUNK):
            out[start : start + _CHUNK] = self._chi2_batch(S[start : start + _CHUNK])
        return out

    def chi2(self, signal_e: np.ndarray) -> float:
        """χ² of one signal vector (n_signal,) [events per bin]."""
        s = np.asarray(signal_e, dtype=np.float64)
        if s.ndim != 1:
            raise ParameterError(f"signal must be 1-D of length {self.n_e}, got shape {s.shape}")
        return float(self.chi2_many(s[None, :])[0])


@lru_cache(maxsize=None)
def get_likelihood(
    mode: Analysis = "nu", stat: Stat = "pearson", signal_systematics: bool = True
) -> MiniBooNECovarianceChi2:
    """Cached covariance χ² for the bundled 2021 release: ``mode`` in ``"nu"``, ``"nubar"``,
    ``"combined"`` (60×60 matrix, signal order [ν 11, ν̄ 11])."""
    _check_analysis(mode)
    _check_stat(stat)
    if mode in MODES:
        d = load_miniboone(mode)
        return MiniBooNECovarianceChi2.from_arrays(
            d.fractional_covariance, d.nue_data, d.nue_background, d.numu_data,
            d.numu_prediction, stat=stat, signal_systematics=signal_systematics, label=mode,
        )
    nu, nb = load_miniboone("nu"), load_miniboone("nubar")
    n1 = 2 * N_NUE_BINS + N_NUMU_BINS
    e = np.arange(N_NUE_BINS)
    m = np.arange(N_NUMU_BINS)
    return MiniBooNECovarianceChi2(
        load_combined_fractional_covariance(),
        sig_idx=np.concatenate([e, n1 + e]),
        bkg_idx=np.concatenate([N_NUE_BINS + e, n1 + N_NUE_BINS + e]),
        mu_idx=np.concatenate([2 * N_NUE_BINS + m, n1 + 2 * N_NUE_BINS + m]),
        nue_data=np.concatenate([nu.nue_data, nb.nue_data]),
        nue_background=np.concatenate([nu.nue_background, nb.nue_background]),
        numu_data=np.concatenate([nu.numu_data, nb.numu_data]),
        numu_prediction=np.concatenate([nu.numu_prediction, nb.numu_prediction]),
        stat=stat,
        signal_systematics=signal_systematics,
        label="combined",
    )


def chi2(signal_e: np.ndarray, mode: Analysis = "nu", stat: Stat = "pearson") -> float:
    """MiniBooNE covariance χ² of a ν_e-like signal prediction.

    Parameters
    ----------
    signal_e : (11,) signal events per E_QE bin (edges in ``eqe_bin_edges.txt``, MeV) for
        ``mode="nu"``/``"nubar"``; (22,) = [ν 11, ν̄ 11] for ``mode="combined"``.
    stat : statistical diagonal, ``"pearson"`` (default), ``"cnp"`` or ``"none"``.

    Reference: MiniBooNE 2021 data release, arXiv:2006.16883.
    """
    return get_likelihood(mode, stat).chi2(signal_e)


def chi2_many(S: np.ndarray, mode: Analysis = "nu", stat: Stat = "pearson") -> np.ndarray:
    """Vectorised :func:`chi2`: S of shape (K, 11) or (K, 22) → χ² of shape (K,)."""
    return get_likelihood(mode, stat).chi2_many(S)


# ====================================================================== constrained background
@dataclass(frozen=True)
class BackgroundSummary:
    """Event counts in an E_QE window [events] (MiniBooNE 2021 table, arXiv:2006.16883)."""

    mode: str
    energy_range_mev: tuple[float, float]
    data: float
    background: float
    background_error: float
    constrained_background: float
    constrained_error: float
    excess: float
    excess_error: float

    def as_dict(self) -> dict[str, float]:
        return {
            "data": self.data,
            "background": self.background,
            "background_error": self.background_error,
            "constrained_background": self.constrained_background,
            "constrained_error": self.constrained_error,
            "excess": self.excess,
            "excess_error": self.excess_error,
        }


def _window(edges: np.ndarray, energy_range_mev: tuple[float, float]) -> np.ndarray:
    lo, hi = (float(x) for x in energy_range_mev)
    if not (lo < hi) or lo not in edges or hi not in edges:
        raise ParameterError(
            f"energy_range_mev must be two increasing E_QE bin edges from {edges.tolist()} MeV, "
            f"got {energy_range_mev}"
        )
    return ((edges[:-1] >= lo) & (edges[1:] <= hi)).astype(np.float64)


def background_summary(
    mode: Analysis = "nu",
    energy_range_mev: tuple[float, float] = (200.0, 1250.0),
    numu_constraint: Literal["both", "own"] = "both",
) -> BackgroundSummary:
    """Unconstrained and ν_μ-constrained ν_e-like background in an E_QE window [events].

    Treatment (the one that reproduces the published numbers of arXiv:2006.16883, see
    docs/likelihood.md): background-only prediction (s = 0), M = diag(N) F diag(N) collapsed as
    in :class:`MiniBooNECovarianceChi2`; Poisson variance of the observed ν_μ counts added to
    C_μμ; *no* statistical term added to the ν_e-like block. With w the window indicator,

    * background_error = √(wᵀ C_ee w),
    * constrained_background = wᵀ [b_e + C_eμ C_μμ⁻¹ (d_μ − b_μ)],
    * constrained_error = excess_error = √(wᵀ (C_ee − C_eμ C_μμ⁻¹ C_μe) w),
    * excess = data − constrained_background.

    ``numu_constraint="both"`` (default, as MiniBooNE) conditions on the ν_μ samples of *both*
    modes through the 60×60 combined matrix; ``"own"`` uses only the mode's own 30×30 matrix.
    ``mode="combined"`` sums ν and ν̄.
    """
    _check_analysis(mode)
    if numu_constraint not in ("both", "own"):
        raise ParameterError(f"numu_constraint must be 'both' or 'own', got {numu_constraint!r}")
    edges = load_miniboone("nu").eqe_edges_mev
    w1 = _window(np.asarray(edges), energy_range_mev)
    zero = np.zeros(N_NUE_BINS)
    if numu_constraint == "both" or mode == "combined":
        lk = get_likelihood("combined", "none")
        w = {
            "nu": np.concatenate([w1, zero]),
            "nubar": np.concatenate([zero, w1]),
            "combined": np.concatenate([w1, w1]),
        }[mode]
    else:
        lk = get_likelihood(mode, "none")
        w = w1
    C = lk.covariance(np.zeros(lk.n_e)).copy()
    ne = lk.n_e
    C[ne:, ne:] += np.diag(lk.numu_data)  # Poisson variance of the observed ν_μ counts
    C_ee, C_em, C_mm = C[:ne, :ne], C[:ne, ne:], C[ne:, ne:]
    try:
        L = np.linalg.cholesky(C_mm)
    except np.linalg.LinAlgError:
        raise DataError("MiniBooNE ν_μ covariance block is not positive definite") from None
    # K = C_eμ C_μμ⁻¹ via the Cholesky factor
    Kt = np.linalg.solve(L.T, np.linalg.solve(L, C_em.T))
    b_con = lk.nue_background + Kt.T @ (lk.numu_data - lk.numu_prediction)
    C_con = C_ee - C_em @ Kt
    data = float(w @ lk.nue_data)
    cb = float(w @ b_con)
    ce = float(np.sqrt(w @ C_con @ w))
    return BackgroundSummary(
        mode=mode,
        energy_range_mev=(float(energy_range_mev[0]), float(energy_range_mev[1])),
        data=data,
        background=float(w @ lk.nue_background),
        background_error=float(np.sqrt(w @ C_ee @ w)),
        constrained_background=cb,
        constrained_error=ce,
        excess=data - cb,
        excess_error=ce,
    )


# ====================================================================== shape-only chi2
def shape_chi2(signal: np.ndarray, distribution: Literal["evis", "costheta"]) -> float | np.ndarray:
    """Shape-only χ² of a signal histogram against the digitised ν-mode excess (arXiv:2006.16883).

    ``signal``: (n,) or (K, n) non-negative counts in the digitised bins (E_vis: 23 bins of
    50 MeV from 100 to 1250 MeV; cos θ: 20 bins from −1 to 1; edges from
    :func:`~mesonportal.analysis.miniboone_data.load_digitized`). The signal is normalised to
    the observed excess A = Σ(d − b); prediction μ = b + A·s/Σs; χ² = Σ (d − μ)²/μ (Pearson,
    statistical only — the digitised figures carry no covariance, so this is a diagnostic of
    the shape, with n − 1 degrees of freedom). Returns a float for 1-D input, else (K,).
    """
    figs = load_digitized()
    if distribution == "evis":
        h = figs.evis
    elif distribution == "costheta":
        h = figs.costheta
    else:
        raise ParameterError(f"distribution must be 'evis' or 'costheta', got {distribution!r}")
    d, b = h["data"], h["background"]
    S = np.asarray(signal, dtype=np.float64)
    one = S.ndim == 1
    S = np.atleast_2d(S)
    if S.ndim != 2 or S.shape[1] != d.size:
        raise ParameterError(
            f"signal for {distribution!r} must have shape ({d.size},) or (K, {d.size}), "
            f"got {np.shape(signal)}"
        )
    if not np.all(np.isfinite(S)) or np.any(S < 0):
        raise ParameterError("signal must be finite and non-negative in every bin")
    tot = S.sum(axis=1)
    if np.any(tot <= 0):
        raise ParameterError("signal must have a positive total to define a shape")
    mu = b[None, :] + (d - b).sum() * S / tot[:, None]
    out = np.sum((d[None, :] - mu) ** 2 / mu, axis=1)
    return float(out[0]) if one else out
