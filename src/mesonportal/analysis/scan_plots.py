"""Preferred-region plots of a scan (``mesonportal plot-scan``).

Δχ² = χ² − χ²_min over the plotted (mass, coupling) plane (χ² combined by default, or ν / ν̄),
with the 1σ/2σ/3σ regions of a two-parameter fit: Δχ² < 2.30, 6.18, 11.83 (68.27 %, 95.45 %,
99.73 % coverage of a χ² distribution with 2 degrees of freedom).  The best fit is marked with a
star; points failing the (proxy) PIENU bound are hatched.  Axes are logarithmic for LOG grid
axes.  When the scan has more than one mass axis, the ones not plotted are profiled
(minimum χ² over them at each plotted point).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mesonportal.analysis.scan import COUPLING_AXIS, DELTA_CHI2_2DOF
from mesonportal.exceptions import ParameterError

__all__ = ["delta_chi2_map", "plot_scan"]


def delta_chi2_map(path: str | Path, chi2: str = "combined", x_axis: str | None = None) -> dict[str, Any]:
    """The plotted plane of scan ``path``: x values (mass axis), y values (coupling_product),
    χ² (ny, nx) (NaN where points are missing), Δχ², PIENU-allowed mask (profiled points:
    allowed if the profiled minimum is), best fit, axis scales."""
    import warnings

    from mesonportal.analysis.scan import ScanSpec
    from mesonportal.analysis.scan_io import IncompleteScanWarning, read_metadata, scan_columns, scan_status

    if chi2 not in ("combined", "nu", "nubar"):
        raise ParameterError(f"chi2 must be one of combined, nu, nubar; got {chi2!r}")
    spec = ScanSpec.from_json(read_metadata(path)["spec"])
    mass_axes = [a for a in spec.mass_axes if len(a) > 1] or list(spec.mass_axes)
    if x_axis is None:
        if len(mass_axes) > 1:
            raise ParameterError(f"the scan has several mass axes ({', '.join(a.name for a in mass_axes)}); choose one with --x")
        xa = mass_axes[0]
    else:
        xa = next((a for a in spec.mass_axes if a.name == x_axis), None)
        if xa is None:
            raise ParameterError(f"--x {x_axis!r} is not a mass axis of the scan; allowed: "
                                 f"{', '.join(a.name for a in spec.mass_axes)}")
    ya = spec.coupling_axis
    status = scan_status(path)
    if not status.complete and status.valid:
        warnings.warn(status.message() + "; the figure is marked incomplete (rerun the scan with --resume)",
                      IncompleteScanWarning, stacklevel=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IncompleteScanWarning)  # reported once, above
        cols = scan_columns(path, [xa.name, COUPLING_AXIS, f"chi2_{chi2}", "pienu_allowed"])
    xv, yv = np.asarray(xa.values), np.asarray(ya.values if ya is not None else np.unique(cols[COUPLING_AXIS]))
    ix = np.searchsorted(xv, cols[xa.name]) if np.all(np.diff(xv) > 0) else np.array([int(np.argmin(abs(xv - v))) for v in cols[xa.name]])
    iy = np.array([int(np.argmin(np.abs(yv - v))) for v in cols[COUPLING_AXIS]])
    grid = np.full((len(yv), len(xv)), np.inf)
    allowed = np.ones_like(grid, dtype=bool)
    c = cols[f"chi2_{chi2}"]
    for k in range(len(c)):  # profile over the other mass axes (minimum χ²)
        if c[k] < grid[iy[k], ix[k]]:
            grid[iy[k], ix[k]] = c[k]
            allowed[iy[k], ix[k]] = bool(cols["pienu_allowed"][k])
    grid[~np.isfinite(grid)] = np.nan
    if not np.any(np.isfinite(grid)):
        raise ParameterError(f"scan {str(path)!r} has no finite chi2_{chi2}")
    jy, jx = np.unravel_index(np.nanargmin(grid), grid.shape)
    cmin = float(grid[jy, jx])
    return {
        "x_name": xa.name, "y_name": COUPLING_AXIS, "x": xv, "y": yv, "chi2": grid, "delta_chi2": grid - cmin,
        "pienu_allowed": allowed, "x_scale": xa.scale, "y_scale": ya.scale if ya is not None else "lin",
        "best_fit": {xa.name: float(xv[jx]), COUPLING_AXIS: float(yv[jy]), f"chi2_{chi2}": cmin},
        "chi2_name": chi2, "model": spec.model, "experiment": spec.experiment,
        "mass_points_present": len(status.valid), "mass_points_total": status.n_mass_points,
        "complete": status.complete,
    }


def plot_scan(path: str | Path, out: str | Path, chi2: str = "combined", x_axis: str | None = None,
              title: str | None = None) -> dict[str, Any]:
    """Draw the Δχ² map of scan ``path`` to ``out`` (format from the suffix, e.g. .png/.pdf).
    Returns the best fit and the contour levels used."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    m = delta_chi2_map(path, chi2, x_axis)
    x, y, d = m["x"], m["y"], m["delta_chi2"]
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    levels = [DELTA_CHI2_2DOF["1sigma"], DELTA_CHI2_2DOF["2sigma"], DELTA_CHI2_2DOF["3sigma"]]
    handles = []
    if len(x) > 1 and len(y) > 1:
        dm = np.ma.masked_invalid(d)
        pc = ax.pcolormesh(x, y, np.ma.minimum(dm, 25.0), shading="nearest", cmap="Greys_r", vmin=0, vmax=25, alpha=0.6)
        fig.colorbar(pc, ax=ax, label=f"Δχ² ({m['chi2_name']}, clipped at 25)")
        colors = ["#1f77b4", "#2ca02c", "#ff7f0e"]
        ax.contourf(x, y, dm, levels=[-1.0, *levels], colors=colors, alpha=0.45)
        ax.contour(x, y, dm, levels=levels, colors=colors, linewidths=1.2)
        handles += [Patch(color=c, alpha=0.45, label=f"{n}σ (Δχ² < {lv})") for n, c, lv in zip((1, 2, 3), colors, levels)]
        excl = (~m["pienu_allowed"]).astype(float)
        if excl.any():
            ax.contourf(x, y, excl, levels=[0.5, 1.5], colors="none", hatches=["////"])
            ax.contour(x, y, excl, levels=[0.5], colors="k", linewidths=0.8)
            handles.append(Patch(facecolor="none", hatch="////", label="PIENU excluded (proxy)"))
    else:  # a 1-D scan: Δχ² curve
        xs, ds = (y, d[:, 0]) if len(x) == 1 else (x, d[0, :])
        ax.plot(xs, ds, "k-")
        for lv in levels:
            ax.axhline(lv, ls=":", c="grey")
    bf = m["best_fit"]
    ax.plot([bf[m["x_name"]]], [bf[COUPLING_AXIS]], marker="*", ms=14, color="red", mec="k", ls="none")
    handles.append(plt.Line2D([], [], marker="*", ms=12, color="red", mec="k", ls="none",
                              label=f"best fit, χ²_min = {bf[f'chi2_{chi2}']:.2f}"))
    if m["x_scale"] == "log":
        ax.set_xscale("log")
    if m["y_scale"] == "log":
        ax.set_yscale("log")
    ax.set_xlabel(f"{m['x_name']} [MeV]" if m["x_name"].startswith("m_") else m["x_name"])
    ax.set_ylabel("coupling product" + (" g_μ g_n λ [MeV$^{-1}$]" if m["model"] != "idm" else ""))
    ax.set_title(title or f"{m['experiment']} {m['model']}: Δχ² ({m['chi2_name']}), 2 dof")
    if not m["complete"]:
        ax.text(0.5, 0.5, f"INCOMPLETE SCAN\n{m['mass_points_present']} of {m['mass_points_total']} mass points present",
                transform=ax.transAxes, ha="center", va="center", fontsize=14, color="red", alpha=0.6,
                rotation=20, zorder=10)
    ax.legend(handles=handles, loc="best", fontsize=8)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return {"best_fit": bf, "levels": dict(DELTA_CHI2_2DOF), "out": str(out), "complete": m["complete"],
            "mass_points_present": m["mass_points_present"], "mass_points_total": m["mass_points_total"]}
