"""Summary tables of MiniBooNE excess fits: rich (terminal), Markdown and JSON (on disk).

One row per fitted benchmark/model (:func:`summary_row`); a benchmark that could not be fitted
(e.g. no sensitivity) is a row with ``status`` and ``message`` only.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mesonportal.analysis.fit import DUMP_UPPER_LIMIT_EVENTS, FitResult

__all__ = ["summary_row", "failed_row", "format_interval", "markdown_report", "rich_table",
           "fit_rich_table", "write_summary"]

_COLUMNS = (
    ("benchmark", "benchmark"),
    ("best-fit product", "best_fit"),
    ("1σ interval", "interval_1sigma"),
    ("2σ interval", "interval_2sigma"),
    ("χ²_min/ndof", "chi2_ndof"),
    ("χ²_bkg/ndof", "chi2_background"),
    ("Δχ²", "delta_chi2"),
    ("signif.", "significance"),
    ("events ν", "events_nu"),
    ("events ν̄", "events_nubar"),
    ("events dump", "events_dump"),
    ("dump: at rest / in flight / π⁰η", "dump_split"),
    ("PIENU", "pienu"),
    ("dump OK", "dump_ok"),
)


def _g(v: float | None, fmt: str = ".3g") -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    return format(v, fmt)


def format_interval(iv: list[float | None] | tuple, kind: str = "") -> str:
    """'[a, b]', '< b' (upper limit from 0), '> a' (open upwards) or 'unbounded'."""
    lo, hi = iv
    if kind == "unbounded" or (hi is None and not lo):
        return "unbounded"
    if hi is None:
        return f"> {_g(lo)}"
    if not lo:
        return f"< {_g(hi)}"
    return f"[{_g(lo)}, {_g(hi)}]"


def _split(split: Mapping[str, float] | None) -> str:
    """'a / b / c' percentages of the dump signal from decays at rest / in flight / π⁰-η."""
    if not split:
        return "–"
    tot = sum(split.values())
    if not tot > 0:
        return "–"
    return " / ".join(f"{100 * split[k] / tot:.0f}%" for k in ("decay_at_rest", "decay_in_flight", "pi0_eta"))


def _yes_no(v: bool | None) -> str:
    return "–" if v is None else ("yes" if v else "no")


def summary_row(name: str, result: FitResult) -> dict[str, Any]:
    """Flat JSON-ready summary of one fit (the main analysis: combined if both modes)."""
    b = result.best
    dump = result.dump or {}
    return {
        "benchmark": name,
        "status": "ok",
        "model": result.model,
        "analysis": b.analysis,
        "units": result.units,
        "best_fit": b.best_fit,
        "interval_1sigma": list(b.interval_1sigma),
        "interval_2sigma": list(b.interval_2sigma),
        "interval_kind_1sigma": b.interval_kind_1sigma,
        "interval_kind_2sigma": b.interval_kind_2sigma,
        "chi2_min": b.chi2_min,
        "ndof": b.ndof,
        "chi2_background": b.chi2_background,
        "ndof_background": b.ndof_background,
        "delta_chi2": b.delta_chi2,
        "p_value": b.p_value,
        "significance_sigma": b.significance_sigma,
        "events_nu": result.events.get("nu"),
        "events_nubar": result.events.get("nubar"),
        "events_dump": result.events.get("dump"),
        "pienu_allowed": result.pienu_allowed,
        "dump_consistent": dump.get("consistent"),
        "dump_ratio_to_scaled_nu": dump.get("ratio_to_scaled_nu_prediction"),
        "dump_signal_split": dump.get("signal_split"),
        "notes": list(result.notes),
        "constraints": {k: {"chi2": v["chi2"], "ndof": v["ndof"], "delta_chi2": v["delta_chi2"],
                            "mu_hat": v["mu_hat"], "verdict": v["verdict"],
                            "events": {kk: vv["signal"] for kk, vv in v["events"].items()}}
                        for k, v in result.constraints.items()},
        "prediction_conventions": dict(result.prediction_conventions),
    }


def format_p(p: float) -> str:
    """A p-value for tables: 2 significant digits, but never rounded to a misleading "1" or "0"
    (0.997 stays 0.997; p > 0.9995 is shown as "> 0.999", p < 1e-99 as "< 1e-99")."""
    if p is None or p != p:
        return "–"
    if p > 0.9995:
        return "> 0.999"
    if p >= 0.95:
        return f"{p:.3f}"
    if p < 1e-99:
        return "< 1e-99"
    return f"{p:.2g}"


def failed_row(name: str, status: str, message: str) -> dict[str, Any]:
    """Row for a benchmark that could not be fitted (``status`` e.g. ``"no sensitivity"``)."""
    return {"benchmark": name, "status": status, "message": message}


def _cells(row: Mapping[str, Any]) -> dict[str, str]:
    if row.get("status") != "ok":
        return {"benchmark": str(row["benchmark"]), "best_fit": f"{row.get('status')}: {row.get('message', '')}"}
    u = row.get("units", "")
    return {
        "benchmark": f"{row['benchmark']} ({row['analysis']})",
        "best_fit": f"{_g(row['best_fit'])} {u}".strip(),
        "interval_1sigma": format_interval(row["interval_1sigma"], row.get("interval_kind_1sigma", "")),
        "interval_2sigma": format_interval(row["interval_2sigma"], row.get("interval_kind_2sigma", "")),
        "chi2_ndof": f"{row['chi2_min']:.2f}/{row['ndof']} (p={format_p(row['p_value'])})",
        "chi2_background": f"{row['chi2_background']:.2f}/{row.get('ndof_background', row['ndof'] + 1)}",
        "delta_chi2": f"{row['delta_chi2']:.2f}",
        "significance": f"{row['significance_sigma']:.2f}σ",
        "events_nu": _g(row.get("events_nu"), ".1f"),
        "events_nubar": _g(row.get("events_nubar"), ".1f"),
        "events_dump": _g(row.get("events_dump"), ".3g"),
        "dump_split": _split(row.get("dump_signal_split")),
        "pienu": {True: "allowed", False: "excluded", None: "–"}[row.get("pienu_allowed")],
        "dump_ok": _yes_no(row.get("dump_consistent")),
    }


def markdown_report(rows: list[Mapping[str, Any]], meta: Mapping[str, Any] | None = None) -> str:
    """Markdown report: a summary table and the criteria used."""
    meta = dict(meta or {})
    lines = ["# mesonportal: fits of the MiniBooNE low-energy excess", ""]
    if meta:
        lines += [f"- {k}: {v}" for k, v in meta.items()] + [""]
    lines += ["| " + " | ".join(h for h, _ in _COLUMNS) + " |",
              "|" + "|".join("---" for _ in _COLUMNS) + "|"]
    for row in rows:
        c = _cells(row)
        lines.append("| " + " | ".join(c.get(k, "") .replace("|", "/") for _, k in _COLUMNS) + " |")
    lines += [
        "",
        "Definitions (docs/fit.md):",
        "",
        "- χ²: MiniBooNE covariance χ² of the 2021 data release (arXiv:2006.16883), ν_e-like E_QE bins "
        "and ν_μ constraint bins; the combined ν+ν̄ fit uses the 60×60 matrix. "
        "ndof = bins in the χ² (19 per mode) − 1 for the fit; the background-only χ² has no fitted "
        "parameter: ndof = bins (19 per mode, 38 combined).",
        "- Intervals: Δχ² < 1 (1σ) and < 4 (2σ) around the best fit; '< b' = upper limit (Δχ²(0) below the "
        "level), '> a' = not closed inside the scanned/allowed range.",
        "- Significance: √(χ²_bkg − χ²_min) (one parameter, boundary at zero coupling).",
        "- Events: expected at the best fit; ν/ν̄ for 200 < E_QE < 1250 MeV (18.75e20 / 11.27e20 POT), "
        "dump all energies (1.86e20 POT).",
        f"- Dump OK: predicted dump-mode events ≤ {DUMP_UPPER_LIMIT_EVENTS:.2f} (90% CL Poisson limit for 0 "
        "observed events without background) — a proxy for MiniBooNE's null beam-dump result, arXiv:1807.06137.",
        "- Dump split: share of the dump-mode signal from π±/K± decays at rest / decays in flight (π±, K±, K0_L, "
        "incl. decays while slowing down in the steel) / prompt π⁰, η decays (charged-meson fates in steel: "
        "docs/sources.md).",
        "- PIENU: π→ℓνX proxy bounds of `production.limits` (arXiv:2006.00389 values, status 'proxy'), "
        "evaluated at the best fit with the rescaling convention of docs/fit.md.",
    ]
    lines += _other_experiments_md(rows)
    if meta.get("lens"):
        lines += ["", "## The MiniBooNE lens", "",
                  f"Background only, the 3+1 oscillation fit and every benchmark scored on the same release "
                  f"(E_QE χ², cos θ / E_vis shape tests, ν̄/ν, dump, PIENU) and each benchmark's systematic "
                  f"variations: see `{meta['lens'].split(' ')[0]}`."]
    notes = [f"- {r['benchmark']}: {n}" for r in rows for n in r.get("notes", [])]
    if notes:
        lines += ["", "Notes:", ""] + notes
    return "\n".join(lines) + "\n"


def _other_experiments_md(rows: list[Mapping[str, Any]]) -> list[str]:
    """Table of predicted events at the other BNB detectors and the constraint verdicts."""
    ok = [r for r in rows if r.get("status") == "ok" and (r.get("other_experiments") or r.get("constraints"))]
    if not ok:
        return []
    from mesonportal.responses.lartpc import TOPOLOGIES

    exps: list[str] = []
    for r in ok:
        for e in r.get("other_experiments", {}):
            if e not in exps:
                exps.append(e)
    head = ["benchmark"]
    for e in exps:
        if e == "microboone":
            head += [f"MicroBooNE {t}" for t in TOPOLOGIES]
        else:
            head += [f"{e} total selected"]
    cons = sorted({k for r in ok for k in r.get("constraints", {})})
    head += [f"{c} verdict (90% / 95% CL)" for c in cons]
    lines = ["", "## Other BNB experiments at each benchmark's MiniBooNE best fit", "",
             "Expected selected events (ν mode, each experiment's exposure and LAr-TPC response, "
             "topologies 1γ0p/1γ1p/e⁺e⁻0p/1e0p summed for SBND and ICARUS), and whether MicroBooNE "
             "excludes the best fit (NC Δ 1γ1p/1γ0p arXiv:2110.00409 + e⁺e⁻0p arXiv:2502.10900; "
             "Δχ² > 2.706 / 3.841 against the best signal normalisation < 1).  The e⁺e⁻0p and 1e0p "
             "selection efficiencies are 1 (no published value: upper estimates), 1γ0p/1γ1p use 7% "
             "(arXiv:2502.06064); see docs/lartpc.md.", "",
             "| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for r in ok:
        cells = [str(r["benchmark"])]
        oe = r.get("other_experiments", {})
        for e in exps:
            d = oe.get(e, {})
            ev = d.get("events_by_topology")
            if e == "microboone":
                err = d.get("events_by_topology_err", {})
                cells += [f"{ev[t]:.3g} ± {err.get(t, 0.0):.2g}" if ev else "–" for t in TOPOLOGIES]
            else:
                cells.append(f"{sum(ev.values()):.3g}" if ev else _g(d.get("events_total")))
        for c in cons:
            v = r.get("constraints", {}).get(c)
            if v is None:
                cells.append("–")
            else:
                vv = v["verdict"]
                cells.append(f"{'excluded' if vv['excluded_90'] else 'allowed'} / "
                             f"{'excluded' if vv['excluded_95'] else 'allowed'} (Δχ² = {v['delta_chi2']:.2f})")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


#: Columns of the compact terminal table (fits an 80-column terminal); the full set is in
#: report.md and summary.json.
_COMPACT = (
    ("benchmark", "benchmark"),
    ("best fit", "best_fit_short"),
    ("1σ", "interval_short"),
    ("χ²/ndof", "chi2_short"),
    ("p", "p_short"),
    ("Z", "significance"),
    ("events ν/ν̄/dump", "events_all"),
    ("PIENU", "pienu"),
    ("dump", "dump_ok"),
)


def rich_table(rows: list[Mapping[str, Any]], title: str = "MiniBooNE excess fits", compact: bool = False):
    """A :class:`rich.table.Table` of the summary rows (``compact``: a layout for an 80-column
    terminal; the full set of columns is in report.md and summary.json)."""
    from rich import box
    from rich.table import Table

    if compact:
        table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, padding=(0, 1),
                      collapse_padding=True)
        for head, key in _COMPACT:
            table.add_column(head, justify="left" if key == "benchmark" else "right", no_wrap=True)
        for row in rows:
            c = _cells(row)
            if row.get("status") == "ok":
                c["benchmark"] = str(row["benchmark"])
                c["best_fit_short"] = _g(row["best_fit"], ".2e")
                c["chi2_short"] = f"{row['chi2_min']:.1f}/{row['ndof']}"
                lo, hi = row["interval_1sigma"]
                x = row["best_fit"]
                two = row.get("interval_kind_1sigma") == "two-sided" and lo is not None and hi is not None and x
                c["interval_short"] = (f"±{50 * (hi - lo) / x:.0f}%" if two else
                                       format_interval(row["interval_1sigma"], row.get("interval_kind_1sigma", "")))
                c["p_short"] = format_p(row["p_value"])
                c["significance"] = f"{row['significance_sigma']:.1f}σ"
                c["events_all"] = (f"{_g(row.get('events_nu'), '.0f')}/{_g(row.get('events_nubar'), '.0f')}/"
                                   f"{_g(row.get('events_dump'), '.2g')}")
                c["pienu"] = {True: "ok", False: "excl.", None: "–"}[row.get("pienu_allowed")]
            table.add_row(*(c.get(k, "") for _, k in _COMPACT))
        return table
    table = Table(title=title)
    for head, key in _COLUMNS:
        table.add_column(head, justify="left" if key == "benchmark" else "right",
                         overflow="fold")
    for row in rows:
        c = _cells(row)
        table.add_row(*(c.get(k, "") for _, k in _COLUMNS))
    return table


def fit_rich_table(result: FitResult, compact: bool = False):
    """Per-analysis table of one fit (terminal output of ``mesonportal fit``); ``compact``: a
    layout for an 80-column terminal (2σ intervals and Δχ² are in the JSON output)."""
    from rich import box
    from rich.table import Table

    name = result.benchmark or result.model
    title = f"MiniBooNE fit — {name} — coupling product [{result.units or 'dimensionless'}]"
    if compact:
        table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, padding=(0, 1),
                      collapse_padding=True)
        for head in ("analysis", "best fit", "1σ interval", "χ²/ndof", "p", "χ²_bkg/ndof", "Z"):
            table.add_column(head, justify="right", no_wrap=True)
        for k, f in result.fits_by_mode.items():
            table.add_row(k, _g(f.best_fit, ".3g"), format_interval(f.interval_1sigma, f.interval_kind_1sigma),
                          f"{f.chi2_min:.1f}/{f.ndof}", format_p(f.p_value),
                          f"{f.chi2_background:.1f}/{f.ndof_background}", f"{f.significance_sigma:.1f}σ")
        return table
    table = Table(title=title)
    for head in ("analysis", "best fit", "1σ", "2σ", "χ²_min/ndof", "p", "χ²_bkg/ndof", "Δχ²", "signif."):
        table.add_column(head, justify="right")
    for k, f in result.fits_by_mode.items():
        table.add_row(k, _g(f.best_fit), format_interval(f.interval_1sigma, f.interval_kind_1sigma),
                      format_interval(f.interval_2sigma, f.interval_kind_2sigma),
                      f"{f.chi2_min:.2f}/{f.ndof}", format_p(f.p_value), f"{f.chi2_background:.2f}/{f.ndof_background}",
                      f"{f.delta_chi2:.2f}", f"{f.significance_sigma:.2f}σ")
    return table


def write_summary(outdir: str | Path, rows: list[Mapping[str, Any]], meta: Mapping[str, Any] | None = None) -> tuple[Path, Path]:
    """Write ``report.md`` and ``summary.json`` into ``outdir``; returns both paths."""
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    md = out / "report.md"
    md.write_text(markdown_report(rows, meta), encoding="utf-8")
    js = out / "summary.json"
    js.write_text(json.dumps({"meta": dict(meta or {}), "fits": list(rows)}, indent=2, allow_nan=False), encoding="utf-8")
    return md, js
