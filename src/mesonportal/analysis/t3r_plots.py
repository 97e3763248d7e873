"""Figures of docs/t3r.md: the Δa_μ band in the (m_A′, m_φ′) plane and Ω h² versus V.

``python -m mesonportal.analysis.t3r_plots OUTDIR`` writes ``t3r_gminus2_band.png`` and
``t3r_relic_vs_v.png``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

__all__ = ["plot_gminus2_band", "plot_relic_vs_v"]


def plot_gminus2_band(path: str | Path, v_list=(5.0, 10.0, 20.0), anomaly: str = "2021") -> Path:
    """Δa_μ = measured ± 2σ band in the (m_A′, m_φ′) plane for several V [GeV]."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mesonportal.models.t3r.gminus2 import MEASURED_ANOMALY, delta_a_mu

    meas = MEASURED_ANOMALY[anomaly]
    ma = np.geomspace(2.0, 300.0, 160)
    mp = np.linspace(40.0, 140.0, 200)
    A, P = np.meshgrid(ma, mp)
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    colors = ("tab:blue", "tab:orange", "tab:green")
    for v, c in zip(v_list, colors):
        d = delta_a_mu(v, A, P)["total"]
        lo, hi = meas["value"] - 2 * meas["error"], meas["value"] + 2 * meas["error"]
        ax.contourf(A, P, ((d > lo) & (d < hi)).astype(float), levels=[0.5, 1.5], colors=[c], alpha=0.45)
        ax.contour(A, P, d, levels=[meas["value"]], colors=[c], linewidths=1.0)
        ax.plot([], [], color=c, lw=6, alpha=0.45, label=f"V = {v:g} GeV")
    ax.axhspan(70, 100, color="grey", alpha=0.12, label="talk: m_φ′ ≈ 70–100 MeV")
    ax.set_xscale("log")
    ax.set_xlabel("m_A′ [MeV]")
    ax.set_ylabel("m_φ′ [MeV]")
    ax.set_title(f"Δa_μ = ({meas['value'] * 1e11:.0f} ± 2×{meas['error'] * 1e11:.0f})e-11 ({anomaly})")
    ax.legend(loc="upper right", fontsize=8)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def plot_relic_vs_v(path: str | Path, benchmarks=((150.0, 80.0, 40.0), (180.0, 76.0, 38.0)),
                    deltas=(0.0, 10.0)) -> Path:
    """Ω h² of η versus V for the talk's benchmarks (degenerate and split η₁, η₂)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mesonportal.models.t3r.model import T3RPoint
    from mesonportal.models.t3r.relic import relic_density

    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    vs = np.geomspace(1.0, 40.0, 30)
    for bm in benchmarks:
        for dl, ls in zip(deltas, ("-", "--")):
            om = [relic_density(T3RPoint(*bm, delta=dl, v_gev=v)).omega_h2 for v in vs]
            ax.plot(vs, om, ls, label=f"(m_A′, m_φ′, m_η) = {tuple(int(x) for x in bm)} MeV, Δ = {dl:g} MeV")
    ax.axhline(0.12, color="k", lw=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("V [GeV]")
    ax.set_ylabel("Ω h²")
    ax.legend(fontsize=7)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


if __name__ == "__main__":  # pragma: no cover - documentation helper
    d = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/img")
    print(plot_gminus2_band(d / "t3r_gminus2_band.png"))
    print(plot_relic_vs_v(d / "t3r_relic_vs_v.png"))
