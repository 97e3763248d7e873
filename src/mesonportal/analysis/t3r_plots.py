"""Figures of docs/t3r.md: the Δa_μ band in the (m_A′, m_φ′) plane and Ω h² versus V.

``python -m mesonportal.analysis.t3r_plots OUTDIR`` writes ``t3r_gminus2_band.png``,
``t3r_relic_vs_v.png`` and ``t3r_relic_vs_mdm.png``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

__all__ = ["plot_gminus2_band", "plot_relic_vs_v", "plot_relic_vs_mdm"]


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
    vs = np.geomspace(1.2, 40.0, 30)  # V ≥ 1.2 GeV: A′–π⁰ mixing ≤ 0.3 for m_A′ = 150 MeV
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


def plot_relic_vs_mdm(path: str | Path, masses=((150.0, 80.0), (40.0, 30.0)), v_gev: float = 7.0,
                      n: int = 90) -> Path:
    """Ω h² of η (Δ = 0) versus m_η at fixed V for (m_A′, m_φ′) pairs, with the thresholds
    2m_η = √s_thr of the channels π⁰γ, φ′φ′, φ′A′, A′A′, π⁰φ′, π⁰A′ marked (dotted lines) and the
    φ′, A′ and π⁰ (η η → π⁰* → γγ) poles 2m_η = m_R (dashed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mesonportal import constants as C
    from mesonportal.models.t3r.annihilation import boson_thresholds
    from mesonportal.models.t3r.model import T3RPoint
    from mesonportal.models.t3r.relic import HADRONIC_LIMIT, THERMAL_MARGIN, relic_density

    fig, axes = plt.subplots(len(masses), 1, figsize=(6.4, 3.2 * len(masses)), sharex=True)
    top = 0.99 * HADRONIC_LIMIT / (2 * THERMAL_MARGIN)
    ms = np.geomspace(2.0, top, n)
    for ax, (m_a, m_p) in zip(np.atleast_1d(axes), masses):
        om = [relic_density(T3RPoint(m_a, m_p, m, v_gev=v_gev)).omega_h2 for m in ms]
        ax.plot(ms, om, "k-", lw=1.2)
        thr = boson_thresholds(T3RPoint(m_a, m_p, 10.0, v_gev=v_gev))
        thr.pop("gamma gamma (pi0)")
        for i, (lab, val) in enumerate(sorted(thr.items(), key=lambda kv: kv[1])):
            ax.axvline(val / 2, ls=":", color=f"C{i}", label=f"2m_η = {lab} threshold ({val:.0f} MeV)")
        for lab, val in (("φ′ pole", m_p), ("A′ pole", m_a), ("π⁰ pole", C.M_PI0)):
            ax.axvline(val / 2, ls="--", color="grey", lw=0.7)
        ax.axhline(0.12, color="r", lw=0.8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylabel("Ω h²")
        ax.set_title(f"(m_A′, m_φ′) = ({m_a:g}, {m_p:g}) MeV, V = {v_gev:g} GeV (dashed: φ′, A′, π⁰ poles)",
                     fontsize=9)
        ax.legend(fontsize=6, loc="lower left")
    np.atleast_1d(axes)[-1].set_xlabel("m_η [MeV]")
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
    print(plot_relic_vs_mdm(d / "t3r_relic_vs_mdm.png"))
