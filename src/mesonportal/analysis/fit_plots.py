"""Publication-style plots of a MiniBooNE excess fit (matplotlib + mplhep).

* :func:`plot_eqe` — E_QE [MeV] of one mode in events/MeV: data (statistical errors), the
  ν_μ-constrained background (per-bin :func:`~mesonportal.analysis.likelihood.background_summary`,
  band = constrained systematic error) with the best-fit signal stacked on top, and the
  unconstrained release background (dashed).  Data: MiniBooNE 2021 release, arXiv:2006.16883.
* :func:`plot_distribution` — E_vis [MeV] or cos θ of the shower, 200 < E_QE < 1250 MeV: the
  digitised ν-mode data and background of arXiv:2006.16883 (events/bin, 18.75e20 POT) with the
  best-fit signal (same selection and exposure) stacked.  For ν̄ mode no published distribution
  is bundled, so only the signal is drawn.
* :func:`plot_delta_chi2` — Δχ² vs coupling product (log x) for every analysis, with the 1σ/2σ
  levels (Δχ² = 1, 4).
* :func:`plot_fit` — all of the above into a directory (PNG).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from mesonportal.analysis.binning import weighted_histogram
from mesonportal.analysis.fit import DELTA_CHI2_LEVELS, FitResult
from mesonportal.analysis.prediction import EXCESS_WINDOW_MEV, SignalSample

__all__ = ["plot_eqe", "plot_distribution", "plot_delta_chi2", "plot_fit", "DATA_LABEL"]

DATA_LABEL = "MiniBooNE data, arXiv:2006.16883"
_MODE_TEXT = {"nu": r"$\nu$ mode", "nubar": r"$\bar\nu$ mode", "combined": r"$\nu + \bar\nu$"}
_COLORS = {"background": "#9ecae1", "signal": "#e6550d", "data": "black", "combined": "black",
           "nu": "#3182bd", "nubar": "#31a354"}


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _style():
    import mplhep

    return mplhep.style.ROOT


def _label(ax, mode: str, result: FitResult, pot: float | None) -> None:
    import mplhep

    rl = _MODE_TEXT.get(mode, mode)
    if pot:
        rl += rf", ${pot / 1e20:.2f}\times10^{{20}}$ POT"
    mplhep.label.exp_label(exp="MiniBooNE", text="", llabel=" ", rlabel=rl, ax=ax, loc=0, fontsize=14)


def _units_tex(units: str) -> str:
    """'MeV^-1' -> 'MeV$^{-1}$' for axis labels."""
    import re

    return re.sub(r"\^(-?\d+)", r"$^{\1}$", units)


def _signal_text(result: FitResult) -> str:
    name = result.benchmark or result.model
    return f"{name}: best fit {result.coupling_product:.3g} {_units_tex(result.units)}"


def _save(fig, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    _plt().close(fig)
    return path


def plot_eqe(result: FitResult, sample: SignalSample, mode: str, path: str | Path) -> Path:
    """E_QE data, constrained background and stacked best-fit signal for ``mode`` (events/MeV)."""
    from mesonportal.analysis.likelihood import background_summary
    from mesonportal.analysis.miniboone_data import load_miniboone

    plt = _plt()
    d = load_miniboone(mode)
    edges = np.asarray(d.eqe_edges_mev, float)
    width = np.diff(edges)
    cons = [background_summary(mode, (float(a), float(b))) for a, b in zip(edges[:-1], edges[1:])]
    bkg = np.array([c.constrained_background for c in cons])
    bkg_err = np.array([c.constrained_error for c in cons])
    sig = sample.enu_qe_counts(result.coupling_product) if result.coupling_product > 0 else np.zeros(width.size)
    data = np.asarray(d.nue_data, float)
    with plt.style.context(_style()):
        fig, ax = plt.subplots(figsize=(8, 6))
        ax.stairs(bkg / width, edges, fill=True, color=_COLORS["background"],
                  label=r"$\nu_\mu$-constrained background")
        ax.stairs((bkg + sig) / width, edges, baseline=bkg / width, fill=True, color=_COLORS["signal"],
                  alpha=0.85, label=_signal_text(result))
        ax.stairs((bkg + sig) / width, edges, color=_COLORS["signal"], lw=1.5)
        lo, hi = (bkg - bkg_err) / width, (bkg + bkg_err) / width
        ax.stairs(hi, edges, baseline=lo, fill=False, hatch="///", color="grey", lw=0,
                  label="constrained syst. error")
        ax.stairs(np.asarray(d.nue_background) / width, edges, color="grey", ls="--", lw=1.2,
                  label="unconstrained background")
        cen = 0.5 * (edges[1:] + edges[:-1])
        ax.errorbar(cen, data / width, yerr=np.sqrt(data) / width, xerr=width / 2, fmt="o", ms=4,
                    color=_COLORS["data"], label=f"{DATA_LABEL}")
        ax.set_xlim(edges[0], 1500.0)
        ax.set_xlabel(r"$E_\nu^{QE}$ [MeV]")
        ax.set_ylabel("Events / MeV")
        ax.set_ylim(0, 1.45 * float(np.max(np.maximum(data, bkg + sig)[:-1] / width[:-1])))
        ax.legend(fontsize=10, loc="upper right", title="(1500–3000 MeV bin not shown)", title_fontsize=9)
        _label(ax, mode, result, d.pot)
        return _save(fig, Path(path))


def _window_hist(sample: SignalSample, column: str, edges: np.ndarray, x: float) -> np.ndarray:
    if x <= 0:
        return np.zeros(len(edges) - 1)
    eqe = sample.columns["e_qe"]
    m = (eqe >= EXCESS_WINDOW_MEV[0]) & (eqe < EXCESS_WINDOW_MEV[1])
    w = sample.weights(x)[m] * sample.pot
    return weighted_histogram(sample.columns[column][m], w, edges)[0]


def plot_distribution(result: FitResult, sample: SignalSample, mode: str, observable: str, path: str | Path) -> Path:
    """E_vis (``observable="evis"``) or cos θ (``"costheta"``) for 200 < E_QE < 1250 MeV."""
    from mesonportal.analysis.binning import COSTHETA_EDGES, EVIS_EDGES_MEV
    from mesonportal.analysis.miniboone_data import load_digitized

    plt = _plt()
    if observable not in ("evis", "costheta"):
        from mesonportal.exceptions import ParameterError

        raise ParameterError(f"observable must be 'evis' or 'costheta', got {observable!r}")
    figs = load_digitized()
    h = figs.evis if observable == "evis" else figs.costheta
    have_data = mode == "nu"
    edges = np.asarray(h.edges if have_data else (EVIS_EDGES_MEV if observable == "evis" else COSTHETA_EDGES), float)
    column = "e_vis" if observable == "evis" else "cos_theta"
    sig = _window_hist(sample, column, edges, result.coupling_product)
    with plt.style.context(_style()):
        fig, ax = plt.subplots(figsize=(8, 6))
        if have_data:
            data, bkg = np.asarray(h["data"], float), np.asarray(h["background"], float)
            ax.stairs(bkg, edges, fill=True, color=_COLORS["background"], label="background (digitised)")
            ax.stairs(bkg + sig, edges, baseline=bkg, fill=True, color=_COLORS["signal"], alpha=0.85,
                      label=_signal_text(result))
            cen = 0.5 * (edges[1:] + edges[:-1])
            ax.errorbar(cen, data, yerr=np.sqrt(np.maximum(data, 0)), fmt="o", ms=4, color=_COLORS["data"],
                        label=f"{DATA_LABEL} (digitised)")
            top = float(np.max(np.maximum(data, bkg + sig)))
        else:
            ax.stairs(sig, edges, fill=True, color=_COLORS["signal"], alpha=0.85, label=_signal_text(result))
            ax.text(0.03, 0.80, "no published distribution bundled for this mode", transform=ax.transAxes,
                    fontsize=10, color="grey")
            top = float(np.max(sig)) if np.any(sig > 0) else 1.0
        ax.set_ylim(0, 1.45 * top)
        ax.set_xlim(edges[0], edges[-1])
        ax.set_xlabel(r"$E_{vis}$ [MeV]" if observable == "evis" else r"$\cos\theta$ (shower to beam axis)")
        ax.set_ylabel("Events / bin")
        ax.legend(fontsize=10, loc="upper left" if observable == "costheta" else "upper right",
                  title=r"$200 < E_\nu^{QE} < 1250$ MeV", title_fontsize=9)
        _label(ax, mode, result, sample.pot)
        return _save(fig, Path(path))


def plot_delta_chi2(result: FitResult, path: str | Path) -> Path:
    """Δχ² = χ²(x) − χ²_min vs coupling product x (log scale) for every analysis."""
    plt = _plt()
    with plt.style.context(_style()):
        fig, ax = plt.subplots(figsize=(8, 6))
        ymax = 25.0
        for name, f in result.fits_by_mode.items():
            x, c = np.asarray(f.scan_x), np.asarray(f.scan_chi2)
            m = x > 0
            dchi = c[m] - f.chi2_min
            lw = 2.2 if name == result.best.analysis else 1.4
            ax.plot(x[m], dchi, color=_COLORS.get(name, None), lw=lw,
                    label=f"{_MODE_TEXT.get(name, name)}: $\\chi^2_{{min}}$/ndof = {f.chi2_min:.1f}/{f.ndof}, "
                          f"$\\Delta\\chi^2_{{bkg}}$ = {f.delta_chi2:.1f}")
            if f.best_fit > 0:
                ax.plot([f.best_fit], [0.0], marker="*", ms=12, color=_COLORS.get(name, None))
            ymax = max(ymax, min(1.2 * f.delta_chi2, 100.0))
        for name, lev in DELTA_CHI2_LEVELS.items():
            ax.axhline(lev, color="grey", ls=":", lw=1)
            ax.text(1.01, lev, name.replace("sigma", r"$\sigma$"), transform=ax.get_yaxis_transform(),
                    va="center", fontsize=10, color="grey")
        best = result.best
        xm = best.scan_x[best.scan_x > 0]
        if best.best_fit > 0:
            lo = best.interval_2sigma[0] or best.best_fit
            hi = best.interval_2sigma[1] or xm[-1]
            ax.set_xlim(max(xm[0], lo / 5), min(xm[-1], hi * 5))
        ax.set_xscale("log")
        from matplotlib.ticker import LogFormatterSciNotation, LogLocator, NullFormatter

        lo_x, hi_x = ax.get_xlim()
        if hi_x / lo_x < 300:  # narrow range: label 1, 2, 5 × 10^n
            ax.xaxis.set_major_locator(LogLocator(base=10.0, subs=(1.0, 2.0, 5.0)))
            ax.xaxis.set_major_formatter(LogFormatterSciNotation(labelOnlyBase=False))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_ylim(0, ymax)
        ax.set_xlabel(f"coupling product [{_units_tex(result.units)}]" if result.units else "coupling product")
        ax.set_ylabel(r"$\Delta\chi^2 = \chi^2 - \chi^2_{min}$")
        ax.legend(fontsize=9, loc="upper left", title=result.benchmark or result.model, title_fontsize=10)
        _label(ax, best.analysis, result, None)
        return _save(fig, Path(path))


def plot_fit(result: FitResult, samples: Mapping[str, SignalSample], outdir: str | Path) -> list[Path]:
    """All fit plots (PNG) into ``outdir``: ``eqe_<mode>``, ``evis_<mode>``, ``costheta_<mode>``
    for each available target mode, and ``delta_chi2``. Returns the written paths."""
    out = Path(outdir)
    paths: list[Path] = []
    for mode in ("nu", "nubar"):
        if mode not in samples:
            continue
        s = samples[mode]
        paths.append(plot_eqe(result, s, mode, out / f"eqe_{mode}.png"))
        paths.append(plot_distribution(result, s, mode, "evis", out / f"evis_{mode}.png"))
        paths.append(plot_distribution(result, s, mode, "costheta", out / f"costheta_{mode}.png"))
    paths.append(plot_delta_chi2(result, out / "delta_chi2.png"))
    return paths
