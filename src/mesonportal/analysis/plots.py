"""Publication-style figures of signal predictions (and of dark-particle fluxes).

:func:`plot_prediction` overlays a :class:`~mesonportal.analysis.prediction.SignalSample` on
MiniBooNE's excess (data − background) in E_QE, E_vis and cos θ:

* E_QE (ν and ν̄ mode): the 2021 data release, excess = data − ν_μ-constrained background per
  bin (:func:`mesonportal.analysis.likelihood.background_summary` on each bin), error bar
  √(data + σ_constrained²) (statistical ⊕ constrained systematic);
* E_vis and cos θ (ν mode only): the digitised figures of arXiv:2006.16883 (200 < E_QE <
  1250 MeV selection), excess = data − background, error bar √data; the prediction is shown
  for the same E_QE window.

Dump mode has no published excess: the prediction is drawn alone.  Uses ``mplhep`` styling
when available.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["plot_prediction", "miniboone_excess", "plot_dark_flux"]


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    try:  # optional publication style
        import mplhep

        plt.style.use(mplhep.style.ROOT)
    except Exception:  # noqa: BLE001
        pass
    return plt


def miniboone_excess(observable: str, mode: str) -> dict[str, np.ndarray] | None:
    """MiniBooNE excess for ``observable`` ("enu_qe", "evis", "costheta") in ``mode``:
    {edges, excess, error} [events/bin]; None where no data exist (dump mode, or E_vis/cos θ
    in ν̄ mode)."""
    if mode not in ("nu", "nubar"):
        return None
    if observable == "enu_qe":
        from mesonportal.analysis.likelihood import background_summary
        from mesonportal.analysis.miniboone_data import load_miniboone

        d = load_miniboone(mode)
        edges = np.asarray(d.eqe_edges_mev, float)
        exc, err = [], []
        for lo, hi in zip(edges[:-1], edges[1:]):
            b = background_summary(mode, (float(lo), float(hi)))
            exc.append(b.excess)
            err.append(np.sqrt(max(b.data, 0.0) + b.constrained_error**2))
        return {"edges": edges, "excess": np.array(exc), "error": np.array(err)}
    if mode != "nu":
        return None
    from mesonportal.analysis.miniboone_data import load_digitized

    figs = load_digitized()
    h = figs.evis if observable == "evis" else figs.costheta
    data, bkg = np.asarray(h["data"], float), np.asarray(h["background"], float)
    return {"edges": np.asarray(h.edges, float), "excess": data - bkg, "error": np.sqrt(np.clip(data, 0, None))}


_LABELS = {"enu_qe": (r"$E_\nu^{QE}$ [MeV]", "e_qe"), "evis": (r"$E_{vis}$ [MeV]", "e_vis"),
           "costheta": (r"$\cos\theta$", "cos_theta")}


def _prediction_hist(sample, name: str, edges: np.ndarray, window: bool,
                     coupling_product: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    col = _LABELS[name][1]
    w = sample.weights(coupling_product) * sample.pot
    x = np.asarray(sample.columns[col], float)
    if window:
        eqe = np.asarray(sample.columns["e_qe"], float)
        sel = (eqe >= 200.0) & (eqe < 1250.0)
        w, x = w[sel], x[sel]
    h, _ = np.histogram(x, edges, weights=w)
    h2, _ = np.histogram(x, edges, weights=w * w)
    return h, np.sqrt(h2)


def plot_prediction(sample, directory: str | Path, fmt: str = "png", coupling_product: float | None = None) -> list[Path]:
    """Write ``enu_qe``, ``evis`` and ``costheta`` figures of ``sample`` to ``directory``
    (created) as ``<experiment>_<mode>_<observable>.<fmt>``; returns the paths.  The signal is
    drawn at ``coupling_product`` (default: the sample's reference coupling product, i.e. the
    model's couplings as given), and the legend states which value was used."""
    plt = _plt()
    out_dir = Path(directory)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    model = sample.model.get("model", "model")
    for name in ("enu_qe", "evis", "costheta"):
        exc = miniboone_excess(name, sample.mode)
        if exc is not None:
            edges = exc["edges"]
        else:
            from mesonportal.analysis.prediction import HISTOGRAMS

            edges = HISTOGRAMS[name][1]
        window = name != "enu_qe" and exc is not None
        h, e = _prediction_hist(sample, name, edges, window, coupling_product)
        fig, ax = plt.subplots(figsize=(7.0, 5.2))
        per_width = name == "enu_qe"
        width = np.diff(edges) if per_width else np.ones(len(edges) - 1)
        if exc is not None:
            centres = 0.5 * (edges[1:] + edges[:-1])
            ax.errorbar(centres, exc["excess"] / width, yerr=exc["error"] / width, fmt="o", color="k", ms=4,
                        label="MiniBooNE data − background")
        x = sample.coupling_product_ref if coupling_product is None else coupling_product
        which = "reference couplings" if coupling_product is None else "requested"
        ax.stairs(h / width, edges, color="C3", lw=2,
                  label=f"{model} prediction, coupling product {x:.3g} {sample.coupling_units} ({which})")
        ax.stairs((h + e) / width, edges, baseline=np.clip(h - e, 0, None) / width, fill=True, color="C3",
                  alpha=0.25, lw=0, label="MC stat.")
        ax.axhline(0.0, color="0.5", lw=0.8)
        ax.set_xlabel(_LABELS[name][0])
        ax.set_ylabel("events / MeV" if per_width else "events / bin")
        if name == "enu_qe":
            ax.set_xlim(edges[0], min(edges[-1], 1500.0 if exc is not None else edges[-1]))
        tot = float(np.sum(sample.weights(coupling_product)) * sample.pot)
        ax.set_title(f"{sample.experiment} {sample.mode} mode ({sample.pot:.3g} POT), total {tot:.3g} events",
                     fontsize=11)
        ax.legend(fontsize=10, frameon=False)
        path = out_dir / f"{sample.experiment}_{sample.mode}_{name}.{fmt}"
        fig.savefig(path, bbox_inches="tight", dpi=150)
        plt.close(fig)
        paths.append(path)
    return paths


def plot_dark_flux(flux: dict[str, Any], path: str | Path) -> Path:
    """Dark-particle flux (per cm² per POT per 50 MeV bin, log y) with MC error band."""
    plt = _plt()
    sp = flux["species"][0]
    edges = np.asarray(flux["edges_gev"], float)
    h = np.asarray(flux[sp], float)
    e = np.asarray(flux[sp + "_err"], float)
    fig, ax = plt.subplots(figsize=(7.0, 5.2))
    ax.stairs(h, edges, color="C0", lw=1.5, label=f"{sp} ({flux.get('model', '')})")
    ax.stairs(h + e, edges, baseline=np.clip(h - e, 0, None), fill=True, color="C0", alpha=0.25, lw=0)
    if np.any(h > 0):
        ax.set_yscale("log")
        ax.set_ylim(bottom=max(h[h > 0].min() * 0.5, 1e-40))
    ax.set_xlabel(f"$E_{{{sp}}}$ [GeV]")
    ax.set_ylabel(r"$\Phi$ [1 / cm$^2$ / POT / bin]")
    ax.set_title(f"{flux['experiment']} {flux['mode']} mode", fontsize=11)
    ax.legend(frameon=False)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight", dpi=150)
    plt.close(fig)
    return path
