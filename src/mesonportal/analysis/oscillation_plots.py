"""Plots of the 3+1 oscillation fit: Δχ² regions in the (sin²2θ_μe, Δm²) plane (log–log), the
usual presentation of MiniBooNE/LSND appearance results (arXiv:2006.16883, Fig. 7 style).

Regions: Δχ² = χ² − χ²_min < 2.30, 6.18, 11.83 (1σ, 2σ, 3σ for two parameters), computed on the
fit's own grid; the best fit is marked.  One PNG per analysis (``oscillation_<analysis>.png``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from mesonportal.analysis.oscillation import CONTOUR_LEVELS_2DOF, OscillationFit

__all__ = ["plot_oscillation_fit", "plot_oscillation_fits"]

_TITLE = {"nu": r"$\nu$ mode", "nubar": r"$\bar\nu$ mode", "combined": r"$\nu + \bar\nu$"}


def plot_oscillation_fit(fit: OscillationFit, path: str | Path) -> Path:
    """Write the Δχ² regions of one analysis to ``path`` (PNG); returns the path."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    d = fit.chi2_grid - fit.chi2_min
    levels = [0.0] + [CONTOUR_LEVELS_2DOF[k] for k in ("1sigma", "2sigma", "3sigma")]
    fig, ax = plt.subplots(figsize=(6.4, 5.6))
    X, Y = np.meshgrid(fit.s22_grid, fit.dm2_grid)
    ax.contourf(X, Y, d, levels=levels, colors=["#de2d26", "#fc9272", "#fee0d2"], alpha=0.9)
    cs = ax.contour(X, Y, d, levels=levels[1:], colors=["#a50f15", "#de2d26", "#fb6a4a"], linewidths=1.2)
    ax.clabel(cs, fmt={levels[1]: "1σ", levels[2]: "2σ", levels[3]: "3σ"}, fontsize=8)
    ax.plot([fit.best_s22], [fit.best_dm2], marker="*", color="black", ms=12, ls="none",
            label=f"best fit ({fit.best_s22:.3g}, {fit.best_dm2:.3g} eV²)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"$\sin^2 2\theta_{\mu e}$")
    ax.set_ylabel(r"$\Delta m^2$ [eV$^2$]")
    ax.set_title(f"MiniBooNE 2021 release, 3+1 appearance, {_TITLE.get(fit.analysis, fit.analysis)}\n"
                 f"χ²_min/ndof = {fit.chi2_min:.1f}/{fit.ndof}, Δχ²(no osc.) = {fit.delta_chi2:.1f}",
                 fontsize=10)
    ax.legend(loc="lower left", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_oscillation_fits(fits: Mapping[str, OscillationFit], outdir: str | Path) -> list[Path]:
    """One plot per analysis into ``outdir``."""
    return [plot_oscillation_fit(f, Path(outdir) / f"oscillation_{name}.png") for name, f in fits.items()]
